"""Trigger Lambda: turn each upload into work on its batch, never twice and never silently lost.

An upload under the landing prefix (``incoming/`` by default) belongs to a batch:

- ``incoming/<folder>/<file...>``: the folder is one batch (many files), id from the folder name;
- ``incoming/<file>``: a batch of its own, named as ``BATCH_ID_MODE`` says (by default the file
  name plus the UTC arrival date, so a fixed-name daily file is one batch per day).

Batch ids follow one rule (:mod:`batch_ids`). The first execution of a batch is named after the
bucket and the batch; when a batch already has one, the upload's object identity (version id,
sequencer, etag) and the latest attempt's progress decide (:mod:`attempts`): a second delivery
starts nothing, an upload before the Glue job started joins the batch, an upload while the job
runs is reported on the alert topic with the rerun command, and an upload after the latest
attempt ended starts ``<name>--attempt-<n>``, which replaces the batch's output.

Handled event forms: S3 event notifications (one or many ``Records``), EventBridge "Object
Created" events, and S3's ``s3:TestEvent`` (:mod:`s3_events`). Events for another bucket are
ignored and counted. Configuration comes from the environment, read once at cold start
(:class:`Settings`).

Runtime: the standard library and the Lambda runtime's boto3. Nothing here imports the CDK.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

try:  # imported as a package: tests, the local runner, the rerun CLI
    from lambdas.trigger import attempts
    from lambdas.trigger.batch_ids import (
        BATCH_ID_MODES,
        DEFAULT_BATCH_ID_MODE,
        batch_id_for,
        file_batch_name,
    )
    from lambdas.trigger.s3_events import (
        ParsedEvent,
        UploadedObject,
        object_identity,
        parse_event,
    )
except ModuleNotFoundError:  # the Lambda runtime loads handler.py from the asset's root
    import attempts  # type: ignore[no-redef]
    from batch_ids import (  # type: ignore[no-redef]
        BATCH_ID_MODES,
        DEFAULT_BATCH_ID_MODE,
        batch_id_for,
        file_batch_name,
    )
    from s3_events import (  # type: ignore[no-redef]
        ParsedEvent,
        UploadedObject,
        object_identity,
        parse_event,
    )

__all__ = ["ParsedEvent", "UploadedObject", "parse_event"]

# Step Functions execution names: 1-80 characters of letters, digits, '-' and '_'.
EXECUTION_NAME_MAX = 80
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_HASH_CHARS = 10
_STATE_MACHINE_ARN = re.compile(
    r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$"
)
METRIC_NAMES = (
    "ExecutionsStarted",
    "AttemptsStarted",
    "UploadsJoined",
    "UploadsWhileJobRuns",
    "DuplicateDeliveries",
    "IgnoredObjects",
    "MalformedRecords",
    "StartFailures",
)
# The objects listed in a workflow input, as JSON, stay under this many bytes: Step Functions
# refuses inputs over 256 KB, and the input travels on in every state and alert. One event of
# 1,000 records of one batch made 273 KB before this cap.
MAX_LISTED_OBJECTS_BYTES = 32 * 1024
# Another invocation may start the same next attempt at the same moment; look again this often.
_START_RACES = 3


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
    landing_bucket: str
    alert_topic_arn: str
    landing_prefix: str = "incoming/"
    completion_marker: str = "_SUCCESS"
    batch_id_mode: str = DEFAULT_BATCH_ID_MODE
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
        bucket = environ.get("LANDING_BUCKET", "").strip()
        if not bucket:
            raise ConfigurationError(
                "LANDING_BUCKET is not set: the trigger needs the landing bucket's name to "
                "ignore events of other buckets (the stack sets it)"
            )
        topic = environ.get("ALERT_TOPIC_ARN", "").strip()
        if not topic.startswith("arn:"):
            raise ConfigurationError(
                f"ALERT_TOPIC_ARN={topic!r} is not a topic ARN: the trigger reports uploads it "
                "cannot process to the alert topic (the stack sets it)"
            )
        mode = environ.get("BATCH_ID_MODE", cls.batch_id_mode).strip() or cls.batch_id_mode
        if mode not in BATCH_ID_MODES:
            raise ConfigurationError(
                f"BATCH_ID_MODE={mode!r} is not one of {', '.join(BATCH_ID_MODES)}"
            )
        prefix = environ.get("LANDING_PREFIX", cls.landing_prefix).strip().lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        marker = environ.get("COMPLETION_MARKER", cls.completion_marker).strip()
        if "/" in marker:
            raise ConfigurationError(f"COMPLETION_MARKER={marker!r} must be a file name, no '/'")
        return cls(
            state_machine_arn=arn,
            landing_bucket=bucket,
            alert_topic_arn=topic,
            landing_prefix=prefix,
            completion_marker=marker,
            batch_id_mode=mode,
            metrics_namespace=environ.get("METRICS_NAMESPACE", cls.metrics_namespace).strip()
            or cls.metrics_namespace,
            stage=environ.get("STAGE", cls.stage).strip() or cls.stage,
        )


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


def batch_of(obj: UploadedObject, settings: Settings) -> tuple[Batch | None, str]:
    """The object's batch, or None and why the object is ignored.

    A folder under the landing prefix is one batch whatever the mode; a file directly under it
    is named as ``settings.batch_id_mode`` says (from the event time, in UTC). A batch's
    completion marker is ignored here: the workflow's gate looks for it in S3, and the batch's
    data files start the execution (a marker alone is a batch with no data).
    """
    if obj.bucket != settings.landing_bucket:
        return None, f"an event of bucket {obj.bucket!r}, not the landing bucket"
    prefix = settings.landing_prefix
    if not obj.key.startswith(prefix):
        return None, f"outside the landing prefix {prefix!r}"
    rest = obj.key[len(prefix) :]
    if not rest or obj.key.endswith("/"):
        return None, "a folder marker"
    if "/" in rest:
        folder = rest.split("/", 1)[0]
        if not folder:
            return None, "an empty batch folder name ('//')"
        if rest.rsplit("/", 1)[-1] == settings.completion_marker:
            return None, f"the completion marker of batch {folder} (the workflow checks it)"
        return Batch(obj.bucket, batch_id_for(folder), f"{prefix}{folder}/", False), ""
    if rest == settings.completion_marker:
        return None, "a completion marker directly under the landing prefix (no batch folder)"
    # Without an event time (a malformed event), the invocation's time stands in.
    name = file_batch_name(rest, settings.batch_id_mode, obj.arrived or datetime.now(UTC))
    if name is None:
        return None, (
            "a file directly under the landing prefix, and trigger.batch_id_mode is 'folder' "
            "(only folders are batches): upload it into a batch folder"
        )
    return Batch(obj.bucket, batch_id_for(name), obj.key, single_object=True), ""


def execution_name(batch: Batch, *, suffix: str = "") -> str:
    """Deterministic, valid execution name of a batch: readable part plus a hash of its identity.

    The hash covers bucket, batch prefix and batch id exactly, so two batches that sanitise or
    truncate to the same text (or one file on two days) still get different names. ``suffix``
    (valid characters only) is kept whole: attempts and reruns use it.
    """
    identity = f"{batch.bucket}/{batch.batch_prefix}#{batch.batch_id}"
    digest = hashlib.sha256(identity.encode()).hexdigest()
    readable = _NAME_UNSAFE.sub("-", batch.batch_id).strip("-_") or "batch"
    room = EXECUTION_NAME_MAX - _HASH_CHARS - 1 - len(suffix)
    return f"{readable[:room]}-{digest[:_HASH_CHARS]}{suffix}"


def workflow_input(
    batch: Batch,
    objects: list[UploadedObject],
    source: str,
    request_id: str,
    *,
    attempt: int = 1,
    previous_attempt_arn: str | None = None,
) -> dict[str, Any]:
    """The state machine's input for ``batch`` (the contract the workflow checks).

    ``objects`` lists the uploads that started this attempt, capped at
    :data:`MAX_LISTED_OBJECTS_BYTES` of JSON (``objects_capped`` says so, ``object_count``
    counts them all); the job reads the whole batch either way. ``previous_attempt_arn`` makes
    the workflow wait until that execution has ended.

    ``trigger`` makes every invocation's input unique. Step Functions treats a start with the
    same name *and the same input* as a running execution as an idempotent success; with a unique
    input, a duplicate delivery always gets ``ExecutionAlreadyExists``.
    (The SDK's own retries of one call send the same input and stay idempotent.)
    """
    listed: list[dict[str, Any]] = []
    size = 2  # the brackets
    for obj in objects:
        described = obj.describe()
        size += len(json.dumps(described)) + 2  # the separator
        if size > MAX_LISTED_OBJECTS_BYTES:
            break
        listed.append(described)
    result: dict[str, Any] = {
        "bucket": batch.bucket,
        "batch_id": batch.batch_id,
        "batch_prefix": batch.batch_prefix,
        "input_path": batch.input_path,
        "single_object": batch.single_object,
        "objects": listed,
        "object_count": len(objects),
        "objects_capped": len(listed) < len(objects),
        "source": source,
        "attempt": attempt,
        "trigger": {"request_id": request_id, "received_at": _now_iso()},
    }
    if previous_attempt_arn is not None:
        result["previous_attempt_arn"] = previous_attempt_arn
    return result


def listed_identities(execution_input: dict[str, Any]) -> frozenset[str]:
    """Identities of the objects a workflow input lists."""
    objects = execution_input.get("objects")
    if not isinstance(objects, list):
        return frozenset()
    return frozenset(object_identity(obj) for obj in objects if isinstance(obj, dict))


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


def start_attempt(
    client: Any,
    settings: Settings,
    batch: Batch,
    objects: list[UploadedObject],
    request_id: str,
    *,
    attempt: int = 1,
    previous_attempt_arn: str | None = None,
) -> tuple[str, bool]:
    """Start attempt ``attempt`` of the batch; (name, True) if started, (name, False) if an
    execution of that name exists already."""
    name = execution_name(batch, suffix=attempts.attempt_suffix(attempt))
    execution_input = workflow_input(
        batch,
        objects,
        objects[0].source if objects else "rerun",
        request_id,
        attempt=attempt,
        previous_attempt_arn=previous_attempt_arn,
    )
    try:
        client.start_execution(
            stateMachineArn=settings.state_machine_arn, name=name, input=json.dumps(execution_input)
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            return name, False
        raise
    return name, True


def sns_client() -> Any:
    """The SNS client for uploads the trigger cannot process (standard retry mode)."""
    return boto3.client(
        "sns",
        config=Config(retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5),
    )


def handle_event(
    event: Any, request_id: str, settings: Settings, client: Any, alerts: Any = None
) -> dict[str, Any]:
    """The handler's logic: group the event's objects into batches and bring each batch's
    executions up to date with them (first attempt, nothing, a new attempt, or an alert).

    ``client`` is the Step Functions client, ``alerts`` the SNS client (created when needed).
    """
    log = Log(request_id)
    metrics = Metrics(settings)
    summary: dict[str, Any] = {
        "started": [],
        "duplicates": [],
        "joined": [],
        "reported": [],
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
                # Other buckets and stray top-level files in folder mode are worth a look.
                level = "INFO" if obj.bucket == settings.landing_bucket else "WARNING"
                if "batch_id_mode" in why:
                    level = "WARNING"
                log(level, f"ignored s3://{obj.bucket}/{obj.key}: {why}", key=obj.key)
                ignored += 1
                continue
            batches.setdefault(batch, []).append(obj)
        metrics.add("IgnoredObjects", ignored)
        summary["ignored"] = ignored

        for batch, objects in batches.items():
            try:
                _bring_up_to_date(
                    client, alerts, settings, batch, objects, request_id, log, metrics, summary
                )
            except (ClientError, BotoCoreError) as error:
                log(
                    "ERROR",
                    f"could not start the execution of batch {batch.batch_id}: {error}",
                    batch_id=batch.batch_id,
                    execution_name=execution_name(batch),
                    keys=[obj.key for obj in objects],
                )
                metrics.add("StartFailures")
                summary["failed"].append({"batch_id": batch.batch_id, "error": str(error)})
    finally:
        metrics.flush()
    if summary["failed"]:
        raise BatchStartError(
            f"could not start {len(summary['failed'])} batch execution(s): "
            + "; ".join(f"{f['batch_id']} ({f['error']})" for f in summary["failed"])
        )
    return summary


def _bring_up_to_date(
    client: Any,
    alerts: Any,
    settings: Settings,
    batch: Batch,
    objects: list[UploadedObject],
    request_id: str,
    log: Log,
    metrics: Metrics,
    summary: dict[str, Any],
) -> None:
    """Start the batch's first attempt, or decide per object against its latest attempt."""
    keys = [obj.key for obj in objects]
    name, started = start_attempt(client, settings, batch, objects, request_id)
    if started:
        log(
            "INFO",
            f"started the execution of batch {batch.batch_id}",
            batch_id=batch.batch_id,
            execution_name=name,
            keys=keys,
        )
        metrics.add("ExecutionsStarted")
        summary["started"].append(name)
        return

    def name_of(number: int) -> str:
        return execution_name(batch, suffix=attempts.attempt_suffix(number))

    for _ in range(_START_RACES):
        latest = attempts.latest_attempt(
            client,
            settings.state_machine_arn,
            name_of,
            lambda execution_input: listed_identities(execution_input),
        )
        if latest is None:  # the first attempt existed a moment ago: it cannot vanish
            raise BatchStartError(f"batch {batch.batch_id}: execution {name} disappeared")
        verdicts = {
            obj.identity: attempts.classify(obj.identity, obj.arrived_by, latest) for obj in objects
        }
        fresh = [obj for obj in objects if verdicts[obj.identity] == attempts.NEW_ATTEMPT]
        if fresh:
            next_name, started = start_attempt(
                client,
                settings,
                batch,
                fresh,
                request_id,
                attempt=latest.number + 1,
                previous_attempt_arn=latest.arn,
            )
            if not started:
                continue  # another invocation started it meanwhile: decide against that one
            log(
                "INFO",
                f"started attempt {latest.number + 1} of batch {batch.batch_id}: "
                f"{len(fresh)} upload(s) not read by attempt {latest.number} "
                f"({latest.status}); it waits for that attempt to end, then replaces the "
                "batch's output",
                batch_id=batch.batch_id,
                execution_name=next_name,
                previous_execution=latest.name,
                keys=[obj.key for obj in fresh],
            )
            metrics.add("AttemptsStarted")
            summary["started"].append(next_name)
        running = [obj for obj in objects if verdicts[obj.identity] == attempts.WHILE_JOB_RUNS]
        if running:
            report_uploads_while_job_runs(
                alerts or sns_client(), settings, batch, running, latest, log
            )
            metrics.add("UploadsWhileJobRuns", len(running))
            summary["reported"].append(latest.name)
        _record_the_rest(batch, objects, verdicts, latest, log, metrics, summary)
        return
    raise BatchStartError(
        f"batch {batch.batch_id}: the next attempt kept being started by other invocations"
    )


def rerun_command(settings: Settings, batch: Batch) -> str:
    """The ``make rerun`` line that reprocesses ``batch`` as it is in the landing bucket now."""
    return (
        f"make rerun STAGE={shlex.quote(settings.stage)} BATCH={shlex.quote(batch.batch_id)} "
        f"PREFIX={shlex.quote(batch.batch_prefix)}"
    )


def report_uploads_while_job_runs(
    alerts: Any,
    settings: Settings,
    batch: Batch,
    objects: list[UploadedObject],
    latest: attempts.Attempt,
    log: Log,
) -> None:
    """One alert: these uploads arrived while the batch's Glue job runs and are not in its output.

    A second run started now would race the running one's commit, so nothing starts by itself;
    the alert says how to process them once the run has ended.
    """
    keys = [obj.key for obj in objects]
    command = rerun_command(settings, batch)
    summary = (
        f"ETL batch {batch.batch_id}: {len(keys)} upload(s) arrived while its Glue job was "
        f"running (execution {latest.name}) and are not in that run's output: "
        f"{', '.join(keys[:5])}{' …' if len(keys) > 5 else ''}. Once the execution has ended, "
        f"run: {command} (or upload the files again)."
    )
    message = {
        "summary": summary,
        "batch_id": batch.batch_id,
        "keys": keys[:100],
        "key_count": len(keys),
        "running_execution": latest.name,
        "execution_arn": latest.arn,
        "rerun_command": command,
    }
    alerts.publish(
        TopicArn=settings.alert_topic_arn,
        Subject=f"ETL batch upload not processed: job running ({settings.stage})"[:100],
        Message=json.dumps(message),
    )
    log(
        "WARNING",
        summary,
        batch_id=batch.batch_id,
        execution_name=latest.name,
        keys=keys,
        rerun_command=command,
    )


def _record_the_rest(
    batch: Batch,
    objects: list[UploadedObject],
    verdicts: dict[str, str],
    latest: attempts.Attempt,
    log: Log,
    metrics: Metrics,
    summary: dict[str, Any],
) -> None:
    """Log and count the uploads that needed no new attempt."""
    why = {
        attempts.DUPLICATE: "a second delivery of an upload it lists: duplicate",
        attempts.ALREADY_READ: "created before its Glue job started, which read it: duplicate",
        attempts.JOINED: "its Glue job has not started: the upload joins the batch",
    }
    for verdict, reason in why.items():
        keys = [obj.key for obj in objects if verdicts[obj.identity] == verdict]
        if not keys:
            continue
        log(
            "INFO",
            f"batch {batch.batch_id}, attempt {latest.number} ({latest.status}): {reason}",
            batch_id=batch.batch_id,
            execution_name=latest.name,
            keys=keys,
        )
        if verdict == attempts.JOINED:
            metrics.add("UploadsJoined", len(keys))
            summary["joined"].append(latest.name)
        else:
            metrics.add("DuplicateDeliveries", len(keys))
            summary["duplicates"].append(latest.name)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _load_settings() -> Settings:
    try:
        return Settings.from_environment(os.environ)
    except ConfigurationError as error:
        # Cold start fails with this line in the log and the exception in the Lambda error.
        print(json.dumps({"level": "ERROR", "message": str(error)}), file=sys.stdout, flush=True)
        raise


SETTINGS = _load_settings()
_CLIENT: Any = None
_ALERTS: Any = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Entry point: start, or leave be, the executions of the batches named in the event."""
    global _CLIENT, _ALERTS
    if _CLIENT is None:
        _CLIENT = sfn_client()
    if _ALERTS is None:
        _ALERTS = sns_client()
    request_id = getattr(context, "aws_request_id", "") or ""
    return handle_event(event, request_id, SETTINGS, _CLIENT, _ALERTS)
