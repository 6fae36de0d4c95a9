"""Which uploads are new and which batch they belong to: object identity, modes, other buckets,
and the size of the workflow input."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from tests.lambdas.conftest import (
    EVENT_TIME,
    LANDING_BUCKET,
    REGION,
    LambdaContext,
    Landing,
    import_handler,
)
from tests.lambdas.test_handler import log_lines, metrics

SFN_INPUT_LIMIT = 256 * 1024


def deliver(landing: Landing, form: str, key: str, **kwargs: Any) -> dict[str, Any]:
    """The event S3 would send for the current (or given) version of ``key``, in ``form``."""
    if form == "s3":
        return {"Records": [landing.record(key, **kwargs)]}
    return landing.eventbridge_event(key, **kwargs)


@pytest.mark.parametrize("form", ["s3", "eventbridge"])
def test_second_delivery_of_the_same_version_starts_nothing(
    landing: Landing,
    lambda_context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
    form: str,
) -> None:
    key = landing.put("incoming/orders.csv")
    event = deliver(landing, form, key)
    first = landing.handler.lambda_handler(event, lambda_context)
    second = landing.handler.lambda_handler(json.loads(json.dumps(event)), lambda_context)

    assert len(landing.executions()) == 1
    assert second["started"] == []
    assert second["duplicates"] == first["started"]
    assert metrics(log_lines(capsys)) == {"ExecutionsStarted": 1, "DuplicateDeliveries": 1}


@pytest.mark.parametrize("form", ["s3", "eventbridge"])
def test_new_version_of_the_same_key_is_a_new_upload(
    landing: Landing,
    lambda_context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
    form: str,
) -> None:
    key = landing.put("incoming/2026-11-24/part-1.csv")
    landing.handler.lambda_handler(deliver(landing, form, key), lambda_context)
    landing.put(key, b"id,value\n1,corrected\n")
    later = EVENT_TIME + timedelta(minutes=1)
    event = deliver(landing, form, key, time=later)
    summary = landing.handler.lambda_handler(event, lambda_context)

    # The first execution is still gating (moto keeps it RUNNING): the new version joins it, and
    # the job will read it. It is not mistaken for a duplicate of the first version.
    assert len(landing.executions()) == 1
    assert summary["duplicates"] == []
    assert len(summary["joined"]) == 1
    assert metrics(log_lines(capsys)) == {"ExecutionsStarted": 1, "UploadsJoined": 1}


def test_an_old_version_delivered_late_is_still_a_duplicate(
    landing: Landing, lambda_context: LambdaContext
) -> None:
    key = landing.put("incoming/orders.csv")
    first_version = landing.s3.head_object(Bucket=LANDING_BUCKET, Key=key)["VersionId"]
    landing.handler.lambda_handler(landing.s3_event(key), lambda_context)
    landing.put(key, b"id,value\n2,b\n")
    late = {"Records": [landing.record(key, version_id=first_version)]}
    # Same version id as the first delivery, although the key now holds another version.
    summary = landing.handler.lambda_handler(late, lambda_context)

    assert len(summary["duplicates"]) == 1
    assert summary["started"] == []
    assert summary["joined"] == []


def test_fixed_name_daily_file_is_one_batch_per_day(
    landing: Landing, lambda_context: LambdaContext
) -> None:
    for day in range(3):
        key = landing.put("incoming/orders.csv", f"id,value\n{day},x\n".encode())
        event = landing.eventbridge_event(key, time=EVENT_TIME + timedelta(days=day))
        landing.handler.lambda_handler(event, lambda_context)

    executions = landing.executions()
    assert [e["input"]["batch_id"] for e in executions] == [
        "orders.csv-2026-11-24",
        "orders.csv-2026-11-25",
        "orders.csv-2026-11-26",
    ]
    assert {e["input"]["batch_prefix"] for e in executions} == {"incoming/orders.csv"}
    assert len({e["name"] for e in executions}) == 3


@pytest.mark.parametrize(
    ("mode", "batch_id"),
    [
        ("file", "orders.csv"),
        ("arrival_date", "2026-11-24"),
        ("file_arrival_date", "orders.csv-2026-11-24"),
        ("file_arrival_time", "orders.csv-20261124T100000Z"),
    ],
)
def test_batch_id_mode_names_a_top_level_file(
    landing: Landing,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    batch_id: str,
) -> None:
    monkeypatch.setenv("BATCH_ID_MODE", mode)
    handler = import_handler()
    key = landing.put("incoming/orders.csv")
    handler.lambda_handler(landing.eventbridge_event(key), lambda_context)
    handler.lambda_handler(landing.s3_event(landing.put("incoming/b1/x.csv")), lambda_context)

    by_prefix = {e["input"]["batch_prefix"]: e["input"] for e in landing.executions()}
    assert by_prefix[key]["batch_id"] == batch_id
    assert by_prefix[key]["single_object"] is True
    assert by_prefix["incoming/b1/"]["batch_id"] == "b1"  # folders are batches in every mode


def test_folder_mode_ignores_top_level_files_with_a_warning(
    landing: Landing,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BATCH_ID_MODE", "folder")
    handler = import_handler()
    summary = handler.lambda_handler(
        landing.s3_event(landing.put("incoming/orders.csv")), lambda_context
    )

    assert landing.executions() == []
    assert summary["ignored"] == 1
    lines = log_lines(capsys)
    [warning] = [line for line in lines if line.get("level") == "WARNING"]
    assert "batch_id_mode is 'folder'" in warning["message"]
    assert metrics(lines) == {"IgnoredObjects": 1}


def test_unknown_batch_id_mode_fails_at_cold_start(
    landing: Landing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BATCH_ID_MODE", "weekly")
    with pytest.raises(Exception, match="BATCH_ID_MODE='weekly' is not one of folder, file"):
        import_handler()


@pytest.mark.parametrize("form", ["s3", "eventbridge"])
def test_events_of_another_bucket_are_ignored_logged_and_counted(
    landing: Landing,
    lambda_context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
    form: str,
) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="someone-elses-bucket")
    landing.put("incoming/2026-11-24/x.csv", bucket="someone-elses-bucket")
    event = deliver(landing, form, "incoming/2026-11-24/x.csv", bucket="someone-elses-bucket")
    summary = landing.handler.lambda_handler(event, lambda_context)

    assert landing.executions() == []
    assert summary["ignored"] == 1
    lines = log_lines(capsys)
    [warning] = [line for line in lines if line.get("level") == "WARNING"]
    assert "someone-elses-bucket" in warning["message"]
    assert "not the landing bucket" in warning["message"]
    assert metrics(lines) == {"IgnoredObjects": 1}


def test_an_event_of_1000_records_fits_the_step_functions_input_limit(
    landing: Landing,
    lambda_context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Long keys, as real exports write them: the uncapped list alone is far over 256 KB.
    keys = [
        landing.put(f"incoming/2026-11-24/{'export-of-the-flights-table-' * 4}part-{n:05d}.csv")
        for n in range(1000)
    ]
    event = landing.s3_event(*keys)
    landing.handler.lambda_handler(event, lambda_context)

    [execution] = landing.executions()
    raw = landing.sfn.describe_execution(
        executionArn=landing.sfn.list_executions(stateMachineArn=landing.state_machine_arn)[
            "executions"
        ][0]["executionArn"]
    )["input"]
    assert metrics(log_lines(capsys))["ExecutionsStarted"] == 1
    execution_input = execution["input"]
    uncapped = uncapped_input_size(landing, execution_input, event, monkeypatch)
    print(f"input of a 1,000-record event: {len(raw.encode())} bytes; uncapped {uncapped} bytes")
    assert uncapped > SFN_INPUT_LIMIT  # what StartExecution would have refused
    assert len(raw.encode()) < 64 * 1024
    assert execution_input["objects_capped"] is True
    assert execution_input["object_count"] == 1000
    assert 0 < len(execution_input["objects"]) < 1000
    assert execution_input["objects"][0]["key"] == keys[0]


def uncapped_input_size(
    landing: Landing,
    execution_input: dict[str, Any],
    event: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> int:
    """Bytes the same input would take with every object listed."""
    from lambdas.trigger import batches

    handler = landing.handler
    monkeypatch.setattr(batches, "MAX_LISTED_OBJECTS_BYTES", 10**9)
    batch = handler.Batch(
        LANDING_BUCKET, execution_input["batch_id"], execution_input["batch_prefix"], False
    )
    objects = handler.parse_event(event).objects
    return len(json.dumps(handler.workflow_input(batch, objects, "s3", "req")).encode())
