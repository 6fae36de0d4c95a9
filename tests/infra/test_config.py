"""Bad configuration fails synth with one clear message naming the field."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from join_job.pipeline_config import (
    PipelineConfigError,
    load_pipeline_config,
    parse_pipeline_config,
    parse_pipeline_config_json,
)
from stacks.app_builder import PROJECT_ROOT
from stacks.config import (
    FLEX_START_WAIT_MINUTES,
    StageConfigError,
    load_stage_config,
    parse_stage_config,
)
from tests.infra.conftest import CDK_CONTEXT, PIPELINE_CONFIG, SYNTH_ONLY_EMAIL

PIPELINE: dict[str, Any] = json.loads(PIPELINE_CONFIG.read_text())


def _pipeline_with(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(PIPELINE)
    raw.update(changes)
    return raw


def test_shipped_configs_are_valid() -> None:
    pipeline = load_pipeline_config(PIPELINE_CONFIG)
    assert [j.name for j in pipeline.joins] == ["airlines", "planes", "airports"]
    assert pipeline.joins[2].on == (("dest", "faa"),)
    for stage in CDK_CONTEXT["stages"]:
        config = load_stage_config(
            stage, CDK_CONTEXT["stages"], PIPELINE_CONFIG, synth_only_email=SYNTH_ONLY_EMAIL
        )
        assert config.stage == stage
    prod = load_stage_config(
        "prod", CDK_CONTEXT["stages"], PIPELINE_CONFIG, synth_only_email=SYNTH_ONLY_EMAIL
    )
    assert prod.is_retained
    assert prod.notification_email == SYNTH_ONLY_EMAIL  # cdk.json ships no real address


def test_pipeline_config_round_trips_through_the_glue_argument() -> None:
    pipeline = load_pipeline_config(PIPELINE_CONFIG)
    assert parse_pipeline_config_json(pipeline.to_json()) == pipeline


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_pipeline_with(input={"format": "xml"}), r"input\.format: unknown format 'xml'"),
        (
            _pipeline_with(joins=[{"name": "a", "format": "csv", "on": {}, "how": "left"}]),
            r"joins\[0\]\.on: a join needs at least one key",
        ),
        (
            _pipeline_with(
                joins=[
                    {"name": "a", "format": "csv", "on": {"x": "y"}},
                    {"name": "a", "format": "csv", "on": {"z": "y"}},
                ]
            ),
            r"joins\[1\]\.name: duplicate reference name 'a'",
        ),
        (
            _pipeline_with(
                joins=[{"name": "a", "format": "csv", "on": {"x": "y"}, "how": "outer"}]
            ),
            r"joins\[0\]\.how: unknown join type 'outer'",
        ),
        (_pipeline_with(output={"format": "csv"}), r"output\.format: unknown format 'csv'"),
        (_pipeline_with(dataset="Flights Data"), r"dataset: 'Flights Data' is not a valid name"),
        (
            _pipeline_with(input={"format": "csv", "schema": {"a": "varchar"}}),
            r"input\.schema\['a'\]: unknown type 'varchar'",
        ),
        (_pipeline_with(inputs={}), r"unknown field 'inputs'"),
        (
            _pipeline_with(tuning={"broadcast_threshold_mb": -1}),
            r"tuning\.broadcast_threshold_mb: must be a whole number >= 0",
        ),
    ],
)
def test_bad_pipeline_config_names_the_field(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(PipelineConfigError, match=message):
        parse_pipeline_config(raw)


def test_missing_pipeline_config_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(PipelineConfigError, match=r"cannot read pipeline config .*nope\.json"):
        load_pipeline_config(tmp_path / "nope.json")


def test_pipeline_config_that_is_not_json_says_where(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.json"
    path.write_text('{"dataset": "x",\n  "input": }')
    with pytest.raises(PipelineConfigError, match=r"not valid JSON: .* line 2 column"):
        load_pipeline_config(path)


PIPELINE_OBJECT = load_pipeline_config(PIPELINE_CONFIG)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"notification_email": "ops-at-example"}, r"notification_email: 'ops-at-example' is not"),
        ({"removal_policy": "keep"}, r"removal_policy: 'keep' is not one of retain, destroy"),
        ({"log_retention_days": 10}, r"log_retention_days: 10 is not one of"),
        ({"workflow": {"settle_seconds": -5}}, r"workflow\.settle_seconds: must be >= 0, got -5"),
        ({"workflow": {"poll_interval_seconds": -1}}, r"workflow\.poll_interval_seconds"),
        ({"workflow": {"max_wait_minutes": 0}}, r"workflow\.max_wait_minutes: must be >= 1"),
        (
            {"workflow": {"execution_timeout_minutes": 60}},
            r"execution_timeout_minutes: 60 leaves no room",
        ),
        ({"glue": {"worker_type": "Standard"}}, r"glue\.worker_type: 'Standard' is not one of"),
        ({"glue": {"number_of_workers": 1}}, r"glue\.number_of_workers: must be >= 2"),
        (
            {"glue": {"worker_type": "G.4X", "execution_class": "FLEX"}},
            r"glue\.execution_class: FLEX runs only on G\.1X, G\.2X",
        ),
        ({"glue": {"workers": 3}}, r"stages\.dev\.glue: unknown setting 'workers'"),
        ({"glue": {"auto_scaling": "yes"}}, r"glue\.auto_scaling must be true or false"),
        ({"trigger": {"landing_prefix": "incoming"}}, r"trigger\.landing_prefix: 'incoming' must"),
        ({"trigger": {"reserved_concurrency": 0}}, r"trigger\.reserved_concurrency: must be >= 1"),
        (
            {"notification_email": "data-alerts@example.com"},
            r"stages\.dev\.notification_email: 'data-alerts@example\.com' is a placeholder",
        ),
        (
            {"notification_email": "oncall@alerts.example.org"},
            r"notification_email: 'oncall@alerts\.example\.org' is a placeholder",
        ),
        (
            {"glue": {"timeout_minutes": 60}, "workflow": {"glue_task_timeout_minutes": 80}},
            r"glue_task_timeout_minutes: 80 is shorter than glue\.timeout_minutes \(60\) \+ "
            r"workflow\.glue_queue_minutes \(30\) = 90",
        ),
        (
            {"trigger": {"batch_id_mode": "daily"}},
            r"trigger\.batch_id_mode: 'daily' is not one of folder, file, arrival_date",
        ),
        ({"colour": "blue"}, r"stages\.dev: unknown setting 'colour'"),
    ],
)
def test_bad_stage_config_names_the_field(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(StageConfigError, match=message):
        parse_stage_config("dev", raw, PIPELINE_OBJECT)


def test_unknown_stage_lists_the_defined_ones() -> None:
    with pytest.raises(StageConfigError, match=r"stage 'qa' is not defined .*dev, prod"):
        load_stage_config("qa", CDK_CONTEXT["stages"], PIPELINE_CONFIG)


def test_synth_with_bad_config_exits_with_one_clear_message(tmp_path: Path) -> None:
    """The real entry point: app.py with a bad stage setting fails before building anything."""
    stages = copy.deepcopy(CDK_CONTEXT["stages"])
    stages["dev"]["notification_email"] = "not-an-email"
    context = {**CDK_CONTEXT, "stages": stages, "stage": "dev"}
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "app.py")],
        env={
            "CDK_CONTEXT_JSON": json.dumps(context),
            "CDK_OUTDIR": str(tmp_path),
            "PATH": os.environ["PATH"],
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert (
        "Invalid configuration: stages.dev.notification_email: 'not-an-email' is not an email "
        "address" in result.stderr
    )
    assert "Traceback" not in result.stderr


def _prod_settings(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(CDK_CONTEXT["stages"]["prod"])
    raw.update(changes)
    return raw


def test_prod_without_an_alert_address_fails_naming_the_field() -> None:
    with pytest.raises(
        StageConfigError, match=r"stages\.prod\.notification_email: stage 'prod' requires a real"
    ):
        parse_stage_config("prod", _prod_settings(), PIPELINE_OBJECT)


def test_prod_with_the_example_com_placeholder_fails_naming_the_field() -> None:
    with pytest.raises(
        StageConfigError, match=r"stages\.prod\.notification_email: .*example\.com.* placeholder"
    ):
        parse_stage_config(
            "prod", _prod_settings(notification_email="data-alerts@example.com"), PIPELINE_OBJECT
        )


def test_prod_takes_a_real_address_and_ignores_the_synth_only_one() -> None:
    config = parse_stage_config(
        "prod",
        _prod_settings(notification_email="data-alerts@acme-corp.com"),
        PIPELINE_OBJECT,
        synth_only_email=SYNTH_ONLY_EMAIL,
    )
    assert config.notification_email == "data-alerts@acme-corp.com"


def test_synth_only_address_must_be_undeliverable_and_fills_only_required_stages() -> None:
    with pytest.raises(StageConfigError, match=r"synth_only_notification_email: .* \.invalid"):
        parse_stage_config(
            "prod", _prod_settings(), PIPELINE_OBJECT, synth_only_email="me@acme-corp.com"
        )
    dev = parse_stage_config("dev", {}, PIPELINE_OBJECT, synth_only_email=SYNTH_ONLY_EMAIL)
    assert dev.notification_email is None


def test_flex_task_timeout_must_cover_the_capacity_wait() -> None:
    flex = {"glue": {"execution_class": "FLEX", "timeout_minutes": 30}}
    # 30 (run) + 0 (queue) + 20 (FLEX wait) = 50: 45 is too short, as dev had it.
    with pytest.raises(
        StageConfigError,
        match=r"stages\.dev\.workflow\.glue_task_timeout_minutes: 45 is shorter than "
        r"glue\.timeout_minutes \(30\) \+ workflow\.glue_queue_minutes \(0\) \+ the FLEX start "
        r"wait \(20\) = 50",
    ):
        parse_stage_config(
            "dev",
            {**flex, "workflow": {"glue_task_timeout_minutes": 45, "glue_queue_minutes": 0}},
            PIPELINE_OBJECT,
        )
    config = parse_stage_config(
        "dev",
        {**flex, "workflow": {"glue_task_timeout_minutes": 50, "glue_queue_minutes": 0}},
        PIPELINE_OBJECT,
    )
    assert config.workflow.glue_task_timeout_minutes == 30 + FLEX_START_WAIT_MINUTES
    # The same timings on STANDARD need no capacity wait.
    parse_stage_config(
        "dev",
        {
            "glue": {"timeout_minutes": 30},
            "workflow": {"glue_task_timeout_minutes": 30, "glue_queue_minutes": 0},
        },
        PIPELINE_OBJECT,
    )


def test_no_shipped_stage_reserves_lambda_concurrency() -> None:
    """Lambda keeps 100 executions unreserved: a reservation fails on new, small accounts."""
    for stage, settings in CDK_CONTEXT["stages"].items():
        assert "reserved_concurrency" not in settings.get("trigger", {}), stage


def test_app_without_the_prod_address_exits_naming_the_field(tmp_path: Path) -> None:
    """`cdk deploy -c stage=prod` on a clone whose cdk.json names no address fails at synth."""
    context = {**CDK_CONTEXT, "stage": "prod"}
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "app.py")],
        env={
            "CDK_CONTEXT_JSON": json.dumps(context),
            "CDK_OUTDIR": str(tmp_path),
            "CDK_DEFAULT_ACCOUNT": "111111111111",
            "CDK_DEFAULT_REGION": "eu-west-1",
            "PATH": os.environ["PATH"],
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "Invalid configuration: stages.prod.notification_email" in result.stderr
