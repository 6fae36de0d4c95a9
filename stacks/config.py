"""Typed per-stage settings, validated once and passed down to every construct.

``app.py`` reads CDK context (the ``stages`` map in cdk.json and the pipeline config path) and calls
:func:`load_stage_config`; nothing below it reads context or the environment. Every field has a
default, so a stage in cdk.json only lists what it changes. Bad values fail synth with one message
that names the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from join_job.pipeline_config import PipelineConfig, PipelineConfigError, load_pipeline_config

RemovalChoice = Literal["retain", "destroy"]
ExecutionClass = Literal["STANDARD", "FLEX"]

# Glue 5.0 worker types. FLEX runs only on G.1X and G.2X.
GLUE_WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
FLEX_WORKER_TYPES = ("G.1X", "G.2X")
# The values CloudWatch Logs accepts for a retention period.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,15}$")
# trigger.batch_id_mode values; the trigger's own list (lambdas/trigger/batch_ids.py) must match,
# which tests/infra/test_config.py checks (infra does not import runtime code).
BATCH_ID_MODES = ("folder", "file", "arrival_date", "file_arrival_date", "file_arrival_time")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$")
# Domains that never receive mail (RFC 2606 / RFC 6761): an alert address on one is a placeholder.
_UNDELIVERABLE_DOMAIN = re.compile(
    r"(^|\.)(example\.(com|net|org)|example|invalid|test|localhost)$", re.IGNORECASE
)
# A FLEX run may wait for capacity before it starts: Glue holds it WAITING for up to about 20
# minutes ("Glue job run statuses", Spark jobs (Flex)).
FLEX_START_WAIT_MINUTES = 20


class StageConfigError(ValueError):
    """A stage setting is invalid; the message names the field at fault."""


@dataclass(frozen=True)
class GlueSettings:
    """Capacity and limits of the Glue job run."""

    worker_type: str = "G.1X"
    number_of_workers: int = 2
    timeout_minutes: int = 60
    max_concurrent_runs: int = 3
    execution_class: ExecutionClass = "STANDARD"
    # Glue auto scaling: number_of_workers becomes the maximum and a run is billed for the
    # workers it used, so a small batch on a large stage costs a fraction (README, Costs).
    auto_scaling: bool = True


@dataclass(frozen=True)
class WorkflowSettings:
    """Timing of the upload-completion gate, the Glue task and the whole execution."""

    settle_seconds: int = 60
    poll_interval_seconds: int = 60
    max_wait_minutes: int = 60
    glue_task_timeout_minutes: int = 90
    execution_timeout_minutes: int = 240
    # How long a run may wait in Glue's job run queue (JobRunQueuingEnabled) before it starts,
    # when more batches arrive than glue.max_concurrent_runs. The Glue task's timeout covers it.
    glue_queue_minutes: int = 30
    glue_retry_attempts: int = 4
    glue_retry_interval_seconds: int = 30
    notify_on_success: bool = False
    # Replaces max_wait_minutes when set: local runs and tests gate batches within seconds.
    max_wait_seconds: int | None = None

    @property
    def gate_max_wait_seconds(self) -> int:
        """How long the upload-completion gate waits for a batch to complete, in seconds."""
        if self.max_wait_seconds is not None:
            return self.max_wait_seconds
        return self.max_wait_minutes * 60


@dataclass(frozen=True)
class TriggerSettings:
    """Where uploads land and how the trigger Lambda runs."""

    landing_prefix: str = "incoming/"
    completion_marker: str = "_SUCCESS"
    # How a file uploaded directly under the landing prefix is named as a batch (folders are
    # always batches named after the folder). The default keeps a fixed-name daily file
    # (incoming/orders.csv every day) one batch per day: orders.csv-2026-11-28.
    batch_id_mode: str = "file_arrival_date"
    # None: no reservation. Lambda keeps at least 100 executions of the account's concurrency
    # unreserved, so any reservation fails the deploy on accounts whose limit is below 100 plus
    # the reservation; new accounts start far below 1,000. No stage reserves by default.
    reserved_concurrency: int | None = None
    max_event_age_minutes: int = 360
    retry_attempts: int = 2


@dataclass(frozen=True)
class StageConfig:
    """Everything one stage's EtlStack needs."""

    stage: str
    pipeline: PipelineConfig
    notification_email: str | None = None
    # A stage people rely on (prod) must name a real address: synth fails without one.
    notification_email_required: bool = False
    removal_policy: RemovalChoice = "destroy"
    log_retention_days: int = 30
    metrics_namespace: str = "EtlPipeline"
    glue: GlueSettings = field(default_factory=GlueSettings)
    workflow: WorkflowSettings = field(default_factory=WorkflowSettings)
    trigger: TriggerSettings = field(default_factory=TriggerSettings)

    @property
    def is_retained(self) -> bool:
        """Whether stateful resources outlive the stack (prod)."""
        return self.removal_policy == "retain"


_Settings = TypeVar("_Settings", GlueSettings, WorkflowSettings, TriggerSettings)


def load_stage_config(
    stage: str,
    stages: Mapping[str, Any],
    pipeline_config_path: Path,
    *,
    synth_only_email: str | None = None,
) -> StageConfig:
    """Build and validate the settings of ``stage`` from the cdk.json ``stages`` map.

    ``synth_only_email`` (context ``synth_only_notification_email``) stands in for the address
    of a stage that requires one and names none, so ``make synth`` and the tests build every
    stage on a fresh clone; see :func:`parse_stage_config`.
    """
    if stage not in stages:
        raise StageConfigError(
            f"stage {stage!r} is not defined in cdk.json context 'stages' "
            f"(defined: {', '.join(sorted(stages)) or 'none'})"
        )
    try:
        pipeline = load_pipeline_config(pipeline_config_path)
    except PipelineConfigError as error:
        raise StageConfigError(f"pipeline config {pipeline_config_path}: {error}") from error
    return parse_stage_config(stage, stages[stage], pipeline, synth_only_email=synth_only_email)


def parse_stage_config(
    stage: str, raw: object, pipeline: PipelineConfig, *, synth_only_email: str | None = None
) -> StageConfig:
    """Validate one stage's raw settings (a dict from cdk.json) against the rules below.

    A stage with ``notification_email_required`` and no address fails, unless
    ``synth_only_email`` is given: an address on the ``.invalid`` domain, which never receives
    mail, so a template built with it is plainly not one to deploy.
    """
    where = f"stages.{stage}"
    if not _STAGE.match(stage):
        raise StageConfigError(f"{where}: stage name must match {_STAGE.pattern}")
    if not isinstance(raw, Mapping):
        raise StageConfigError(f"{where} must be an object")
    settings = dict(raw)
    _reject_unknown(settings, {f.name for f in fields(StageConfig)} - {"stage", "pipeline"}, where)
    config = StageConfig(
        stage=stage,
        pipeline=pipeline,
        glue=_build(GlueSettings, settings.pop("glue", {}), f"{where}.glue"),
        workflow=_build(WorkflowSettings, settings.pop("workflow", {}), f"{where}.workflow"),
        trigger=_build(TriggerSettings, settings.pop("trigger", {}), f"{where}.trigger"),
        **settings,
    )
    _validate(config, where)
    return _with_required_email(config, where, synth_only_email)


def _with_required_email(
    config: StageConfig, where: str, synth_only_email: str | None
) -> StageConfig:
    if not config.notification_email_required or config.notification_email is not None:
        return config
    if synth_only_email is None:
        raise StageConfigError(
            f"{where}.notification_email: stage {config.stage!r} requires a real address for "
            "its alerts and names none; set it in cdk.json before the first deploy "
            "(README: Deploy)"
        )
    if not _EMAIL.match(synth_only_email) or not synth_only_email.lower().endswith(".invalid"):
        raise StageConfigError(
            f"synth_only_notification_email: {synth_only_email!r} must be an address on the "
            ".invalid domain (it stands in for a missing address in synth and tests only)"
        )
    return replace(config, notification_email=synth_only_email)


def _build(cls: type[_Settings], raw: object, where: str) -> _Settings:
    if not isinstance(raw, Mapping):
        raise StageConfigError(f"{where} must be an object")
    _reject_unknown(raw, {f.name for f in fields(cls)}, where)
    return replace(cls(), **dict(raw))


def _reject_unknown(raw: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise StageConfigError(
            f"{where}: unknown setting {unknown[0]!r}; expected one of {', '.join(sorted(allowed))}"
        )


def _validate(config: StageConfig, where: str) -> None:
    email = config.notification_email
    if email is not None and (not isinstance(email, str) or not _EMAIL.match(email)):
        raise StageConfigError(f"{where}.notification_email: {email!r} is not an email address")
    if email is not None and _UNDELIVERABLE_DOMAIN.search(email.rsplit("@", 1)[1]):
        raise StageConfigError(
            f"{where}.notification_email: {email!r} is a placeholder: its domain never receives "
            "mail, so every alert would go nowhere; set your team's address"
        )
    if not isinstance(config.notification_email_required, bool):
        raise StageConfigError(f"{where}.notification_email_required must be true or false")
    _one_of(config.removal_policy, ("retain", "destroy"), f"{where}.removal_policy")
    _one_of(config.log_retention_days, LOG_RETENTION_DAYS, f"{where}.log_retention_days")
    if not isinstance(config.metrics_namespace, str) or not re.match(
        r"^[A-Za-z0-9_./#:-]{1,255}$", config.metrics_namespace
    ):
        raise StageConfigError(
            f"{where}.metrics_namespace: {config.metrics_namespace!r} is invalid"
        )

    glue = config.glue
    _one_of(glue.worker_type, GLUE_WORKER_TYPES, f"{where}.glue.worker_type")
    _one_of(glue.execution_class, ("STANDARD", "FLEX"), f"{where}.glue.execution_class")
    if glue.execution_class == "FLEX" and glue.worker_type not in FLEX_WORKER_TYPES:
        raise StageConfigError(
            f"{where}.glue.execution_class: FLEX runs only on {', '.join(FLEX_WORKER_TYPES)}, "
            f"not {glue.worker_type}"
        )
    _at_least(glue.number_of_workers, 2, f"{where}.glue.number_of_workers")
    if not isinstance(glue.auto_scaling, bool):
        raise StageConfigError(f"{where}.glue.auto_scaling must be true or false")
    _at_least(glue.timeout_minutes, 1, f"{where}.glue.timeout_minutes")
    _at_least(glue.max_concurrent_runs, 1, f"{where}.glue.max_concurrent_runs")

    flow = config.workflow
    for name in ("settle_seconds", "poll_interval_seconds"):
        _at_least(getattr(flow, name), 0, f"{where}.workflow.{name}")
    for name in ("max_wait_minutes", "glue_task_timeout_minutes", "execution_timeout_minutes"):
        _at_least(getattr(flow, name), 1, f"{where}.workflow.{name}")
    _at_least(flow.glue_queue_minutes, 0, f"{where}.workflow.glue_queue_minutes")
    _at_least(flow.glue_retry_attempts, 0, f"{where}.workflow.glue_retry_attempts")
    _at_least(flow.glue_retry_interval_seconds, 1, f"{where}.workflow.glue_retry_interval_seconds")
    if flow.max_wait_seconds is not None:
        _at_least(flow.max_wait_seconds, 1, f"{where}.workflow.max_wait_seconds")
    if not isinstance(flow.notify_on_success, bool):
        raise StageConfigError(f"{where}.workflow.notify_on_success must be true or false")
    gate_minutes = -(-flow.gate_max_wait_seconds // 60)  # max_wait_seconds rounds up
    needed = gate_minutes + flow.glue_task_timeout_minutes
    if flow.execution_timeout_minutes <= needed:
        raise StageConfigError(
            f"{where}.workflow.execution_timeout_minutes: {flow.execution_timeout_minutes} leaves "
            f"no room for the gate ({gate_minutes}) plus the Glue task "
            f"({flow.glue_task_timeout_minutes}); make it larger than {needed}"
        )
    _check_glue_task_timeout(config, where)

    trigger = config.trigger
    if not isinstance(trigger.landing_prefix, str) or not _PREFIX.match(trigger.landing_prefix):
        raise StageConfigError(
            f"{where}.trigger.landing_prefix: {trigger.landing_prefix!r} must be a key prefix "
            "ending in '/', such as 'incoming/'"
        )
    if not isinstance(trigger.completion_marker, str) or not re.match(
        r"^[A-Za-z0-9_.-]{1,64}$", trigger.completion_marker
    ):
        raise StageConfigError(
            f"{where}.trigger.completion_marker: {trigger.completion_marker!r} must be a plain "
            "file name"
        )
    _one_of(trigger.batch_id_mode, BATCH_ID_MODES, f"{where}.trigger.batch_id_mode")
    if trigger.reserved_concurrency is not None:
        _at_least(trigger.reserved_concurrency, 1, f"{where}.trigger.reserved_concurrency")
    _at_least(trigger.max_event_age_minutes, 1, f"{where}.trigger.max_event_age_minutes")
    if trigger.max_event_age_minutes > 360:
        raise StageConfigError(f"{where}.trigger.max_event_age_minutes: at most 360 (6 hours)")
    _one_of(trigger.retry_attempts, (0, 1, 2), f"{where}.trigger.retry_attempts")


def _check_glue_task_timeout(config: StageConfig, where: str) -> None:
    """The workflow's Glue task must outlast everything Glue may spend on one run.

    That is the run itself (``glue.timeout_minutes``), the time it may wait in the job run
    queue (``workflow.glue_queue_minutes``) and, on FLEX, the wait for spare capacity.
    """
    glue, flow = config.glue, config.workflow
    parts = [f"glue.timeout_minutes ({glue.timeout_minutes})"]
    needed = glue.timeout_minutes + flow.glue_queue_minutes
    parts.append(f"workflow.glue_queue_minutes ({flow.glue_queue_minutes})")
    if glue.execution_class == "FLEX":
        needed += FLEX_START_WAIT_MINUTES
        parts.append(f"the FLEX start wait ({FLEX_START_WAIT_MINUTES})")
    if flow.glue_task_timeout_minutes < needed:
        raise StageConfigError(
            f"{where}.workflow.glue_task_timeout_minutes: {flow.glue_task_timeout_minutes} is "
            f"shorter than {' + '.join(parts)} = {needed}; the task would give up on a run that "
            f"Glue still lets wait or go on. Make it at least {needed}"
        )


def _one_of(value: object, allowed: tuple[Any, ...], where: str) -> None:
    if isinstance(value, bool) or value not in allowed:
        shown = ", ".join(str(a) for a in allowed)
        raise StageConfigError(f"{where}: {value!r} is not one of {shown}")


def _at_least(value: object, minimum: int, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StageConfigError(f"{where}: must be a whole number, got {value!r}")
    if value < minimum:
        raise StageConfigError(f"{where}: must be >= {minimum}, got {value}")
