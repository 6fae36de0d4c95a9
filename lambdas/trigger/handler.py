"""Trigger Lambda: start exactly one workflow execution per upload batch.

An upload under the landing prefix (``incoming/`` by default) belongs to a batch:

- ``incoming/<batch_id>/<file...>``: the batch folder ``<batch_id>`` (many files, one batch);
- ``incoming/<file>``: a batch of its own, named after the file.

The execution name is derived from the bucket and the batch only, so every later file of a batch,
and every duplicate delivery S3 makes, asks for the same name; Step Functions answers
``ExecutionAlreadyExists`` and the object is counted as a duplicate, not an error. The workflow
then waits until the batch is complete before it runs the Glue job.

Handled event forms: S3 event notifications (one or many ``Records``), EventBridge "Object
Created" events, and S3's ``s3:TestEvent``. Configuration comes from the environment, read once
at cold start (:class:`Settings`); only ``STATE_MACHINE_ARN`` is required.

Runtime: the standard library and the Lambda runtime's boto3. Nothing here imports the CDK.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# Step Functions execution names: 1-80 characters of letters, digits, '-' and '_'.
EXECUTION_NAME_MAX = 80
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_HASH_CHARS = 10
_STATE_MACHINE_ARN = re.compile(
    r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$"
)
METRIC_NAMES = (
    "ExecutionsStarted",
    "DuplicateDeliveries",
    "IgnoredObjects",
    "MalformedRecords",
    "StartFailures",
)


class ConfigurationError(RuntimeError):
    """The function's environment is missing a setting or holds an invalid one."""


class BatchStartError(RuntimeError):
    """Step Functions refused to start one or more batches after the SDK's retries.

    Raised after every record of the event was attempted, so Lambda retries the event and, in
    the end, keeps it in the on-failure destination.
    """


@dataclass(frozen=True)
class Settings:
    """The function's configuration, from its environment variables."""

    state_machine_arn: str
    landing_prefix: str = "incoming/"
    completion_marker: str = "_SUCCESS"
    metrics_namespace: str = "EtlPipeline"
    stage: str = "dev"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Read and check the settings; :class:`ConfigurationError` names the bad variable."""
        arn = environ.get("STATE_MACHINE_ARN", "").strip()
        if not arn:
            raise ConfigurationError(
                "STATE_MACHINE_ARN is not set: the trigger needs the ARN of the workflow's "
                "state machine (the stack sets it)"
            )
        if not _STATE_MACHINE_ARN.match(arn):
            raise ConfigurationError(
                f"STATE_MACHINE_ARN={arn!r} is not a state machine ARN "
                "(arn:<partition>:states:<region>:<account>:stateMachine:<name>)"
            )
        prefix = environ.get("LANDING_PREFIX", cls.landing_prefix).strip().lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        marker = environ.get("COMPLETION_MARKER", cls.completion_marker).strip()
        if "/" in marker:
            raise ConfigurationError(f"COMPLETION_MARKER={marker!r} must be a file name, no '/'")
        return cls(
            state_machine_arn=arn,
            landing_prefix=prefix,
            completion_marker=marker,
            metrics_namespace=environ.get("METRICS_NAMESPACE", cls.metrics_namespace).strip()
            or cls.metrics_namespace,
            stage=environ.get("STAGE", cls.stage).strip() or cls.stage,
        )


@dataclass(frozen=True)
class UploadedObject:
    """One object-created notification, its key decoded."""

    bucket: str
    key: str
    size: int | None
    etag: str | None
    sequencer: str | None
    event_time: str | None
    source: str  # "s3" (S3 event notification) or "eventbridge"

    def describe(self) -> dict[str, Any]:
        """The object as the workflow input lists it."""
        return {
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "sequencer": self.sequencer,
            "event_time": self.event_time,
        }


@dataclass(frozen=True)
class Batch:
    """The batch an object belongs to."""

    bucket: str
    batch_id: str
    batch_prefix: str  # the folder, ending in '/', or the single object's key
    single_object: bool

    @property
    def input_path(self) -> str:
        return f"s3://{self.bucket}/{self.batch_prefix}"


@dataclass
class ParsedEvent:
    """What an invocation's event holds."""

    objects: list[UploadedObject] = field(default_factory=list)
    malformed: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    test_event: bool = False


def parse_event(event: Any) -> ParsedEvent:
    """Objects created, S3 test events, and what is malformed or not an object creation."""
    parsed = ParsedEvent()
    if not isinstance(event, dict):
        parsed.malformed.append({"reason": "the event is not a JSON object", "event": event})
        return parsed
    if event.get("Event") == "s3:TestEvent":
        parsed.test_event = True
        return parsed
    if "Records" in event:
        records = event["Records"]
        if not isinstance(records, list):
            parsed.malformed.append({"reason": "Records is not a list", "event": event})
            return parsed
        for record in records:
            _parse_s3_record(record, parsed)
        return parsed
    if event.get("source") == "aws.s3" or "detail-type" in event:
        _parse_eventbridge(event, parsed)
        return parsed
    parsed.malformed.append({"reason": "neither an S3 nor an EventBridge event", "event": event})
    return parsed


def _parse_s3_record(record: Any, parsed: ParsedEvent) -> None:
    if not isinstance(record, dict):
        parsed.malformed.append({"reason": "a record is not a JSON object", "record": record})
        return
    event_name = str(record.get("eventName", ""))
    s3 = _mapping(record.get("s3"))
    bucket = _mapping(s3.get("bucket")).get("name")
    obj = _mapping(s3.get("object"))
    key = obj.get("key")
    if not bucket or not isinstance(key, str) or not key:
        parsed.malformed.append(
            {"reason": "record without bucket name or object key", "record": record}
        )
        return
    decoded = unquote_plus(key)
    if not event_name.startswith("ObjectCreated:"):
        parsed.ignored.append((decoded, f"not an object creation ({event_name or 'no eventName'})"))
        return
    parsed.objects.append(
        UploadedObject(
            bucket=str(bucket),
            key=decoded,
            size=_int_or_none(obj.get("size")),
            etag=obj.get("eTag"),
            sequencer=obj.get("sequencer"),
            event_time=record.get("eventTime"),
            source="s3",
        )
    )


def _parse_eventbridge(event: dict[str, Any], parsed: ParsedEvent) -> None:
    detail = _mapping(event.get("detail"))
    bucket = _mapping(detail.get("bucket")).get("name")
    obj = _mapping(detail.get("object"))
    key = obj.get("key")
    if not bucket or not isinstance(key, str) or not key:
        parsed.malformed.append(
            {"reason": "detail without bucket name or object key", "event": event}
        )
        return
    decoded = unquote_plus(key)
    if event.get("detail-type") != "Object Created":
        parsed.ignored.append((decoded, f"not an object creation ({event.get('detail-type')})"))
        return
    parsed.objects.append(
        UploadedObject(
            bucket=str(bucket),
            key=decoded,
            size=_int_or_none(obj.get("size")),
            etag=obj.get("etag"),
            sequencer=obj.get("sequencer"),
            event_time=event.get("time"),
            source="eventbridge",
        )
    )


def batch_of(obj: UploadedObject, settings: Settings) -> tuple[Batch | None, str]:
    """The object's batch, or None and why the object is ignored.

    A batch's completion marker is ignored here: the workflow's gate looks for it in S3, and the
    batch's data files start the execution (a marker alone is a batch with no data).
    """
    prefix = settings.landing_prefix
    if not obj.key.startswith(prefix):
        return None, f"outside the landing prefix {prefix!r}"
    rest = obj.key[len(prefix) :]
    if not rest or obj.key.endswith("/"):
        return None, "a folder marker"
    if "/" in rest:
        batch_id = rest.split("/", 1)[0]
        if not batch_id:
            return None, "an empty batch folder name ('//')"
        if rest.rsplit("/", 1)[-1] == settings.completion_marker:
            return None, f"the completion marker of batch {batch_id} (the workflow checks it)"
        return Batch(obj.bucket, batch_id, f"{prefix}{batch_id}/", single_object=False), ""
    if rest == settings.completion_marker:
        return None, "a completion marker directly under the landing prefix (no batch folder)"
    return Batch(obj.bucket, rest, obj.key, single_object=True), ""


def execution_name(batch: Batch, *, suffix: str = "") -> str:
    """Deterministic, valid execution name of a batch: readable part plus a hash of its identity.

    The hash covers bucket and batch prefix exactly, so two batches that sanitise or truncate to
    the same text still get different names. ``suffix`` (valid characters only) is kept whole:
    reruns use it.
    """
    digest = hashlib.sha256(f"{batch.bucket}/{batch.batch_prefix}".encode()).hexdigest()
    readable = _NAME_UNSAFE.sub("-", batch.batch_id).strip("-_") or "batch"
    room = EXECUTION_NAME_MAX - _HASH_CHARS - 1 - len(suffix)
    return f"{readable[:room]}-{digest[:_HASH_CHARS]}{suffix}"


def workflow_input(
    batch: Batch, objects: list[UploadedObject], source: str, request_id: str
) -> dict[str, Any]:
    """The state machine's input for ``batch`` (the contract the workflow checks).

    ``trigger`` makes every invocation's input unique. Step Functions treats a start with the
    same name *and the same input* as a running execution as an idempotent success; with a unique
    input, a duplicate delivery always gets ``ExecutionAlreadyExists`` and is counted as one.
    (The SDK's own retries of one call send the same input and stay idempotent.)
    """
    return {
        "bucket": batch.bucket,
        "batch_id": batch.batch_id,
        "batch_prefix": batch.batch_prefix,
        "input_path": batch.input_path,
        "single_object": batch.single_object,
        "objects": [obj.describe() for obj in objects],
        "source": source,
        "trigger": {"request_id": request_id, "received_at": _now_iso()},
    }


class Metrics:
    """Counters of one invocation, written as one CloudWatch embedded-metric-format line."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.counts = dict.fromkeys(METRIC_NAMES, 0)

    def add(self, name: str, count: int = 1) -> None:
        self.counts[name] += count

    def flush(self) -> None:
        print(
            json.dumps(
                {
                    "_aws": {
                        "Timestamp": int(time.time() * 1000),
                        "CloudWatchMetrics": [
                            {
                                "Namespace": self._settings.metrics_namespace,
                                "Dimensions": [["Stage"]],
                                "Metrics": [
                                    {"Name": name, "Unit": "Count"} for name in METRIC_NAMES
                                ],
                            }
                        ],
                    },
                    "Stage": self._settings.stage,
                    **self.counts,
                }
            ),
            flush=True,
        )


class Log:
    """JSON lines on stdout (CloudWatch Logs), each with the request id and given fields."""

    def __init__(self, request_id: str) -> None:
        self._request_id = request_id

    def __call__(self, level: str, message: str, **fields: Any) -> None:
        line = {"level": level, "message": message, "aws_request_id": self._request_id, **fields}
        print(json.dumps(line, default=str), flush=True)


def sfn_client() -> Any:
    """The Step Functions client: standard retry mode (backoff with jitter on throttling)."""
    return boto3.client(
        "stepfunctions",
        config=Config(retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5),
    )


def start_batch_execution(
    client: Any,
    settings: Settings,
    batch: Batch,
    objects: list[UploadedObject],
    source: str,
    request_id: str,
) -> tuple[str, bool]:
    """Start the batch's execution; (name, True) if started, (name, False) if it already exists."""
    name = execution_name(batch)
    try:
        client.start_execution(
            stateMachineArn=settings.state_machine_arn,
            name=name,
            input=json.dumps(workflow_input(batch, objects, source, request_id)),
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return name, False
        raise
    return name, True


def handle_event(event: Any, request_id: str, settings: Settings, client: Any) -> dict[str, Any]:
    """The handler's logic: group the event's objects into batches and start each batch once."""
    log = Log(request_id)
    metrics = Metrics(settings)
    summary: dict[str, Any] = {
        "started": [],
        "duplicates": [],
        "ignored": 0,
        "malformed": 0,
        "failed": [],
    }
    try:
        parsed = parse_event(event)
        if parsed.test_event:
            log("INFO", "S3 test event (sent when the notification is configured); nothing to do")
            return summary
        for problem in parsed.malformed:
            log("ERROR", f"malformed event: {problem['reason']}", event=event)
        metrics.add("MalformedRecords", len(parsed.malformed))
        summary["malformed"] = len(parsed.malformed)
        for key, why in parsed.ignored:
            log("INFO", f"ignored {key}: {why}", key=key)
        ignored = len(parsed.ignored)

        batches: dict[Batch, list[UploadedObject]] = {}
        for obj in parsed.objects:
            batch, why = batch_of(obj, settings)
            if batch is None:
                log("INFO", f"ignored s3://{obj.bucket}/{obj.key}: {why}", key=obj.key)
                ignored += 1
                continue
            batches.setdefault(batch, []).append(obj)
        metrics.add("IgnoredObjects", ignored)
        summary["ignored"] = ignored

        for batch, objects in batches.items():
            _start(client, settings, batch, objects, request_id, log, metrics, summary)
    finally:
        metrics.flush()
    if summary["failed"]:
        raise BatchStartError(
            f"could not start {len(summary['failed'])} batch execution(s): "
            + "; ".join(f"{f['batch_id']} ({f['error']})" for f in summary["failed"])
        )
    return summary


def _start(
    client: Any,
    settings: Settings,
    batch: Batch,
    objects: list[UploadedObject],
    request_id: str,
    log: Log,
    metrics: Metrics,
    summary: dict[str, Any],
) -> None:
    fields = {
        "batch_id": batch.batch_id,
        "execution_name": execution_name(batch),
        "keys": [obj.key for obj in objects],
    }
    # A batch's objects in one event share its source; EventBridge and S3 never mix in an event.
    source = objects[0].source
    try:
        name, started = start_batch_execution(client, settings, batch, objects, source, request_id)
    except (ClientError, BotoCoreError) as error:
        log("ERROR", f"could not start the execution of batch {batch.batch_id}: {error}", **fields)
        metrics.add("StartFailures")
        summary["failed"].append({"batch_id": batch.batch_id, "error": str(error)})
        return
    if started:
        log("INFO", f"started the execution of batch {batch.batch_id}", **fields)
        metrics.add("ExecutionsStarted")
        summary["started"].append(name)
    else:
        log("INFO", f"batch {batch.batch_id} already has its execution: duplicate", **fields)
        metrics.add("DuplicateDeliveries", len(objects))
        summary["duplicates"].append(name)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (a malformed part reads as missing)."""
    return value if isinstance(value, dict) else {}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _load_settings() -> Settings:
    try:
        return Settings.from_environment(os.environ)
    except ConfigurationError as error:
        # Cold start fails with this line in the log and the exception in the Lambda error.
        print(json.dumps({"level": "ERROR", "message": str(error)}), file=sys.stdout, flush=True)
        raise


SETTINGS = _load_settings()
_CLIENT: Any = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point: start one workflow execution per batch named in the event."""
    global _CLIENT
    if _CLIENT is None:
        _CLIENT = sfn_client()
    request_id = getattr(context, "aws_request_id", "") or ""
    return handle_event(event, request_id, SETTINGS, _CLIENT)
