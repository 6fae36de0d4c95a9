"""Reprocess a batch on purpose: start a new workflow execution for a batch already in S3.

New uploads start new attempts by themselves; a rerun is for a batch whose data did not change
(a fixed config, a failed gate). It gets the batch's execution name plus ``--rerun-<UTC time>``,
hence a new execution, with the workflow input the trigger would have built
(``source: "rerun"``)::

    python -m lambdas.trigger.rerun --state-machine-arn ARN --bucket LANDING_BUCKET \\
        --batch-id 2026-11-20            # the folder incoming/2026-11-20/
    python -m lambdas.trigger.rerun ... --batch-id orders.csv --single-object
    python -m lambdas.trigger.rerun ... --batch-id orders.csv-2026-11-28 \\
        --batch-prefix incoming/orders.csv   # what to read, when it is not named by the id

A batch id that breaks the batch-id rule (``day 1``) is mapped as the trigger maps it
(``day-1-<hash>``), so a rerun of the folder ``incoming/day 1/`` writes the same partition.

The workflow's gate sees the complete batch at once, and the Glue job replaces the batch's output
partition. Uses the caller's AWS credentials; the values come from the stack's outputs
(``make rerun STAGE=dev BATCH=2026-11-20`` passes ``--stack``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any


def main(argv: Sequence[str] | None = None, *, client: Any = None) -> int:
    """Start the rerun execution and print its ARN; exit status 0 on success."""
    parser = argparse.ArgumentParser(prog="rerun", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", help="read the ARN and bucket from this stack's outputs")
    parser.add_argument("--state-machine-arn")
    parser.add_argument("--bucket", help="the landing bucket")
    parser.add_argument("--batch-id", required=True, help="folder name, or file name")
    parser.add_argument(
        "--single-object",
        action="store_true",
        help="the batch is the single file incoming/<batch-id>, not a folder",
    )
    parser.add_argument(
        "--batch-prefix",
        help="what to read, when the batch id does not name it: a folder ending in '/' or one "
        "file's key (e.g. --batch-id orders.csv-2026-11-28 --batch-prefix incoming/orders.csv); "
        "the trigger's alerts print it",
    )
    parser.add_argument("--landing-prefix", default="incoming/")
    args = parser.parse_args(argv)
    if args.stack and not (args.state_machine_arn and args.bucket):
        outputs = _stack_outputs(args.stack)
        args.state_machine_arn = args.state_machine_arn or outputs["StateMachineArn"]
        args.bucket = args.bucket or outputs["LandingBucketName"]
    if not (args.state_machine_arn and args.bucket):
        parser.error("give --stack, or both --state-machine-arn and --bucket")

    # The handler reads its settings at import, as on a cold start; give it the same ones.
    os.environ["STATE_MACHINE_ARN"] = args.state_machine_arn
    os.environ["LANDING_BUCKET"] = args.bucket
    os.environ.setdefault("ALERT_TOPIC_ARN", "arn:aws:sns:::rerun-publishes-nothing")
    os.environ["LANDING_PREFIX"] = args.landing_prefix
    from lambdas.trigger import handler
    from lambdas.trigger.batch_ids import batch_id_for

    settings = handler.Settings.from_environment(os.environ)
    prefix = settings.landing_prefix
    if args.batch_prefix:
        batch_prefix = args.batch_prefix
        single_object = not batch_prefix.endswith("/")
    else:
        single_object = args.single_object
        batch_prefix = f"{prefix}{args.batch_id}" + ("" if single_object else "/")
    batch = handler.Batch(
        bucket=args.bucket,
        batch_id=batch_id_for(args.batch_id),
        batch_prefix=batch_prefix,
        single_object=single_object,
    )
    suffix = time.strftime("--rerun-%Y%m%dT%H%M%SZ", time.gmtime())
    name = handler.execution_name(batch, suffix=suffix)
    sfn = client or handler.sfn_client()
    response = sfn.start_execution(
        stateMachineArn=settings.state_machine_arn,
        name=name,
        input=json.dumps(handler.workflow_input(batch, [], "rerun", "rerun")),
    )
    print(response["executionArn"])
    return 0


def _stack_outputs(stack_name: str) -> dict[str, str]:
    import boto3

    stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    return {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}


if __name__ == "__main__":
    sys.exit(main())
