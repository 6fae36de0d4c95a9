"""Reprocess a batch on purpose: start a new workflow execution for a batch already in S3.

The trigger names a batch's execution after the batch alone, so a second upload of the same
batch is a duplicate. A rerun gets the same name plus ``--rerun-<UTC time>``, hence a new
execution, with the workflow input the trigger would have built (``source: "rerun"``)::

    python -m lambdas.trigger.rerun --state-machine-arn ARN --bucket LANDING_BUCKET \\
        --batch-id 2026-11-20            # the folder incoming/2026-11-20/
    python -m lambdas.trigger.rerun ... --batch-id orders.csv --single-object

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
    os.environ["LANDING_PREFIX"] = args.landing_prefix
    from lambdas.trigger import handler

    settings = handler.Settings.from_environment(os.environ)
    prefix = settings.landing_prefix
    batch = handler.Batch(
        bucket=args.bucket,
        batch_id=args.batch_id,
        batch_prefix=f"{prefix}{args.batch_id}" + ("" if args.single_object else "/"),
        single_object=args.single_object,
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
