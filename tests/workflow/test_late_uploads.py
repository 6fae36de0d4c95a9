"""Uploads that reach a batch after its execution started, through the real trigger handler and
the synthesized workflow in moto: each case of docs/trigger.md "A new upload to a batch that
already has an execution"."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest

from etl_local.events import event_for_version
from etl_local.offline_aws import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    ExecutionResult,
    GlueJobRun,
    GlueRunOutcome,
    wait_for_execution,
)
from tests.workflow.conftest import (
    LANDING_BUCKET,
    OfflineWorkflow,
    WorkflowFactory,
    after_each_entry,
    topic_arn,
)

HANDLER_MODULE = "lambdas.trigger.handler"


@dataclass
class Trigger:
    """The real trigger handler, configured as the stack configures it, against the harness."""

    workflow: OfflineWorkflow
    handler: ModuleType
    sequencer: int = 0

    def upload(self, key: str, body: bytes = b"id,value\n1,a\n") -> dict[str, Any]:
        """Put ``key`` and deliver its EventBridge event; the handler's summary."""
        s3 = boto3.client("s3", region_name=DEFAULT_REGION)
        s3.put_object(Bucket=LANDING_BUCKET, Key=key, Body=body)
        return self.deliver(key)

    def deliver(self, key: str) -> dict[str, Any]:
        head = boto3.client("s3", region_name=DEFAULT_REGION).head_object(
            Bucket=LANDING_BUCKET, Key=key
        )
        self.sequencer += 1
        assert head["VersionId"]  # the landing bucket is versioned
        event = event_for_version(
            bucket=LANDING_BUCKET,
            key=key,
            head=head,
            sequencer=f"{self.sequencer:016X}",
            account_id=DEFAULT_ACCOUNT_ID,
            region=DEFAULT_REGION,
        )
        summary: dict[str, Any] = self.handler.handle_event(
            event,
            f"req-{self.sequencer}",
            self.handler.SETTINGS,
            boto3.client("stepfunctions", region_name=DEFAULT_REGION),
            boto3.client("sns", region_name=DEFAULT_REGION),
        )
        return summary

    def executions(self) -> list[dict[str, Any]]:
        """The state machine's executions, oldest first, with their input."""
        sfn = boto3.client("stepfunctions", region_name=DEFAULT_REGION)
        listed = sfn.list_executions(stateMachineArn=self.workflow.state_machine_arn)
        found = []
        for item in listed["executions"]:
            described = sfn.describe_execution(executionArn=item["executionArn"])
            found.append(
                {
                    "name": item["name"],
                    "arn": item["executionArn"],
                    "started": described["startDate"],
                    "input": json.loads(described["input"]),
                }
            )
        return sorted(found, key=lambda execution: execution["started"])

    def wait(self, execution: dict[str, Any]) -> ExecutionResult:
        return wait_for_execution(execution["arn"], timeout_seconds=60)


@pytest.fixture
def trigger_for(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """``trigger_for(workflow)``: the handler imported with the harness's environment."""

    def build(workflow: OfflineWorkflow) -> Trigger:
        boto3.client("s3", region_name=DEFAULT_REGION).put_bucket_versioning(
            Bucket=LANDING_BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        monkeypatch.setenv("STATE_MACHINE_ARN", workflow.state_machine_arn)
        monkeypatch.setenv("LANDING_BUCKET", LANDING_BUCKET)
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic_arn())
        monkeypatch.setenv("STAGE", "wf-quiet")
        sys.modules.pop(HANDLER_MODULE, None)
        return Trigger(workflow, importlib.import_module(HANDLER_MODULE))

    yield build
    sys.modules.pop(HANDLER_MODULE, None)


def test_late_part_while_the_batch_is_gating_joins_it(
    offline_workflow: WorkflowFactory, trigger_for: Any
) -> None:
    workflow = offline_workflow()
    trigger = trigger_for(workflow)
    summaries: list[dict[str, Any]] = []
    late_part = after_each_entry(
        "RecordCheck",
        [lambda: summaries.append(trigger.upload("incoming/b-gating/part-2.csv"))],
    )
    trigger.upload("incoming/b-gating/part-1.csv")
    [first] = trigger.executions()

    result = wait_for_execution(first["arn"], timeout_seconds=60, on_event=late_part)

    assert result.status == "SUCCEEDED"
    assert summaries[0]["joined"] == [first["name"]]
    assert summaries[0]["started"] == []
    assert len(trigger.executions()) == 1
    (run,) = workflow.glue_runs.runs  # one run, over the folder holding both parts
    assert run.arguments["--input_path"] == f"s3://{LANDING_BUCKET}/incoming/b-gating/"
    assert workflow.inbox.alerts() == []


def test_late_part_while_the_job_runs_is_alerted_with_the_rerun_command(
    offline_workflow: WorkflowFactory, trigger_for: Any
) -> None:
    summaries: list[dict[str, Any]] = []

    def job_receives_a_late_part(run: GlueJobRun) -> GlueRunOutcome:
        summaries.append(trigger.upload("incoming/b-running/part-2.csv"))
        return GlueRunOutcome.succeeded()

    workflow = offline_workflow(glue=job_receives_a_late_part)
    trigger = trigger_for(workflow)
    trigger.upload("incoming/b-running/part-1.csv")
    trigger.upload("incoming/b-running/_SUCCESS", b"")
    [first] = trigger.executions()

    result = trigger.wait(first)

    assert result.status == "SUCCEEDED"
    assert summaries[0]["reported"] == [first["name"]]
    assert summaries[0]["started"] == []
    assert len(trigger.executions()) == 1  # no second run racing the running one's commit
    (alert,) = workflow.inbox.alerts()
    assert "not processed" in alert.subject
    message = alert.payload()
    assert message["batch_id"] == "b-running"
    assert message["keys"] == ["incoming/b-running/part-2.csv"]
    assert message["running_execution"] == first["name"]
    assert message["rerun_command"] == (
        "make rerun STAGE=wf-quiet BATCH=b-running PREFIX=incoming/b-running/"
    )
    assert message["rerun_command"] in message["summary"]


def test_reupload_after_succeeded_starts_a_new_attempt_that_replaces_the_output(
    offline_workflow: WorkflowFactory, trigger_for: Any
) -> None:
    workflow = offline_workflow()
    trigger = trigger_for(workflow)
    trigger.upload("incoming/orders.csv")
    [first] = trigger.executions()
    assert trigger.wait(first).status == "SUCCEEDED"

    summary = trigger.upload("incoming/orders.csv", b"id,value\n1,corrected\n")
    _, second = trigger.executions()

    assert second["name"] == f"{first['name']}--attempt-2"
    assert summary["started"] == [second["name"]]
    assert second["input"]["attempt"] == 2
    assert second["input"]["previous_attempt_arn"] == first["arn"]
    assert second["input"]["batch_id"] == first["input"]["batch_id"]  # same batch, same output
    assert trigger.wait(second).status == "SUCCEEDED"
    first_run, second_run = workflow.glue_runs.runs
    assert second_run.arguments["--batch_id"] == first_run.arguments["--batch_id"]
    assert second_run.arguments["--input_path"] == f"s3://{LANDING_BUCKET}/incoming/orders.csv"
    # A second delivery of the corrected upload changes nothing.
    again = trigger.deliver("incoming/orders.csv")
    assert again["duplicates"] == [second["name"]]
    assert len(trigger.executions()) == 2


def test_reupload_after_failed_starts_a_new_attempt_that_runs_the_job_again(
    offline_workflow: WorkflowFactory, trigger_for: Any
) -> None:
    outcomes = [GlueRunOutcome.failed("JobInputError: bad file"), GlueRunOutcome.succeeded()]
    workflow = offline_workflow(glue=lambda run: outcomes.pop(0))
    trigger = trigger_for(workflow)
    trigger.upload("incoming/b-fixed/part-1.csv")
    trigger.upload("incoming/b-fixed/_SUCCESS", b"")
    [first] = trigger.executions()
    assert trigger.wait(first).status == "FAILED"

    trigger.upload("incoming/b-fixed/part-1.csv", b"id,value\n1,fixed\n")
    _, second = trigger.executions()

    assert second["name"] == f"{first['name']}--attempt-2"
    assert trigger.wait(second).status == "SUCCEEDED"
    assert [r.arguments["--batch_id"] for r in workflow.glue_runs.runs] == ["b-fixed"] * 2
    (alert,) = workflow.inbox.alerts()  # the first attempt's failure; the second succeeded
    assert "FAILED" in alert.subject
