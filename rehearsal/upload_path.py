"""The rehearsal's upload check: S3 -> deployed rule -> deployed trigger -> one execution.

The landing bucket is versioned and the trigger tells uploads apart by object identity
(docs/trigger.md, "Batch identity"). While the batch's execution gates, the check makes:

1. the first upload of ``part-1.csv``: exactly one execution starts (``ExecutionsStarted``);
2. a second version of ``part-1.csv`` (the same bytes, a new object version): it joins the
   gating batch and starts nothing (``UploadsJoined``);
3. a true duplicate delivery: the very EventBridge "Object Created" event of the first version
   (S3 delivers at least once), built as the S3 user guide documents it and invoked
   asynchronously on the deployed function, as EventBridge invokes it: nothing starts
   (``DuplicateDeliveries``);
4. the batch's ``_SUCCESS`` marker: ignored and counted (``IgnoredObjects``); the gate finds it.

To keep the batch gating for all four, the emulator runs the execution's first settle wait at
the stage's real length (30 s for dev), then goes back to the rehearsal's wait scale.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from etl_local import events
from rehearsal.emulator import ACCOUNT_ID, REGION, WAIT_SCALE, Emulator
from rehearsal.emulator_gaps import GAP_GLUE_SYNC
from rehearsal.outcomes import BATCH_ID, AlertInbox, Report, finished, states_entered, wait_for

# The first settle wait runs at this scale, so the four uploads are handled while it lasts.
GATING_SCALE = 1.0
# The gate's first state after the settle wait (stacks/workflow.py), and the job's state.
GATE_CHECK_STATE = "LookForMarker"
JOB_STATE = "RunGlueJob"
# What the four uploads must make the trigger count; every other counter must stay 0.
EXPECTED_COUNTS = {
    "ExecutionsStarted": 1,
    "UploadsJoined": 1,
    "DuplicateDeliveries": 1,
    "IgnoredObjects": 1,
}


def trigger_metrics(emulator: Emulator, function_name: str) -> dict[str, int]:
    """The trigger's counters, summed over its embedded-metric-format log lines."""
    lambda_client = emulator.client("lambda")
    log_group = lambda_client.get_function_configuration(FunctionName=function_name)[
        "LoggingConfig"
    ]["LogGroup"]
    totals: dict[str, int] = {}
    paginator = emulator.client("logs").get_paginator("filter_log_events")
    for page in paginator.paginate(logGroupName=log_group):
        for event in page["events"]:
            if '"_aws"' not in event["message"]:
                continue
            line = json.loads(event["message"])
            for definition in line["_aws"]["CloudWatchMetrics"]:
                for metric in definition["Metrics"]:
                    name = metric["Name"]
                    totals[name] = totals.get(name, 0) + int(line[name])
    return totals


def object_created_event(
    *, bucket: str, key: str, head: dict[str, Any], sequencer: str, time: str
) -> dict[str, Any]:
    """The EventBridge "Object Created" event S3 sends for one object version.

    ``head`` is ``head_object`` of that version (size, etag, version id); ``sequencer`` and
    ``time`` are those of its delivery. The shape is the local runner's, as the S3 user guide
    shows it.
    """
    return events.event_for_version(
        bucket=bucket,
        key=key,
        head=head,
        sequencer=sequencer,
        account_id=ACCOUNT_ID,
        region=REGION,
        time=datetime.fromisoformat(time.replace("Z", "+00:00")),
    )


def _counted(emulator: Emulator, function: str, name: str, count: int) -> dict[str, int]:
    """Wait until the trigger counted ``name`` ``count`` times; all its counters then."""
    metrics: dict[str, int] = wait_for(
        f"the trigger to count {name} {count}",
        lambda: (m := trigger_metrics(emulator, function)).get(name, 0) >= count and m,
    )
    return metrics


def check_upload_path(
    emulator: Emulator, outputs: dict[str, str], inbox: AlertInbox, report: Report
) -> dict[str, Any]:
    """The four uploads of the module docstring; returns the execution input the trigger built."""
    s3, sfn = emulator.client("s3"), emulator.client("stepfunctions")
    bucket, machine = outputs["LandingBucketName"], outputs["StateMachineArn"]
    prefix = f"incoming/{BATCH_ID}/"
    key = f"{prefix}part-1.csv"
    rows = b"carrier,flight,dest\nAA,1,LAX\n"
    function = next(
        f["FunctionName"]
        for f in emulator.client("lambda").list_functions()["Functions"]
        if f.get("Environment", {}).get("Variables", {}).get("STATE_MACHINE_ARN") == machine
    )

    emulator.configure({"stepfunctions._SFN_WAIT_SCALE": GATING_SCALE})
    try:
        first = s3.put_object(Bucket=bucket, Key=key, Body=rows)["VersionId"]
        _counted(emulator, function, "ExecutionsStarted", 1)
        executions = sfn.list_executions(stateMachineArn=machine)["executions"]
        if len(executions) != 1:
            raise AssertionError(f"{len(executions)} executions after one upload")
        arn = executions[0]["executionArn"]
        execution_input: dict[str, Any] = json.loads(
            sfn.describe_execution(executionArn=arn)["input"]
        )

        second = s3.put_object(Bucket=bucket, Key=key, Body=rows)["VersionId"]
        _counted(emulator, function, "UploadsJoined", 1)

        # The first version's delivery, as the trigger recorded it: its sequencer and time.
        (delivered,) = (o for o in execution_input["objects"] if o.get("version_id") == first)
        duplicate = object_created_event(
            bucket=bucket,
            key=key,
            head=s3.head_object(Bucket=bucket, Key=key, VersionId=first),
            sequencer=delivered["sequencer"],
            time=delivered["event_time"],
        )
        emulator.client("lambda").invoke(
            FunctionName=function, InvocationType="Event", Payload=json.dumps(duplicate)
        )
        _counted(emulator, function, "DuplicateDeliveries", 1)

        s3.put_object(Bucket=bucket, Key=f"{prefix}_SUCCESS", Body=b"")
        metrics = _counted(emulator, function, "IgnoredObjects", 1)
        gated = states_entered(emulator, arn)
    finally:
        emulator.configure({"stepfunctions._SFN_WAIT_SCALE": WAIT_SCALE})

    executions = sfn.list_executions(stateMachineArn=machine)["executions"]
    unexpected = {k: v for k, v in metrics.items() if v and k not in EXPECTED_COUNTS}
    report.check(
        "upload -> rule -> lambda",
        len(executions) == 1
        and all(metrics.get(k) == v for k, v in EXPECTED_COUNTS.items())
        and not unexpected
        and first != second
        and JOB_STATE not in gated
        and GATE_CHECK_STATE not in gated,
        f"{len(executions)} execution(s) for upload, 2nd version, duplicate delivery of the "
        f"1st version ({first[:8]}...) and marker, handled while the batch gated "
        f"(entered: {', '.join(gated[-1:]) or 'nothing'}); trigger counted "
        + ", ".join(f"{k} {v}" for k, v in sorted(metrics.items()) if v),
    )

    described = finished(emulator, arn)
    states = states_entered(emulator, arn)
    alert = inbox.for_execution(arn)
    # The trigger's own execution has no test case, so RunGlueJob meets the missing .sync.
    report.check(
        "upload -> workflow",
        execution_input["input_path"] == f"s3://{bucket}/{prefix}"
        and GATE_CHECK_STATE in states
        and JOB_STATE in states
        and alert is not None,
        f"execution {executions[-1]['name']} passed the gate on the marker and reached "
        f"{JOB_STATE} with --input_path {execution_input['input_path']}; it ends "
        f"{described['status']} there because of an emulator gap: "
        f"{GAP_GLUE_SYNC.split(' (')[0]}",
    )
    return execution_input
