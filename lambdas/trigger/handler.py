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

import json
import os
import shlex
import sys
import time
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

try:  # imported as a package: tests, the local runner, the rerun CLI
    from lambdas.trigger import attempts
    from lambdas.trigger.batches import (
        Batch,
        batch_of,
        execution_name,
        listed_identities,
        workflow_input,
    )
    from lambdas.trigger.s3_events import ParsedEvent, UploadedObject, parse_event
    from lambdas.trigger.settings import ConfigurationError, Settings
except ModuleNotFoundError:  # the Lambda runtime loads handler.py from the asset's root
    import attempts  # type: ignore[no-redef]
    from batches import (  # type: ignore[no-redef]
        Batch,
        batch_of,
        execution_name,
        listed_identities,
        workflow_input,
    )
    from s3_events import ParsedEvent, UploadedObject, parse_event  # type: ignore[no-redef]
    from settings import ConfigurationError, Settings  # type: ignore[no-redef]

# What tests, the local runner and the rerun CLI use from here.
__all__ = [
    "Batch",
    "ConfigurationError",
    "ParsedEvent",
    "Settings",
    "UploadedObject",
    "batch_of",
    "execution_name",
    "parse_event",
    "workflow_input",
]

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
# Another invocation may start the same next attempt at the same moment; look again this often.
_START_RACES = 3


class BatchStartError(RuntimeError):
    """Step Functions refused to start one or more batches after the SDK's retries.

    Raised after every record of the event was attempted, so Lambda retries the event and, in
    the end, keeps it in the on-failure destination.
    """


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
            listed_identities,
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
