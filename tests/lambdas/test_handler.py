"""The trigger handler against moto: one execution per batch, whatever S3 delivers."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote_plus

import pytest
from botocore.exceptions import ClientError

from lambdas.trigger.batch_ids import batch_id_for, is_valid_batch_id
from tests.lambdas.conftest import LANDING_BUCKET, LambdaContext, Landing, import_handler


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]


def metrics(lines: list[dict[str, Any]]) -> dict[str, int]:
    """Sum of each embedded-metric-format metric over the given log lines."""
    totals: dict[str, int] = {}
    for line in lines:
        for directive in line.get("_aws", {}).get("CloudWatchMetrics", []):
            assert directive["Namespace"] == "EtlPipeline"
            assert directive["Dimensions"] == [["Stage"]]
            for metric in directive["Metrics"]:
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + line[metric["Name"]]
            assert line["Stage"] == "test"
    return {name: count for name, count in totals.items() if count}


def test_single_file_starts_one_execution_with_the_workflow_input(
    landing: Landing, lambda_context: LambdaContext
) -> None:
    key = landing.put("incoming/orders.csv")
    landing.handler.lambda_handler(landing.s3_event(key), lambda_context)

    [execution] = landing.executions()
    head = landing.s3.head_object(Bucket=LANDING_BUCKET, Key=key)
    trigger = execution["input"].pop("trigger")
    assert trigger["request_id"] == lambda_context.aws_request_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", trigger["received_at"])
    assert execution["input"] == {
        "bucket": LANDING_BUCKET,
        "batch_id": "orders.csv-2026-11-24",  # the default mode: file name + arrival date
        "batch_prefix": "incoming/orders.csv",
        "input_path": f"s3://{LANDING_BUCKET}/incoming/orders.csv",
        "single_object": True,
        "objects": [
            {
                "key": key,
                "version_id": head["VersionId"],
                "size": head["ContentLength"],
                "etag": head["ETag"].strip('"'),
                "sequencer": "0000000000000001",
                "event_time": "2026-11-24T10:00:00.000Z",
            }
        ],
        "object_count": 1,
        "objects_capped": False,
        "source": "s3",
        "attempt": 1,
    }
    assert re.fullmatch(r"orders-csv-2026-11-24-[0-9a-f]{10}", execution["name"])


def test_many_files_of_a_batch_in_one_event_start_one_execution(
    landing: Landing, lambda_context: LambdaContext
) -> None:
    keys = [landing.put(f"incoming/2026-11-24/part-{n}.csv") for n in range(3)]
    summary = landing.handler.lambda_handler(landing.s3_event(*keys), lambda_context)

    [execution] = landing.executions()
    assert execution["input"]["batch_id"] == "2026-11-24"
    assert execution["input"]["batch_prefix"] == "incoming/2026-11-24/"
    assert execution["input"]["single_object"] is False
    assert [obj["key"] for obj in execution["input"]["objects"]] == keys
    assert summary["started"] == [execution["name"]]


def test_late_parts_while_the_batch_is_gating_join_it(
    landing: Landing, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(4):
        key = landing.put(f"incoming/2026-11-24/part-{n}.csv")
        landing.handler.lambda_handler(landing.s3_event(key), lambda_context)

    # moto's plain Step Functions keeps the execution RUNNING without entering RunGlueJob: the
    # gate is still waiting, and the job will read every part of the folder.
    assert len(landing.executions()) == 1
    assert metrics(log_lines(capsys)) == {"ExecutionsStarted": 1, "UploadsJoined": 3}


def test_duplicate_delivery_starts_no_second_execution(
    landing: Landing, lambda_context: LambdaContext
) -> None:
    event = landing.s3_event(landing.put("incoming/b1/data.csv"))
    first = landing.handler.lambda_handler(event, lambda_context)
    second = landing.handler.lambda_handler(event, lambda_context)

    assert len(landing.executions()) == 1
    assert first["started"] == second["duplicates"]
    assert second["started"] == []


KEYS_WITH_SPECIAL_CHARACTERS = [
    "incoming/c++.csv",
    "incoming/50%.csv",
    "incoming/2026-11-20T10:00:00.csv",
    "incoming/day 1.csv",
    "incoming/2026+11+20/part 1.csv",
    "incoming/50%/x.csv",
    "incoming/10:00/y.csv",
    "incoming/día 1/a+b ü.csv",
]


@pytest.mark.parametrize("form", ["s3", "eventbridge"])
@pytest.mark.parametrize("key", KEYS_WITH_SPECIAL_CHARACTERS)
def test_keys_with_plus_percent_colon_and_space_reach_the_workflow_as_stored(
    landing: Landing, lambda_context: LambdaContext, form: str, key: str
) -> None:
    landing.put(key)
    event = landing.s3_event(key) if form == "s3" else landing.eventbridge_event(key)
    if form == "s3":  # S3 notifications URL-encode the key; EventBridge sends it as it is
        assert event["Records"][0]["s3"]["object"]["key"] == quote_plus(key, safe="/")
    else:
        assert event["detail"]["object"]["key"] == key
    landing.handler.lambda_handler(event, lambda_context)

    [execution] = landing.executions()
    execution_input = execution["input"]
    assert execution_input["objects"][0]["key"] == key
    assert execution_input["source"] == form
    rest = key.removeprefix("incoming/")
    if "/" in rest:
        folder = rest.split("/")[0]
        assert execution_input["batch_prefix"] == f"incoming/{folder}/"
        natural = folder
    else:
        assert execution_input["batch_prefix"] == key
        natural = f"{rest}-2026-11-24"
    # The job reads exactly the folder or key that exists (no decoded look-alike).
    listed = landing.s3.list_objects_v2(
        Bucket=LANDING_BUCKET, Prefix=execution_input["batch_prefix"]
    )
    assert [item["Key"] for item in listed["Contents"]] == [key]
    assert execution_input["batch_id"] == batch_id_for(natural)
    assert is_valid_batch_id(execution_input["batch_id"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", execution["name"])


def test_folders_that_sanitise_alike_stay_separate_batches(
    landing: Landing, lambda_context: LambdaContext
) -> None:
    keys = [landing.put(f"incoming/{folder}/x.csv") for folder in ("day 1", "day+1", "day:1")]
    landing.handler.lambda_handler(landing.s3_event(*keys), lambda_context)

    executions = landing.executions()
    assert len({e["input"]["batch_id"] for e in executions}) == 3
    assert len({e["name"] for e in executions}) == 3
    assert all(is_valid_batch_id(e["input"]["batch_id"]) for e in executions)


def test_s3_test_event_is_logged_and_starts_nothing(
    landing: Landing, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-11-24T10:00:00.000Z",
        "Bucket": LANDING_BUCKET,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
    summary = landing.handler.lambda_handler(event, lambda_context)

    assert landing.executions() == []
    assert summary["started"] == []
    assert any("test event" in line.get("message", "") for line in log_lines(capsys))


def test_objects_outside_the_prefix_folder_markers_and_the_completion_marker_are_ignored(
    landing: Landing, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = [
        landing.put("elsewhere/file.csv"),
        landing.put("incoming/b2/", b""),
        landing.put("incoming/b2/_SUCCESS", b""),
        landing.put("incoming/_SUCCESS", b""),
        landing.put("incoming/b2/part-1.csv"),
    ]
    summary = landing.handler.lambda_handler(landing.s3_event(*keys), lambda_context)
    lines = log_lines(capsys)

    [execution] = landing.executions()
    assert [obj["key"] for obj in execution["input"]["objects"]] == ["incoming/b2/part-1.csv"]
    assert summary["ignored"] == 4
    assert metrics(lines) == {"ExecutionsStarted": 1, "IgnoredObjects": 4}
    ignored = [line["message"] for line in lines if line.get("message", "").startswith("ignored")]
    assert any("outside the landing prefix" in message for message in ignored)
    assert any("folder marker" in message for message in ignored)
    assert any("completion marker of batch b2" in message for message in ignored)


def test_completion_marker_after_the_files_starts_no_second_execution(
    landing: Landing, lambda_context: LambdaContext
) -> None:
    landing.handler.lambda_handler(
        landing.s3_event(landing.put("incoming/b3/part-1.csv")), lambda_context
    )
    summary = landing.handler.lambda_handler(
        landing.s3_event(landing.put("incoming/b3/_SUCCESS", b"")), lambda_context
    )

    assert len(landing.executions()) == 1
    assert summary["ignored"] == 1


def test_object_removed_events_are_ignored(landing: Landing, lambda_context: LambdaContext) -> None:
    record = landing.record(landing.put("incoming/b4/part-1.csv"), "ObjectRemoved:Delete")
    summary = landing.handler.lambda_handler({"Records": [record]}, lambda_context)

    assert landing.executions() == []
    assert summary["ignored"] == 1


def test_eventbridge_object_created_event_starts_the_batch(
    landing: Landing, lambda_context: LambdaContext
) -> None:
    key = landing.put("incoming/2026-11-25/part 1.csv")
    landing.handler.lambda_handler(landing.eventbridge_event(key), lambda_context)

    [execution] = landing.executions()
    assert execution["input"]["source"] == "eventbridge"
    assert execution["input"]["objects"][0]["key"] == key
    assert execution["input"]["batch_id"] == "2026-11-25"


def test_malformed_records_are_logged_with_the_event_and_counted(
    landing: Landing, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    good = landing.record(landing.put("incoming/b5/part-1.csv"))
    no_key = {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": LANDING_BUCKET}}}
    summary = landing.handler.lambda_handler({"Records": [no_key, good]}, lambda_context)
    lines = log_lines(capsys)

    assert len(landing.executions()) == 1
    assert summary["malformed"] == 1
    [error] = [line for line in lines if line.get("level") == "ERROR"]
    assert "without bucket name or object key" in error["message"]
    assert error["event"]["Records"][0] == no_key
    assert metrics(lines)["MalformedRecords"] == 1

    assert landing.handler.lambda_handler({"unexpected": True}, lambda_context)["malformed"] == 1


class ThrottledFor:
    """A Step Functions client that throttles the start of the given batches."""

    def __init__(self, client: Any, batch_ids: set[str]) -> None:
        self._client = client
        self._batch_ids = batch_ids
        self.attempted: list[str] = []

    def start_execution(self, **kwargs: Any) -> Any:
        batch_id = json.loads(kwargs["input"])["batch_id"]
        self.attempted.append(batch_id)
        if batch_id in self._batch_ids:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                "StartExecution",
            )
        return self._client.start_execution(**kwargs)


def test_throttling_raises_after_every_other_batch_was_attempted(
    landing: Landing,
    lambda_context: LambdaContext,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    throttled = ThrottledFor(landing.sfn, {"a"})
    monkeypatch.setattr(landing.handler, "_CLIENT", throttled)
    event = landing.s3_event(landing.put("incoming/a/1.csv"), landing.put("incoming/b/1.csv"))

    with pytest.raises(landing.handler.BatchStartError, match=r"a \(.*ThrottlingException"):
        landing.handler.lambda_handler(event, lambda_context)

    assert throttled.attempted == ["a", "b"]
    assert [e["input"]["batch_id"] for e in landing.executions()] == ["b"]
    lines = log_lines(capsys)
    assert metrics(lines) == {"ExecutionsStarted": 1, "StartFailures": 1}
    [error] = [line for line in lines if line.get("level") == "ERROR"]
    assert error["batch_id"] == "a"
    assert error["execution_name"].startswith("a-")


def test_step_functions_client_retries_in_standard_mode(landing: Landing) -> None:
    client = landing.handler.sfn_client()
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 5}


def test_every_batch_log_line_names_the_batch_and_execution(
    landing: Landing, lambda_context: LambdaContext, capsys: pytest.CaptureFixture[str]
) -> None:
    event = landing.s3_event(landing.put("incoming/b6/part-1.csv"))
    landing.handler.lambda_handler(event, lambda_context)
    landing.handler.lambda_handler(event, lambda_context)

    lines = [line for line in log_lines(capsys) if "_aws" not in line]
    assert len(lines) == 2
    [name] = [e["name"] for e in landing.executions()]
    for line in lines:
        assert line["batch_id"] == "b6"
        assert line["execution_name"] == name
        assert line["aws_request_id"] == lambda_context.aws_request_id
        assert line["level"] == "INFO"


def test_custom_landing_prefix_is_normalised(
    landing: Landing, lambda_context: LambdaContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANDING_PREFIX", "data/in")
    handler = import_handler()
    handler.lambda_handler(
        landing.s3_event(landing.put("data/in/b7/x.csv"), landing.put("incoming/b8/x.csv")),
        lambda_context,
    )

    assert [e["input"]["batch_prefix"] for e in landing.executions()] == ["data/in/b7/"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "STATE_MACHINE_ARN is not set"),
        ("", "STATE_MACHINE_ARN is not set"),
        ("my-workflow", "STATE_MACHINE_ARN='my-workflow' is not a state machine ARN"),
        (
            "arn:aws:states:us-east-1:123456789012:activity:x",
            "is not a state machine ARN",
        ),
    ],
)
def test_missing_or_malformed_state_machine_arn_fails_at_cold_start(
    monkeypatch: pytest.MonkeyPatch, value: str | None, message: str
) -> None:
    if value is None:
        monkeypatch.delenv("STATE_MACHINE_ARN", raising=False)
    else:
        monkeypatch.setenv("STATE_MACHINE_ARN", value)
    with pytest.raises(Exception, match=re.escape(message)) as failure:
        import_handler()
    assert type(failure.value).__name__ == "ConfigurationError"


def test_rerun_starts_a_new_execution_for_a_batch_already_processed(
    landing: Landing,
    lambda_context: LambdaContext,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from lambdas.trigger import rerun

    monkeypatch.setenv("LANDING_PREFIX", "incoming/")  # restored after the CLI sets it
    landing.handler.lambda_handler(
        landing.s3_event(landing.put("incoming/2026-11-20/part-1.csv")), lambda_context
    )
    capsys.readouterr()
    argv = ["--state-machine-arn", landing.state_machine_arn, "--bucket", LANDING_BUCKET]
    assert rerun.main([*argv, "--batch-id", "2026-11-20"], client=landing.sfn) == 0

    first, again = sorted(landing.executions(), key=lambda e: len(e["name"]))
    assert again["name"].startswith(first["name"] + "--rerun-")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", again["name"])
    assert again["input"]["source"] == "rerun"
    assert again["input"]["batch_prefix"] == first["input"]["batch_prefix"]
    assert again["input"]["input_path"] == first["input"]["input_path"]
    assert capsys.readouterr().out.strip().endswith(again["name"])


def test_rerun_of_a_fixed_name_file_batch_reads_its_key_under_its_own_id(
    landing: Landing, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lambdas.trigger import rerun

    monkeypatch.setenv("LANDING_PREFIX", "incoming/")
    landing.put("incoming/day 1/orders.csv")
    argv = ["--state-machine-arn", landing.state_machine_arn, "--bucket", LANDING_BUCKET]
    assert rerun.main([*argv, "--batch-id", "day 1"], client=landing.sfn) == 0
    assert (
        rerun.main(
            [*argv, "--batch-id", "orders.csv-2026-11-24", "--batch-prefix", "incoming/orders.csv"],
            client=landing.sfn,
        )
        == 0
    )

    by_prefix = {e["input"]["batch_prefix"]: e for e in landing.executions()}
    folder = by_prefix["incoming/day 1/"]
    assert folder["input"]["batch_id"] == batch_id_for("day 1")  # as the trigger names it
    assert is_valid_batch_id(folder["input"]["batch_id"])
    single = by_prefix["incoming/orders.csv"]
    assert single["input"]["batch_id"] == "orders.csv-2026-11-24"
    assert single["input"]["single_object"] is True
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,80}", e["name"]) for e in by_prefix.values())
