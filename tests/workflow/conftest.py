"""The synthesized workflow, executed in moto: stages with one-second waits, an offline harness.

Two test stages are synthesized once per session through the app builder (cdk-nag included):
``wf-quiet`` (no success notification) and ``wf-notify`` (``notify_on_success``). Each test
gets a fresh in-memory AWS with the landing bucket, the alert topic (an SQS inbox subscribed),
the Glue job and the state machine created from the resolved definition.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from etl_local.offline_aws import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    AlertInbox,
    ExecutionResult,
    GlueRunHandler,
    GlueRunLog,
    StateMachineDefinition,
    create_state_machine,
    definition_from_template,
    executing_aws,
    glue_job_runs,
    run_execution,
    substitutions_by_type,
    succeed_every_run,
)
from stacks.app_builder import PROJECT_ROOT, stack_name
from tests.infra.conftest import resources_of_type, synth_app

LANDING_BUCKET = "etl-landing-test"
GLUE_JOB_NAME = "join-job"
TOPIC_NAME = "etl-alerts"
QUIET = "wf-quiet"
NOTIFY = "wf-notify"

# One-second waits and a four-second gate (checks at 1, 2, 3 and 4 s), so the real gate runs.
_TEST_WORKFLOW: dict[str, Any] = {
    "settle_seconds": 1,
    "poll_interval_seconds": 1,
    "max_wait_seconds": 4,
    "glue_task_timeout_minutes": 6,
    "glue_queue_minutes": 1,
    "execution_timeout_minutes": 15,
    "glue_retry_attempts": 2,
    "glue_retry_interval_seconds": 1,
}
TEST_STAGES: dict[str, Any] = {
    QUIET: {
        "glue": {"timeout_minutes": 5},
        "workflow": {**_TEST_WORKFLOW, "notify_on_success": False},
    },
    NOTIFY: {
        "glue": {"timeout_minutes": 5},
        "workflow": {**_TEST_WORKFLOW, "notify_on_success": True},
    },
}
GATE_CHECKS = 4


def synthesize(outdir: Path, stages: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Synthesize ``stages`` as app.py would (cdk-nag included); their templates, by stage."""
    app, _ = synth_app(outdir, stages=stages)
    app.synth()
    return {
        stage: json.loads((outdir / f"{stack_name(stage)}.template.json").read_text())
        for stage in stages
    }


def topic_arn() -> str:
    """The ARN moto gives the alert topic created by the harness."""
    return f"arn:aws:sns:{DEFAULT_REGION}:{DEFAULT_ACCOUNT_ID}:{TOPIC_NAME}"


def resolve_definition(template: Mapping[str, Any]) -> StateMachineDefinition:
    """The template's definition with the topic and Glue job resolved to the harness's."""
    return definition_from_template(
        template,
        substitutions_by_type(
            template, {"AWS::SNS::Topic": topic_arn(), "AWS::Glue::Job": GLUE_JOB_NAME}
        ),
    )


@pytest.fixture(scope="session")
def workflow_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The synthesized templates of the test stages (what CloudFormation would deploy)."""
    return synthesize(tmp_path_factory.mktemp("workflow-cdk.out"), TEST_STAGES)


@pytest.fixture(scope="session")
def definitions(workflow_templates: dict[str, dict[str, Any]]) -> dict[str, StateMachineDefinition]:
    """Each test stage's executable definition."""
    return {stage: resolve_definition(t) for stage, t in workflow_templates.items()}


@dataclass
class OfflineWorkflow:
    """One stage's state machine in moto, with the landing bucket, Glue job and alert inbox."""

    state_machine_arn: str
    inbox: AlertInbox
    glue_runs: GlueRunLog

    def upload(self, key: str, body: bytes = b"id,value\n1,a\n") -> None:
        boto3.client("s3", region_name=DEFAULT_REGION).put_object(
            Bucket=LANDING_BUCKET, Key=key, Body=body
        )

    def run(
        self,
        execution_input: Mapping[str, Any],
        *,
        name: str,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> ExecutionResult:
        return run_execution(
            self.state_machine_arn,
            execution_input,
            name=name,
            on_event=on_event,
            timeout_seconds=60,
        )


WorkflowFactory = Callable[..., OfflineWorkflow]


def deployed_job_properties(template: Mapping[str, Any]) -> dict[str, Any]:
    """The Glue job's properties as the stage deploys them (capacity, run queuing)."""
    (job,) = resources_of_type(template, "AWS::Glue::Job").values()
    properties: dict[str, Any] = job["Properties"]
    return properties


@pytest.fixture
def offline_workflow(
    definitions: dict[str, StateMachineDefinition],
    workflow_templates: dict[str, dict[str, Any]],
) -> Iterator[WorkflowFactory]:
    """``offline_workflow(stage=QUIET, glue=handler, refuse_first_starts=0)``: a fresh harness.

    The Glue job has the deployed job's MaxConcurrentRuns, and runs beyond it wait in a queue
    exactly when the deployed job enables job run queuing.
    """
    with ExitStack() as stack:

        def build(
            stage: str = QUIET,
            glue: GlueRunHandler = succeed_every_run,
            refuse_first_starts: int = 0,
        ) -> OfflineWorkflow:
            job = deployed_job_properties(workflow_templates[stage])
            stack.enter_context(executing_aws())
            glue_runs = stack.enter_context(
                glue_job_runs(
                    glue,
                    refuse_first_starts=refuse_first_starts,
                    queue_runs_beyond_capacity=job.get("JobRunQueuingEnabled") is True,
                )
            )
            boto3.client("s3", region_name=DEFAULT_REGION).create_bucket(Bucket=LANDING_BUCKET)
            created_topic = boto3.client("sns", region_name=DEFAULT_REGION).create_topic(
                Name=TOPIC_NAME
            )["TopicArn"]
            assert created_topic == topic_arn()
            boto3.client("glue", region_name=DEFAULT_REGION).create_job(
                Name=GLUE_JOB_NAME,
                Role=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/glue-job",
                Command={"Name": "glueetl", "ScriptLocation": "s3://assets/job.py"},
                DefaultArguments={"--catalog_database": ""},
                ExecutionProperty=job["ExecutionProperty"],
                WorkerType=job["WorkerType"],
                NumberOfWorkers=job["NumberOfWorkers"],
            )
            return OfflineWorkflow(
                state_machine_arn=create_state_machine(definitions[stage], name=stage),
                inbox=AlertInbox(topic_arn()),
                glue_runs=glue_runs,
            )

        yield build


def folder_batch(batch_id: str, *, bucket: str = LANDING_BUCKET) -> dict[str, Any]:
    """Workflow input for the batch folder ``incoming/<batch_id>/``, as the trigger sends it."""
    prefix = f"incoming/{batch_id}/"
    return {
        "bucket": bucket,
        "batch_id": batch_id,
        "batch_prefix": prefix,
        "input_path": f"s3://{bucket}/{prefix}",
        "single_object": False,
        "objects": [{"key": f"{prefix}part-1.csv", "size": 12, "etag": "e1", "sequencer": "1"}],
        "source": "s3",
    }


def single_file_batch(file_name: str) -> dict[str, Any]:
    """Workflow input for the single file ``incoming/<file_name>``."""
    key = f"incoming/{file_name}"
    return {
        "bucket": LANDING_BUCKET,
        "batch_id": file_name,
        "batch_prefix": key,
        "input_path": f"s3://{LANDING_BUCKET}/{key}",
        "single_object": True,
        "objects": [{"key": key, "size": 12, "etag": "e1", "sequencer": "1"}],
        "source": "s3",
    }


def after_each_entry(state_name: str, actions: list[Callable[[], None]]) -> Callable[..., None]:
    """An ``on_event`` hook that runs ``actions[n]`` when ``state_name`` is entered the n+1th time.

    The gate waits a second after each check, so an upload made here lands before the next one.
    """
    entries = 0

    def on_event(event: dict[str, Any]) -> None:
        nonlocal entries
        if event.get("stateEnteredEventDetails", {}).get("name") != state_name:
            return
        if entries < len(actions):
            actions[entries]()
        entries += 1

    return on_event


def project_node_path() -> str:
    """PATH with the project's Node >= 22 first when the Makefile installed one under .node/."""
    local_bins = sorted((PROJECT_ROOT / ".node" / "node_modules").glob("node-linux-*/bin"))
    return os.pathsep.join([*(str(p) for p in local_bins), os.environ.get("PATH", "")])


def write_json(path: Path, value: Any) -> Path:
    path.write_text(json.dumps(value, indent=2))
    return path
