"""The deployed pipeline, played on one machine with the same pieces that run on AWS.

:class:`LocalPipeline` synthesizes the ``local`` stage of the real app, creates in moto what the
template would create (landing bucket, alert topic, Glue job with the template's default
arguments, Glue database, the state machine from the synthesized definition) and then, per
batch: uploads the files to the landing bucket, hands each upload's EventBridge event (checked
against the template's rule) to the real trigger handler, follows the execution the handler
started, and lets moto's Glue run the real job script on local folders standing in for the
buckets. Nothing of the workflow's logic is re-implemented here.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import time
from collections import deque
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any
from unittest import mock

import boto3

from etl_local.events import event_for_version, matches
from etl_local.glue_runner import BucketFolders, JobScript, LocalGlueJob
from etl_local.inputs import Batch
from etl_local.offline_aws import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_REGION,
    Alert,
    AlertInbox,
    create_state_machine,
    definition_from_template,
    executing_aws,
    glue_job_runs,
    resolve_intrinsics,
    wait_for_execution,
)
from etl_local.progress import Progress
from etl_local.synth import SynthesizedStack
from join_job.pipeline_config import PipelineConfig

LANDING_BUCKET = "etl-local-landing"
REFERENCE_BUCKET = "etl-local-reference"
CURATED_BUCKET = "etl-local-curated"
TOPIC_NAME = "etl-local-alerts"
GLUE_JOB_NAME = "etl-local-join-job"
STATE_MACHINE_NAME = "etl-local-workflow"
TRIGGER_FUNCTION_NAME = "etl-local-trigger"
TRIGGER_HANDLER = "handler.lambda_handler"
# The storage construct's buckets, by the start of their (pinned) logical ids.
_BUCKET_IDS = {
    "StorageLandingBucket": LANDING_BUCKET,
    "StorageReferenceBucket": REFERENCE_BUCKET,
    "StorageCuratedBucket": CURATED_BUCKET,
}


class LocalRunError(RuntimeError):
    """The local run could not follow the pipeline (not a pipeline failure: those are results)."""


@dataclass
class BatchResult:
    """What happened to one batch: the execution's end, alerts, report and time per step."""

    batch_id: str
    status: str
    execution_name: str
    states: list[str]
    alerts: list[Alert]
    report: dict[str, Any] | None
    output_dir: Path
    alerts_file: Path
    error: str | None = None
    cause: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    def failure_text(self) -> str:
        """The notification people would get, or the execution's error when none was sent."""
        if self.alerts:
            return "\n\n".join(_alert_text(alert) for alert in self.alerts if _is_failure(alert))
        return f"{self.error or 'execution ' + self.status}: {self.cause or ''}".strip()


class LocalPipeline:
    """Context manager: the pipeline in moto for the duration of the ``with`` block."""

    def __init__(
        self,
        *,
        stack: SynthesizedStack,
        config: PipelineConfig,
        reference_dir: Path,
        output_dir: Path,
        landing_dir: Path,
        script: JobScript,
        progress: Progress,
        execution_timeout_seconds: float = 600.0,
    ) -> None:
        self._stack = stack
        self._config = config
        self._output_dir = output_dir
        self._landing_dir = landing_dir
        self._progress = progress
        self._timeout = execution_timeout_seconds
        self._exit = ExitStack()
        self._s3: Any = None
        self._sfn: Any = None
        self._inbox: AlertInbox | None = None
        self._handler_module: ModuleType | None = None
        self._sequencer = 0
        self.state_machine_arn = ""
        # The Glue hook runs in moto's execution thread, ahead of the history poll: its lines
        # wait here, stamped, and are printed in time order among the states.
        self._glue_progress: deque[tuple[datetime, str, str]] = deque()
        self.glue = LocalGlueJob(
            folders=BucketFolders(
                {
                    LANDING_BUCKET: landing_dir,
                    REFERENCE_BUCKET: reference_dir,
                    CURATED_BUCKET: output_dir,
                }
            ),
            landing_bucket=LANDING_BUCKET,
            script=script,
            on_progress=self._queue_glue_progress,
        )

    # -- setting up what CloudFormation would create -----------------------------------------

    def __enter__(self) -> LocalPipeline:
        try:
            # Lambda and Glue set the region in their environment; so does this stand-in.
            region = {"AWS_REGION": DEFAULT_REGION, "AWS_DEFAULT_REGION": DEFAULT_REGION}
            self._exit.enter_context(mock.patch.dict(os.environ, region))
            self._exit.enter_context(executing_aws())
            self._exit.enter_context(glue_job_runs(self.glue))
            self._create_resources()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._exit.close()

    def _create_resources(self) -> None:
        template = self._stack.template
        self._s3 = boto3.client("s3", region_name=DEFAULT_REGION)
        self._sfn = boto3.client("stepfunctions", region_name=DEFAULT_REGION)
        for bucket in (LANDING_BUCKET, REFERENCE_BUCKET, CURATED_BUCKET):
            self._s3.create_bucket(Bucket=bucket)
        # Versioned, as the storage construct makes it: events carry each upload's version id.
        self._s3.put_bucket_versioning(
            Bucket=LANDING_BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        topic_arn: str = boto3.client("sns", region_name=DEFAULT_REGION).create_topic(
            Name=TOPIC_NAME
        )["TopicArn"]
        self._inbox = AlertInbox(topic_arn)

        substitutions = self._bucket_substitutions()
        topic_id, _ = self._stack.only("AWS::SNS::Topic")
        job_id, job = self._stack.only("AWS::Glue::Job")
        substitutions.update({topic_id: topic_arn, job_id: GLUE_JOB_NAME})
        self._create_glue_job(job["Properties"], substitutions)

        definition = definition_from_template(template, substitutions)
        self.state_machine_arn = create_state_machine(definition, name=STATE_MACHINE_NAME)
        machine_id, _ = self._stack.only("AWS::StepFunctions::StateMachine")
        substitutions[machine_id] = self.state_machine_arn
        self._trigger_env = self._trigger_environment(substitutions)
        self._rule_pattern = self._trigger_rule_pattern()
        self._progress.step(
            "deploy",
            f"{self._stack.name} in moto: state machine with {len(definition['States'])} states, "
            f"Glue job, alert topic, buckets {LANDING_BUCKET}, {CURATED_BUCKET}",
        )

    def _bucket_substitutions(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for logical_id in self._stack.resources_of_type("AWS::S3::Bucket"):
            for prefix, name in _BUCKET_IDS.items():
                if logical_id.startswith(prefix):
                    found[logical_id] = name
        if len(found) != len(_BUCKET_IDS):
            raise LocalRunError(
                f"expected the buckets {', '.join(_BUCKET_IDS)} in the template, "
                f"found {', '.join(sorted(found)) or 'none'}"
            )
        return found

    def _create_glue_job(
        self, properties: Mapping[str, Any], substitutions: dict[str, str]
    ) -> None:
        glue = boto3.client("glue", region_name=DEFAULT_REGION)
        resolved = resolve_intrinsics(
            {
                "Command": properties["Command"],
                "DefaultArguments": properties.get("DefaultArguments", {}),
            },
            substitutions,
        )
        database = resolved["DefaultArguments"].get("--catalog_database")
        if database:
            glue.create_database(DatabaseInput={"Name": database})
        glue.create_job(
            Name=GLUE_JOB_NAME,
            Role=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/etl-local-glue",
            Command=resolved["Command"],
            DefaultArguments=resolved["DefaultArguments"],
            GlueVersion=properties.get("GlueVersion", "5.0"),
            ExecutionProperty=properties.get("ExecutionProperty", {"MaxConcurrentRuns": 1}),
            # The run reports them as GetJobRun does; the success alert quotes them.
            WorkerType=properties["WorkerType"],
            NumberOfWorkers=properties["NumberOfWorkers"],
        )

    def _trigger_function(self) -> tuple[str, Mapping[str, Any]]:
        functions = [
            (logical_id, resource)
            for logical_id, resource in self._stack.resources_of_type(
                "AWS::Lambda::Function"
            ).items()
            if resource["Properties"].get("Handler") == TRIGGER_HANDLER
        ]
        if len(functions) != 1:
            raise LocalRunError(
                f"expected one Lambda function with handler {TRIGGER_HANDLER}, "
                f"found {len(functions)}"
            )
        return functions[0]

    def _trigger_environment(self, substitutions: Mapping[str, str]) -> dict[str, str]:
        _, function = self._trigger_function()
        variables = function["Properties"].get("Environment", {}).get("Variables", {})
        resolved: dict[str, str] = resolve_intrinsics(variables, substitutions)
        return resolved

    def _trigger_rule_pattern(self) -> Mapping[str, Any]:
        function_id, _ = self._trigger_function()
        rules = [
            rule["Properties"]["EventPattern"]
            for rule in self._stack.resources_of_type("AWS::Events::Rule").values()
            if any(
                target.get("Arn") == {"Fn::GetAtt": [function_id, "Arn"]}
                for target in rule["Properties"].get("Targets", [])
            )
        ]
        if len(rules) != 1:
            raise LocalRunError(
                f"expected one EventBridge rule targeting the trigger, found {len(rules)}"
            )
        pattern: Mapping[str, Any] = resolve_intrinsics(rules[0], self._bucket_substitutions())
        return pattern

    # -- one batch -------------------------------------------------------------------------

    def run(
        self,
        batch: Batch,
        *,
        completion_marker: bool = True,
        arrival_time: datetime | None = None,
    ) -> BatchResult:
        """Upload ``batch``, trigger, follow the execution to its end; the result either way.

        ``arrival_time`` is the upload time the events carry (default: now); the trigger names
        a single-file batch from it (``orders.csv-2026-11-28`` by default).
        """
        seconds: dict[str, float] = {}
        before = self._execution_arns()
        keys = self._upload(batch, completion_marker=completion_marker, seconds=seconds)
        self._trigger(keys, seconds=seconds, arrival_time=arrival_time)
        started = self._execution_arns() - before
        if len(started) != 1:
            raise LocalRunError(
                f"the trigger started {len(started)} executions for batch {batch.batch_id} "
                "(expected exactly one); see the trigger log above"
            )
        execution_arn = started.pop()
        execution_name = execution_arn.rsplit(":", 1)[-1]
        # The trigger names the batch (a single file: file name + arrival date by default).
        described = self._sfn.describe_execution(executionArn=execution_arn)
        batch_id = str(json.loads(described["input"])["batch_id"])
        self._progress.step("workflow", f"execution {execution_name}")
        glue_runs_before = len(self.glue.runs)
        clock = time.monotonic()
        result = wait_for_execution(
            execution_arn,
            timeout_seconds=self._timeout,
            on_event=self._show_state,
            on_poll=self._show_glue_progress,
        )
        self._show_glue_progress(datetime.now(UTC))
        seconds["workflow"] = time.monotonic() - clock
        new_runs = self.glue.runs[glue_runs_before:]
        seconds["glue"] = sum(run.seconds for run in new_runs)
        seconds["gate"] = _gate_seconds(result.events)
        alerts = self._new_alerts()
        alerts_file = self._write_alerts(batch_id, alerts)
        for alert in alerts:
            self._progress.step("alert", alert.subject)
        self._progress.step(
            "workflow", f"{result.status} ({', '.join(result.states_entered()[-3:])})"
        )
        return BatchResult(
            batch_id=batch_id,
            status=result.status,
            execution_name=execution_name,
            states=result.states_entered(),
            alerts=alerts,
            report=self._read_report(batch_id),
            output_dir=self._output_dir,
            alerts_file=alerts_file,
            error=result.error,
            cause=result.cause,
            seconds=seconds,
        )

    def _upload(
        self, batch: Batch, *, completion_marker: bool, seconds: dict[str, float]
    ) -> list[str]:
        clock = time.monotonic()
        prefix = self._trigger_env.get("LANDING_PREFIX", "incoming/")
        batch_prefix = prefix if batch.single_object else f"{prefix}{batch.batch_id}/"
        keys = []
        total = 0
        for path, relative in batch.files:
            key = f"{batch_prefix}{relative}"
            self._s3.upload_file(str(path), LANDING_BUCKET, key)
            keys.append(key)
            total += path.stat().st_size
        if completion_marker and not batch.single_object:
            marker = f"{batch_prefix}{self._trigger_env.get('COMPLETION_MARKER', '_SUCCESS')}"
            self._s3.put_object(Bucket=LANDING_BUCKET, Key=marker, Body=b"")
            keys.append(marker)
        seconds["upload"] = time.monotonic() - clock
        self._progress.step(
            "upload",
            f"{len(batch.files)} file(s), {_size(total)} to s3://{LANDING_BUCKET}/{batch_prefix}"
            + (" + completion marker" if completion_marker and not batch.single_object else ""),
        )
        return keys

    def _trigger(
        self, keys: list[str], *, seconds: dict[str, float], arrival_time: datetime | None
    ) -> None:
        """One EventBridge event per upload, delivered to the real handler as the rule would."""
        clock = time.monotonic()
        handler = self._handler()
        log = io.StringIO()
        delivered = 0
        for key in keys:
            head = self._s3.head_object(Bucket=LANDING_BUCKET, Key=key)
            self._sequencer += 1
            event = event_for_version(
                bucket=LANDING_BUCKET,
                key=key,
                head=head,
                sequencer=f"{self._sequencer:016X}",
                account_id=DEFAULT_ACCOUNT_ID,
                region=DEFAULT_REGION,
                time=arrival_time,
            )
            if not matches(self._rule_pattern, event):
                continue  # the rule would not deliver it
            delivered += 1
            with contextlib.redirect_stdout(log), mock.patch.dict(os.environ, self._trigger_env):
                try:
                    handler.lambda_handler(event, _LambdaContext())
                except Exception as error:
                    self._progress.text(log.getvalue())
                    raise LocalRunError(
                        f"the trigger handler failed on {key}: {error} (on AWS the event would "
                        "be retried, then kept in the dead-letter queue)"
                    ) from error
        seconds["trigger"] = time.monotonic() - clock
        lines = [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]
        counted = _emf_counts(lines)
        self._progress.step(
            "trigger",
            f"{delivered} event(s) to the handler: "
            + ", ".join(f"{name} {count}" for name, count in counted.items()),
        )

    def _handler(self) -> ModuleType:
        """The trigger handler module, imported with the function's environment (cold start)."""
        with mock.patch.dict(os.environ, self._trigger_env):
            if self._handler_module is None:
                name = "lambdas.trigger.handler"
                module = sys.modules.get(name)
                # Reload: the module reads its environment and creates its client at import.
                self._handler_module = (
                    importlib.reload(module) if module else importlib.import_module(name)
                )
        return self._handler_module

    def _queue_glue_progress(self, kind: str, message: str) -> None:
        self._glue_progress.append((datetime.now(UTC), kind, message))

    def _show_glue_progress(self, before: datetime) -> None:
        while self._glue_progress and self._glue_progress[0][0] < before:
            _, kind, message = self._glue_progress.popleft()
            self._progress.step(kind, message)

    def _show_state(self, event: dict[str, Any]) -> None:
        self._show_glue_progress(event["timestamp"])
        details = event.get("stateEnteredEventDetails")
        if details:
            self._progress.step("state", details["name"])

    def _execution_arns(self) -> set[str]:
        arns: set[str] = set()
        paginator = self._sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.state_machine_arn):
            arns.update(item["executionArn"] for item in page["executions"])
        return arns

    def _new_alerts(self) -> list[Alert]:
        assert self._inbox is not None
        seen = getattr(self, "_alerts_seen", 0)
        alerts = self._inbox.alerts()
        self._alerts_seen = len(alerts)
        return alerts[seen:]

    def _write_alerts(self, batch_id: str, alerts: list[Alert]) -> Path:
        path = self._output_dir / "_alerts" / self._config.dataset / f"{batch_id}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for alert in alerts:
                handle.write(
                    json.dumps({"subject": alert.subject, "message": alert.message}) + "\n"
                )
        return path

    def _read_report(self, batch_id: str) -> dict[str, Any] | None:
        path = self._output_dir / "_reports" / self._config.dataset / f"{batch_id}.json"
        if not path.is_file():
            return None
        report: dict[str, Any] = json.loads(path.read_text())
        return report


class _LambdaContext:
    """The attributes of Lambda's context object the handler may read."""

    function_name = TRIGGER_FUNCTION_NAME
    function_version = "$LATEST"
    invoked_function_arn = (
        f"arn:aws:lambda:{DEFAULT_REGION}:{DEFAULT_ACCOUNT_ID}:function:{TRIGGER_FUNCTION_NAME}"
    )
    memory_limit_in_mb = 256
    log_group_name = f"/aws/lambda/{TRIGGER_FUNCTION_NAME}"
    log_stream_name = "local"

    def __init__(self) -> None:
        self.aws_request_id = f"local-{time.time_ns()}"
        self._deadline = time.monotonic() + 60

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _emf_counts(lines: list[dict[str, Any]]) -> dict[str, int]:
    """Sum of each metric in the handler's embedded-metric-format lines."""
    counts: dict[str, int] = {}
    for line in lines:
        directives = line.get("_aws", {}).get("CloudWatchMetrics", [])
        for directive in directives:
            for metric in directive.get("Metrics", []):
                name = metric["Name"]
                value = line.get(name, 0)
                counts[name] = counts.get(name, 0) + int(
                    sum(value) if isinstance(value, list) else value
                )
    return {name: count for name, count in counts.items() if count}


def _gate_seconds(events: tuple[dict[str, Any], ...]) -> float:
    """Seconds from the execution's start to entering RunGlueJob (the upload-completion gate)."""
    start: datetime | None = None
    for event in events:
        if event.get("type") == "ExecutionStarted":
            start = event["timestamp"]
        details = event.get("stateEnteredEventDetails")
        if start is not None and details and details["name"] == "RunGlueJob":
            return float((event["timestamp"] - start).total_seconds())
    return 0.0


def _alert_text(alert: Alert) -> str:
    try:
        body = json.dumps(alert.payload(), indent=2)
    except ValueError:
        body = alert.message
    return f"{alert.subject}\n{body}"


def _is_failure(alert: Alert) -> bool:
    return "FAILED" in alert.subject.upper()


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
