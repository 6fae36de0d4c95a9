"""The Step Functions workflow: wait for a complete batch, run the Glue job, alert on every failure.

One standard execution processes one batch (input contract: see the README and the trigger).

1. ``CheckInput`` rejects input that breaks the trigger contract; ``IsSingleObject`` sends a
   single-file batch straight to the Glue job (one S3 object is complete once it exists).
2. Upload-completion gate for a folder batch: ``WaitForUploadsToSettle`` (``settle_seconds``),
   then per check ``LookForMarker`` (is there a ``<batch_prefix>_SUCCESS`` object?) and, without
   one, ``ListBatch`` + ``RecordCheck`` (count and sizes of the batch's objects) and
   ``IsBatchStable``: complete when the marker exists, or when two consecutive checks saw the
   same non-empty list of object sizes. Otherwise ``WaitBeforeNextCheck``
   (``poll_interval_seconds``) and look again, at most :func:`plan_gate` checks; past them,
   ``NotifyBatchIncomplete`` and fail.
3. ``RunGlueJob`` (``glue:startJobRun.sync``) with ``--input_path`` and ``--batch_id``. Transient
   Glue errors are retried with exponential backoff and full jitter; a run that ended FAILED
   (``States.TaskFailed``: the script failed) never is. The job registers its own Glue Data
   Catalog partition (``--catalog_database`` default argument), so no state does that here.
4. Every caught failure goes through a recorder Pass (which names the failed state) to
   ``NotifyFailure`` and ends in ``BatchFailed``, whose cause starts with the original error.
   ``NotifySuccess`` exists only when ``workflow.notify_on_success`` is set.

Not caught by design: the execution's own timeout and a failed publish to the alert topic (the
topic cannot report its own failure); the ExecutionsFailed/TimedOut alarms cover both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.config import StageConfig, StageConfigError, WorkflowSettings
from stacks.log_encryption import admit_log_group
from stacks.log_retention import retention_days
from stacks.nag import acknowledge

# Glue start errors worth another try: capacity, throttling and Glue-side faults. With job run
# queuing on, a run beyond max_concurrent_runs waits in Glue's queue instead; the retries still
# cover a start Glue refuses (account-wide limits, a full queue) and Glue's own faults.
GLUE_TRANSIENT_ERRORS = (
    "Glue.ConcurrentRunsExceededException",
    "Glue.ThrottlingException",
    "Glue.InternalServiceException",
    "Glue.OperationTimeoutException",
)
# S3 SDK-integration errors that cover throttling (SlowDown), 5xx and network faults.
S3_TRANSIENT_ERRORS = ("S3.S3Exception", "S3.SdkClientException")
# One listing page judges stability. 500 keys keep the raw ListObjectsV2 result (about 250 bytes
# per object) well under the 256 KB payload limit, and the JSON of their sizes under the
# 10,000-character input limit of States.Hash. A larger batch is never judged stable from a
# truncated listing: it needs the completion marker.
STABILITY_LISTING_MAX_KEYS = 500
# Each gate check adds 18 history events; an execution's history stops at 25,000.
MAX_GATE_CHECKS = 1000
# Input fields the trigger contract requires as strings (single_object is a boolean).
_STRING_INPUTS = ("bucket", "batch_id", "batch_prefix", "input_path")
# The run's capacity for the success message: fields every finished run of a G.* job has.
# Selected only when the message is sent: a path missing here would be a States.Runtime error,
# which no Catch handles. (The billed DPUSeconds is absent without auto scaling or FLEX.)
_RUN_CAPACITY = {
    "execution_seconds.$": "$.ExecutionTime",
    "worker_type.$": "$.WorkerType",
    "workers.$": "$.NumberOfWorkers",
}
# Recorded as the Glue job run id of failures that happened before or without a job run.
NO_GLUE_JOB_RUN = "none"


@dataclass(frozen=True)
class GatePlan:
    """How often the gate looks at a batch before giving up, and how long that takes."""

    checks: int
    waited_seconds: int

    @property
    def waited_text(self) -> str:
        """The wait in words, as the incomplete-batch alert states it."""
        return describe_duration(self.waited_seconds)


def plan_gate(settings: WorkflowSettings, where: str = "workflow") -> GatePlan:
    """Checks at settle, settle + poll, ... up to the first one at or after the max wait.

    Two checks at least, so a batch without a marker can always be judged stable. ``where``
    prefixes the field names in errors (``stages.dev.workflow``).
    """
    poll = settings.poll_interval_seconds
    if poll < 1:
        raise StageConfigError(
            f"{where}.poll_interval_seconds: must be >= 1: the gate counts its checks in "
            "poll intervals"
        )
    remaining = max(0, settings.gate_max_wait_seconds - settings.settle_seconds)
    checks = max(2, 1 + math.ceil(remaining / poll))
    if checks > MAX_GATE_CHECKS:
        raise StageConfigError(
            f"{where}.poll_interval_seconds: {poll} s over a max wait of "
            f"{settings.gate_max_wait_seconds} s means {checks} checks of a batch; at most "
            f"{MAX_GATE_CHECKS} fit in one execution's history. Poll less often."
        )
    return GatePlan(checks=checks, waited_seconds=settings.settle_seconds + (checks - 1) * poll)


def describe_duration(seconds: int) -> str:
    """``90`` -> ``"1 minute 30 seconds"``; ``1800`` -> ``"30 minutes"``."""
    minutes, rest = divmod(seconds, 60)
    parts = [f"{minutes} minute{'s' if minutes != 1 else ''}"] if minutes else []
    if rest or not parts:
        parts.append(f"{rest} second{'s' if rest != 1 else ''}")
    return " ".join(parts)


class EtlWorkflow(Construct):
    """Standard state machine that gates, transforms and reports one batch per execution.

    Props: ``config`` (``workflow`` timings, ``trigger.completion_marker`` and
    ``trigger.landing_prefix``), ``landing_bucket`` (listed by the gate, under the landing
    prefix only), ``glue_job_name`` (the one job it may start), ``alert_topic`` (KMS-encrypted;
    publish rights include the key), ``log_key`` (encrypts the execution log group).
    Attributes: ``state_machine``, ``log_group``, ``gate``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        landing_bucket: s3.IBucket,
        glue_job_name: str,
        alert_topic: sns.ITopic,
        log_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.workflow
        self._where = f"stages.{config.stage}.workflow"
        self.gate = plan_gate(settings, self._where)
        self._settings = settings
        self._stage = config.stage
        self._glue_auto_scaling = config.glue.auto_scaling
        self._marker = config.trigger.completion_marker
        self._landing_bucket = landing_bucket
        self._alert_topic = alert_topic
        self._check_time_budget()

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=self._log_group_name(),
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if config.is_retained else RemovalPolicy.DESTROY,
            encryption_key=log_key,
        )
        admit_log_group(log_key, self.log_group)
        notify_failure = self._notify_failure()
        run_job = self._run_glue_job(glue_job_name, notify_failure)
        gate = self._gate(run_job, notify_failure)

        input_invalid = sfn.Pass(
            self,
            "InputInvalid",
            comment="Records a contract violation as a failure of CheckInput",
            parameters={
                "state": "CheckInput",
                "batch_id": "unknown",
                "error": "InvalidInput",
                "cause": sfn.JsonPath.format(
                    "The execution input breaks the trigger contract (bucket, batch_id, "
                    "batch_prefix and input_path as strings, single_object as a boolean): {}",
                    sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$")),
                ),
                "glue_job_run_id": NO_GLUE_JOB_RUN,
            },
            result_path="$.failure",
        )
        input_invalid.next(notify_failure)
        valid_input = sfn.Condition.and_(
            *(sfn.Condition.is_string(f"$.{name}") for name in _STRING_INPUTS),
            sfn.Condition.is_boolean("$.single_object"),
        )
        is_single_object = (
            sfn.Choice(self, "IsSingleObject")
            .when(
                sfn.Condition.boolean_equals("$.single_object", True),
                run_job,
                comment="single-file batch",
            )
            .otherwise(gate)
        )
        check_input = (
            sfn.Choice(self, "CheckInput")
            .when(sfn.Condition.not_(valid_input), input_invalid, comment="invalid input")
            .otherwise(is_single_object)
        )

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(check_input),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.minutes(settings.execution_timeout_minutes),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
        )
        self._restrict_listing_to_landing_prefix(config.trigger.landing_prefix)
        # What glue:startJobRun.sync needs (BatchStopJobRun: stop a run whose task timed out),
        # on the one job only.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:StartJobRun",
                    "glue:GetJobRun",
                    "glue:GetJobRuns",
                    "glue:BatchStopJobRun",
                ],
                resources=[
                    Stack.of(self).format_arn(
                        service="glue", resource="job", resource_name=glue_job_name
                    )
                ],
            )
        )
        # The topic is encrypted with its own key: grant_publish also grants the key usage
        # (kms:Decrypt, kms:GenerateDataKey*) that publishing to it needs.
        alert_topic.grant_publish(self.state_machine)
        acknowledge(
            self.state_machine,
            {
                "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery "
                "(logs:CreateLogDelivery and friends) support no resource-level permissions.",
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "Topic.grant_publish on the "
                "alert topic's own key: publishing to a KMS-encrypted topic needs data keys "
                "generated under that key.",
            },
        )

    # -- gate -------------------------------------------------------------------------------

    def _gate(self, run_job: sfn.IChainable, notify_failure: sfn.IChainable) -> sfn.IChainable:
        """Wait, then look for the marker or a stable listing, up to ``self.gate.checks`` times."""
        settings = self._settings
        init_gate = sfn.Pass(
            self,
            "InitGate",
            comment="No check yet; the marker's key is <batch_prefix><completion marker>",
            parameters={
                "checks": 0,
                "fingerprint": "none",
                "object_count": 0,
                "truncated": False,
                "marker_key": sfn.JsonPath.format(
                    f"{{}}{self._marker}", sfn.JsonPath.string_at("$.batch_prefix")
                ),
            },
            result_path="$.gate",
        )
        settle = sfn.Wait(
            self,
            "WaitForUploadsToSettle",
            time=sfn.WaitTime.duration(Duration.seconds(settings.settle_seconds)),
        )
        look_for_marker = self._list_landing(
            "LookForMarker",
            comment="Is there an object whose key starts with the marker's key?",
            prefix_path="$.gate.marker_key",
            max_keys=1,
            result_selector={"found": sfn.JsonPath.number_at("$.KeyCount")},
            result_path="$.gate.marker",
            notify_failure=notify_failure,
        )
        list_batch = self._list_landing(
            "ListBatch",
            comment="Count and sizes of the batch's objects (first page of the listing)",
            prefix_path="$.batch_prefix",
            max_keys=STABILITY_LISTING_MAX_KEYS,
            result_selector={
                "object_count": sfn.JsonPath.number_at("$.KeyCount"),
                "truncated": sfn.JsonPath.string_at("$.IsTruncated"),
                # Sizes in key order: a new, removed or rewritten object changes the hash.
                # `[*]` yields [] for an empty listing, where `Contents` is absent.
                "fingerprint": sfn.JsonPath.hash(
                    sfn.JsonPath.json_to_string(sfn.JsonPath.list_at("$.Contents[*].Size")),
                    "SHA-256",
                ),
            },
            result_path="$.gate.listing",
            notify_failure=notify_failure,
        )
        record_check = sfn.Pass(
            self,
            "RecordCheck",
            comment="Counts the check and keeps the previous fingerprint to compare with",
            parameters={
                "checks": sfn.JsonPath.math_add(sfn.JsonPath.number_at("$.gate.checks"), 1),
                "previous_fingerprint": sfn.JsonPath.string_at("$.gate.fingerprint"),
                "fingerprint": sfn.JsonPath.string_at("$.gate.listing.fingerprint"),
                "object_count": sfn.JsonPath.number_at("$.gate.listing.object_count"),
                "truncated": sfn.JsonPath.string_at("$.gate.listing.truncated"),
                "marker_key": sfn.JsonPath.string_at("$.gate.marker_key"),
            },
            result_path="$.gate",
        )
        wait_before_next_check = sfn.Wait(
            self,
            "WaitBeforeNextCheck",
            time=sfn.WaitTime.duration(Duration.seconds(settings.poll_interval_seconds)),
        )
        stable = sfn.Condition.and_(
            sfn.Condition.boolean_equals("$.gate.truncated", False),
            sfn.Condition.number_greater_than("$.gate.object_count", 0),
            sfn.Condition.string_equals_json_path(
                "$.gate.fingerprint", "$.gate.previous_fingerprint"
            ),
        )
        is_batch_stable = (
            sfn.Choice(self, "IsBatchStable")
            .when(stable, run_job, comment="same objects and sizes as the previous check")
            .when(
                sfn.Condition.number_greater_than_equals("$.gate.checks", self.gate.checks),
                self._notify_incomplete(),
                comment="max wait reached",
            )
            .otherwise(wait_before_next_check)
        )
        is_marker_present = (
            sfn.Choice(self, "IsMarkerPresent")
            .when(
                sfn.Condition.number_greater_than("$.gate.marker.found", 0),
                run_job,
                comment=f"{self._marker} found",
            )
            .otherwise(list_batch)
        )
        wait_before_next_check.next(look_for_marker)
        look_for_marker.next(is_marker_present)
        list_batch.next(record_check).next(is_batch_stable)
        return init_gate.next(settle).next(look_for_marker)

    def _list_landing(
        self,
        state_id: str,
        *,
        comment: str,
        prefix_path: str,
        max_keys: int,
        result_selector: dict[str, object],
        result_path: str,
        notify_failure: sfn.IChainable,
    ) -> tasks.CallAwsService:
        """s3:listObjectsV2 on the landing bucket, retried on transient S3 errors."""
        listing = tasks.CallAwsService(
            self,
            state_id,
            comment=comment,
            service="s3",
            action="listObjectsV2",
            # ListObjectsV2 is authorized by s3:ListBucket on the bucket; the prefix is
            # restricted by _restrict_listing_to_landing_prefix.
            iam_action="s3:ListBucket",
            iam_resources=[self._landing_bucket.bucket_arn],
            parameters={
                "Bucket": sfn.JsonPath.string_at("$.bucket"),
                "Prefix": sfn.JsonPath.string_at(prefix_path),
                "MaxKeys": max_keys,
            },
            result_selector=result_selector,
            result_path=result_path,
        )
        listing.add_retry(
            errors=list(S3_TRANSIENT_ERRORS),
            interval=Duration.seconds(1),
            max_attempts=2,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        listing.add_catch(
            self._record_failure(f"{state_id}Failed", state_id, notify_failure),
            result_path="$.failure",
        )
        return listing

    def _notify_incomplete(self) -> sfn.IChainable:
        """Alert that the batch never completed, with what the last check saw, then fail."""
        summary = sfn.JsonPath.format(
            f"ETL batch {{}} incomplete after {self.gate.waited_text}: the last of {{}} checks "
            f"saw {{}} objects (listing truncated: {{}}) and no {self._marker} marker. "
            "The execution FAILED.",
            sfn.JsonPath.string_at("$.batch_id"),
            sfn.JsonPath.string_at("$.gate.checks"),
            sfn.JsonPath.string_at("$.gate.object_count"),
            sfn.JsonPath.string_at("$.gate.truncated"),
        )
        notify = tasks.SnsPublish(
            self,
            "NotifyBatchIncomplete",
            topic=self._alert_topic,
            subject=f"ETL batch FAILED: upload incomplete ({self._stage})",
            message=sfn.TaskInput.from_object(
                {
                    "summary": summary,
                    "batch_id": sfn.JsonPath.string_at("$.batch_id"),
                    "failed_state": "IsBatchStable",
                    "waited": self.gate.waited_text,
                    "checks": sfn.JsonPath.number_at("$.gate.checks"),
                    "objects_seen": sfn.JsonPath.number_at("$.gate.object_count"),
                    "listing_truncated": sfn.JsonPath.string_at("$.gate.truncated"),
                    "marker_key": sfn.JsonPath.string_at("$.gate.marker_key"),
                    **self._execution_fields(),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        return notify.next(
            sfn.Fail(
                self,
                "BatchIncomplete",
                error="BatchIncomplete",
                cause_path=summary,
            )
        )

    # -- Glue job -----------------------------------------------------------------------------

    def _run_glue_job(self, glue_job_name: str, notify_failure: sfn.IChainable) -> sfn.IChainable:
        """Start the job, wait for it, retry only what is transient; then succeed."""
        settings = self._settings
        # A CustomState, not tasks.GlueStartJobRun: that class turns task_timeout into the
        # run's own Glue Timeout and drops the state's TimeoutSeconds. Here Glue keeps the job's
        # timeout (glue.timeout_minutes) and the longer task timeout is the workflow's backstop.
        run_job = sfn.CustomState(
            self,
            "RunGlueJob",
            state_json={
                "Type": "Task",
                "Comment": "Runs the join job on the batch and waits for the run to end",
                "Resource": f"arn:{Aws.PARTITION}:states:::glue:startJobRun.sync",
                "Parameters": {
                    "JobName": glue_job_name,
                    "Arguments": {
                        "--input_path.$": "$.input_path",
                        "--batch_id.$": "$.batch_id",
                    },
                },
                "TimeoutSeconds": settings.glue_task_timeout_minutes * 60,
                # The .sync result is the whole JobRun, datetimes included: keep the state small.
                "ResultSelector": {
                    "run_id.$": "$.Id",
                    "state.$": "$.JobRunState",
                    **(_RUN_CAPACITY if settings.notify_on_success else {}),
                },
                "ResultPath": "$.glue",
            },
        )
        if settings.glue_retry_attempts > 0:
            run_job.add_retry(
                errors=list(GLUE_TRANSIENT_ERRORS),
                interval=Duration.seconds(settings.glue_retry_interval_seconds),
                max_attempts=settings.glue_retry_attempts,
                backoff_rate=2,
                jitter_strategy=sfn.JitterType.FULL,
            )
        # A run that ended FAILED, TIMEOUT or ERROR surfaces as States.TaskFailed whose cause is
        # the JobRun as JSON: read its Id for the alert. Never retried: the script failed.
        read_failed_run = sfn.Pass(
            self,
            "ReadFailedGlueRun",
            comment="Parses the failed JobRun (Id, ErrorMessage) out of the error's cause",
            parameters={
                "job_run": sfn.JsonPath.string_to_json(sfn.JsonPath.string_at("$.failure.Cause"))
            },
            result_path="$.failed_glue",
        )
        failed_run_id = sfn.JsonPath.string_at("$.failed_glue.job_run.Id")
        run_state = sfn.JsonPath.format(
            "Glue job run {}", sfn.JsonPath.string_at("$.failed_glue.job_run.JobRunState")
        )
        # The alert leads with the script's own message (e.g. "JobInputError: the batch at ...
        # is empty"), not the whole JobRun. A run may end without one (TIMEOUT): a Pass state
        # cannot catch a missing path, so check first.
        read_failed_run.next(
            sfn.Choice(self, "HasGlueErrorMessage")
            .when(
                sfn.Condition.is_present("$.failed_glue.job_run.ErrorMessage"),
                self._record_failure(
                    "GlueRunFailed",
                    "RunGlueJob",
                    notify_failure,
                    glue_job_run_id=failed_run_id,
                    error=run_state,
                    cause=sfn.JsonPath.string_at("$.failed_glue.job_run.ErrorMessage"),
                ),
                comment="the run has an ErrorMessage",
            )
            .otherwise(
                self._record_failure(
                    "GlueRunFailedWithoutMessage",
                    "RunGlueJob",
                    notify_failure,
                    glue_job_run_id=failed_run_id,
                    error=run_state,
                )
            )
        )
        # Anything else (start errors after the retries, permissions, the task timeout) has a
        # plain-text cause; parsing it would fail in a Pass state, which cannot be caught.
        is_failed_run = sfn.Condition.and_(
            sfn.Condition.string_equals("$.failure.Error", "States.TaskFailed"),
            sfn.Condition.string_matches("$.failure.Cause", "{*"),
        )
        did_the_run_fail = (
            sfn.Choice(self, "DidTheGlueRunFail")
            .when(is_failed_run, read_failed_run, comment="the run ended FAILED/TIMEOUT/ERROR")
            .otherwise(self._record_failure("GlueTaskFailed", "RunGlueJob", notify_failure))
        )
        run_job.add_catch(did_the_run_fail, errors=["States.ALL"], result_path="$.failure")

        succeeded = sfn.Succeed(self, "BatchSucceeded")
        if not settings.notify_on_success:
            return run_job.next(succeeded)
        # With auto scaling, NumberOfWorkers is the maximum; the billed DPUSeconds is in
        # GetJobRun for the run id (README, Costs).
        up_to = "up to " if self._glue_auto_scaling else ""
        notify_success = tasks.SnsPublish(
            self,
            "NotifySuccess",
            topic=self._alert_topic,
            subject=f"ETL batch succeeded ({self._stage})",
            message=sfn.TaskInput.from_object(
                {
                    "summary": sfn.JsonPath.format(
                        f"ETL batch {{}} succeeded (Glue job run {{}}: {{}} s on {up_to}{{}} x "
                        "{}).",
                        sfn.JsonPath.string_at("$.batch_id"),
                        sfn.JsonPath.string_at("$.glue.run_id"),
                        sfn.JsonPath.string_at("$.glue.execution_seconds"),
                        sfn.JsonPath.string_at("$.glue.workers"),
                        sfn.JsonPath.string_at("$.glue.worker_type"),
                    ),
                    "batch_id": sfn.JsonPath.string_at("$.batch_id"),
                    "glue_job_run_id": sfn.JsonPath.string_at("$.glue.run_id"),
                    "glue_capacity": {
                        "execution_seconds": sfn.JsonPath.number_at("$.glue.execution_seconds"),
                        "worker_type": sfn.JsonPath.string_at("$.glue.worker_type"),
                        "workers": sfn.JsonPath.number_at("$.glue.workers"),
                        "auto_scaling": self._glue_auto_scaling,
                    },
                    **self._execution_fields(),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        return run_job.next(notify_success).next(succeeded)

    # -- failures -----------------------------------------------------------------------------

    def _record_failure(
        self,
        state_id: str,
        failed_state: str,
        notify_failure: sfn.IChainable,
        *,
        glue_job_run_id: str = NO_GLUE_JOB_RUN,
        error: str = "$.failure.Error",
        cause: str = "$.failure.Cause",
    ) -> sfn.Pass:
        """A Catch target that names the failed state, then hands over to ``NotifyFailure``.

        ``error`` and ``cause`` are JSONPaths or intrinsic functions; by default the caught
        error's own.
        """
        record = sfn.Pass(
            self,
            state_id,
            comment=f"Records a failure of {failed_state}",
            parameters={
                "state": failed_state,
                "batch_id": sfn.JsonPath.string_at("$.batch_id"),
                "error": sfn.JsonPath.string_at(error) if error.startswith("$") else error,
                "cause": sfn.JsonPath.string_at(cause) if cause.startswith("$") else cause,
                "glue_job_run_id": glue_job_run_id,
            },
            result_path="$.failure",
        )
        record.next(notify_failure)
        return record

    def _notify_failure(self) -> sfn.IChainable:
        """Publish the recorded failure (``$.failure``), then end FAILED with its error."""
        notify = tasks.SnsPublish(
            self,
            "NotifyFailure",
            topic=self._alert_topic,
            subject=f"ETL batch FAILED ({self._stage})",
            message=sfn.TaskInput.from_object(
                {
                    "summary": sfn.JsonPath.format(
                        "ETL batch {} FAILED in state {}: {}",
                        sfn.JsonPath.string_at("$.failure.batch_id"),
                        sfn.JsonPath.string_at("$.failure.state"),
                        sfn.JsonPath.string_at("$.failure.error"),
                    ),
                    "batch_id": sfn.JsonPath.string_at("$.failure.batch_id"),
                    "failed_state": sfn.JsonPath.string_at("$.failure.state"),
                    "error": sfn.JsonPath.string_at("$.failure.error"),
                    "cause": sfn.JsonPath.string_at("$.failure.cause"),
                    "glue_job_run_id": sfn.JsonPath.string_at("$.failure.glue_job_run_id"),
                    **self._execution_fields(),
                }
            ),
            result_path=sfn.JsonPath.DISCARD,
        )
        # Fail errors must not start with "States.": the original error leads the cause.
        return notify.next(
            sfn.Fail(
                self,
                "BatchFailed",
                error="BatchFailed",
                cause_path=sfn.JsonPath.format(
                    "{} in state {}: {}",
                    sfn.JsonPath.string_at("$.failure.error"),
                    sfn.JsonPath.string_at("$.failure.state"),
                    sfn.JsonPath.string_at("$.failure.cause"),
                ),
            )
        )

    def _execution_fields(self) -> dict[str, object]:
        """Which execution this is, a console link to it, and its input (enough to rerun)."""
        return {
            "execution_arn": sfn.JsonPath.execution_id,
            "console_url": sfn.JsonPath.format(
                "https://{}.console.aws.amazon.com/states/home?region={}#/v2/executions/details/{}",
                Aws.REGION,
                Aws.REGION,
                sfn.JsonPath.execution_id,
            ),
            "execution_input": sfn.JsonPath.object_at("$$.Execution.Input"),
        }

    # -- permissions and limits ----------------------------------------------------------------

    def _restrict_listing_to_landing_prefix(self, landing_prefix: str) -> None:
        """CallAwsService grants s3:ListBucket on the whole bucket; allow only the prefix."""
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                sid="ListOnlyTheLandingPrefix",
                effect=iam.Effect.DENY,
                actions=["s3:ListBucket"],
                resources=[self._landing_bucket.bucket_arn],
                conditions={"StringNotLike": {"s3:prefix": [f"{landing_prefix}*"]}},
            )
        )

    def _log_group_name(self) -> str:
        """``/aws/vendedlogs/states/<stack name>-<stack id suffix>``.

        Step Functions wants its log groups under ``/aws/vendedlogs/`` so that the CloudWatch
        Logs resource policy it maintains stays within its size limit. The suffix of the
        stack's id is new for every stack instance: a stage deployed again after a destroy does
        not collide with the log group its predecessor retained (prod).
        """
        stack = Stack.of(self)
        return Fn.join(
            "",
            [
                f"/aws/vendedlogs/states/{stack.stack_name}-",
                Fn.select(2, Fn.split("/", Aws.STACK_ID)),
            ],
        )

    def _check_time_budget(self) -> None:
        """The gate plus the Glue task must fit in the execution timeout."""
        settings = self._settings
        needed = self.gate.waited_seconds + settings.glue_task_timeout_minutes * 60
        if settings.execution_timeout_minutes * 60 <= needed:
            raise StageConfigError(
                f"{self._where}.execution_timeout_minutes: {settings.execution_timeout_minutes} "
                f"leaves no room for the gate ({self.gate.waited_text}) plus the Glue task "
                f"({settings.glue_task_timeout_minutes} minutes)"
            )
