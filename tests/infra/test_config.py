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
from stacks.config import StageConfigError, load_stage_config, parse_stage_config
from tests.infra.conftest import CDK_CONTEXT, PIPELINE_CONFIG

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
        config = load_stage_config(stage, CDK_CONTEXT["stages"], PIPELINE_CONFIG)
        assert config.stage == stage
    assert load_stage_config("prod", CDK_CONTEXT["stages"], PIPELINE_CONFIG).is_retained


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
