"""The rehearsal's emulator workarounds, each on the exact shape of the gap it bridges."""

from __future__ import annotations

import json

from rehearsal.emulator import free_loopback_port
from rehearsal.emulator_gaps import (
    GAPS,
    NOT_BRIDGED,
    PROJECT_ROOT,
    emulator_environment,
    glue_mock_config,
    type_list_objects_result,
)
from rehearsal.outcomes import Report


def test_listing_gets_the_types_of_the_s3_model() -> None:
    """The emulator's XML reader leaves every member a string; the gate compares numbers."""
    raw = {
        "KeyCount": "1",
        "MaxKeys": "500",
        "IsTruncated": "false",
        "Contents": {"Key": "incoming/b/_SUCCESS", "Size": "0"},
    }

    typed = type_list_objects_result(raw)

    assert typed["KeyCount"] == 1
    assert typed["MaxKeys"] == 500
    assert typed["IsTruncated"] is False
    assert typed["Contents"] == [{"Key": "incoming/b/_SUCCESS", "Size": 0}]
    assert type_list_objects_result({"KeyCount": 0, "IsTruncated": True}) == {
        "KeyCount": 0,
        "IsTruncated": True,
    }


def test_glue_mock_config_answers_run_glue_job_per_test_case() -> None:
    succeeded = {"0": {"Return": {"Id": "jr_1", "JobRunState": "SUCCEEDED"}}}
    busy = {"0-9": {"Throw": {"Error": "Glue.ConcurrentRunsExceededException", "Cause": "busy"}}}

    config = glue_mock_config("EtlPipeline-dev-Workflow", {"Ok": succeeded, "Busy": busy})

    assert config == {
        "StateMachines": {
            "EtlPipeline-dev-Workflow": {
                "TestCases": {"Ok": {"RunGlueJob": "GlueOk"}, "Busy": {"RunGlueJob": "GlueBusy"}}
            }
        },
        "MockedResponses": {"GlueOk": succeeded, "GlueBusy": busy},
    }
    json.dumps(config)  # posted as JSON to the emulator


def test_emulator_listens_on_loopback_with_the_pinned_node_sdk() -> None:
    port = free_loopback_port()

    env = emulator_environment({"PATH": "/usr/bin"}, port=port, node_bin=None)

    assert env["GATEWAY_PORT"] == str(port)
    assert env["BIND_HOST"] == "127.0.0.1"
    pinned = json.loads((PROJECT_ROOT / "package.json").read_text())["devDependencies"]
    installed = PROJECT_ROOT / "node_modules" / "@aws-sdk" / "client-s3" / "package.json"
    assert env["NODE_PATH"] == str(PROJECT_ROOT / "node_modules")
    assert json.loads(installed.read_text())["version"] == pinned["@aws-sdk/client-s3"]


def test_summary_names_every_gap_and_what_the_emulator_cannot_show() -> None:
    report = Report()
    report.check("deploy", True, "deployed")
    report.check("destroy", False, "left behind: s3: etlpipeline-dev-x")

    summary = report.summary(elapsed=42.0, gaps=GAPS, not_bridged=NOT_BRIDGED, scale=0.01)

    assert not report.passed
    assert summary.endswith("Deploy rehearsal FAILED (destroy) in 42 s")
    for item in (*GAPS, *NOT_BRIDGED):
        assert item in summary
    assert any("IAM and KMS" in item for item in NOT_BRIDGED)
