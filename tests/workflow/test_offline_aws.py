"""etl_local.offline_aws on its own: template resolution, the Glue shim and the job-run hook."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from etl_local.offline_aws import (
    DEFAULT_REGION,
    GlueJobRun,
    GlueRunOutcome,
    TemplateError,
    definition_from_template,
    executing_aws,
    glue_job_runs,
    interrupts_unguarded,
    moto_glue_sync_is_broken,
)


def _template(definition_parts: list[Any]) -> dict[str, Any]:
    return {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"DefinitionString": {"Fn::Join": ["", definition_parts]}},
            }
        }
    }


def test_definition_refs_getatts_and_pseudo_parameters_are_resolved() -> None:
    template = _template(
        [
            '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:',
            {"Ref": "AWS::Partition"},
            ':states:::sns:publish","Parameters":{"TopicArn":"',
            {"Ref": "Topic"},
            '","Message":"',
            {"Fn::GetAtt": ["Bucket", "Arn"]},
            " in ",
            {"Ref": "AWS::Region"},
            '"},"End":true}}}',
        ]
    )

    definition = definition_from_template(
        template,
        {"Topic": "arn:aws:sns:eu-west-1:1:alerts", "Bucket.Arn": "arn:aws:s3:::landing"},
        region="eu-west-1",
    )

    state = definition["States"]["A"]
    assert state["Resource"] == "arn:aws:states:::sns:publish"
    assert state["Parameters"] == {
        "TopicArn": "arn:aws:sns:eu-west-1:1:alerts",
        "Message": "arn:aws:s3:::landing in eu-west-1",
    }


def test_unresolved_reference_is_named() -> None:
    template = _template(['{"StartAt":"', {"Ref": "GlueJob1234"}, '","States":{}}'])
    with pytest.raises(TemplateError, match="Ref GlueJob1234 has no substitution"):
        definition_from_template(template, {})


def test_template_without_a_single_state_machine_is_refused() -> None:
    with pytest.raises(TemplateError, match="expected one AWS::StepFunctions::StateMachine"):
        definition_from_template({"Resources": {}}, {})


def test_pinned_moto_still_needs_the_glue_sync_shim() -> None:
    """When this fails, moto guards interrupt_all(): delete install_glue_sync_fix."""
    assert moto_glue_sync_is_broken()


def test_shim_detection_tells_the_bug_from_the_upstream_fix() -> None:
    comment = "    # release the waiting threads\n"
    buggy = f"finally:\n{comment}    callback_endpoint.interrupt_all()\n"
    fixed = (
        f"finally:\n{comment}    if callback_endpoint:\n        callback_endpoint.interrupt_all()\n"
    )
    assert interrupts_unguarded(buggy)
    assert not interrupts_unguarded(fixed)


def _start(glue: Any) -> str:
    run_id: str = glue.start_job_run(JobName="job", Arguments={"--batch_id": "b1"})["JobRunId"]
    return run_id


def test_job_run_stays_running_until_the_handler_returns_then_takes_its_outcome() -> None:
    release = threading.Event()
    seen: list[GlueJobRun] = []

    def slow_failure(run: GlueJobRun) -> GlueRunOutcome:
        seen.append(run)
        release.wait(timeout=10)
        return GlueRunOutcome.failed("ValueError: bad rows")

    with executing_aws(), glue_job_runs(slow_failure) as log:
        glue = boto3.client("glue", region_name=DEFAULT_REGION)
        glue.create_job(
            Name="job",
            Role="arn:aws:iam::123456789012:role/r",
            Command={"Name": "glueetl", "ScriptLocation": "s3://a/job.py"},
            DefaultArguments={"--output_path": "s3://curated/"},
        )
        run_id = _start(glue)
        assert glue.get_job_run(JobName="job", RunId=run_id)["JobRun"]["JobRunState"] == "RUNNING"
        release.set()
        for worker in threading.enumerate():
            if worker.name.startswith("glue-run-"):
                worker.join(timeout=10)
        job_run = glue.get_job_run(JobName="job", RunId=run_id)["JobRun"]

    assert job_run["JobRunState"] == "FAILED"
    assert job_run["ErrorMessage"] == "ValueError: bad rows"
    assert seen[0].arguments == {"--output_path": "s3://curated/", "--batch_id": "b1"}
    assert log.outcomes[run_id] == GlueRunOutcome.failed("ValueError: bad rows")


def test_refused_start_raises_concurrent_runs_exceeded_once() -> None:
    with executing_aws(), glue_job_runs(refuse_first_starts=1) as log:
        glue = boto3.client("glue", region_name=DEFAULT_REGION)
        glue.create_job(
            Name="job",
            Role="arn:aws:iam::123456789012:role/r",
            Command={"Name": "glueetl", "ScriptLocation": "s3://a/job.py"},
        )
        with pytest.raises(ClientError, match="ConcurrentRunsExceededException"):
            _start(glue)
        _start(glue)

    assert log.refused_starts == 1
    assert len(log.runs) == 1
