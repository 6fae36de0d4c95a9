"""Alarms, the Glue job-state rule and the dashboard: every failure signal ends on the topic."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.config import StageConfig

# Glue job states that mean a run did not produce its output.
GLUE_FAILED_STATES = ("FAILED", "TIMEOUT", "ERROR")
# The trigger function's embedded-metric-format metrics (lambdas/trigger/handler.py).
TRIGGER_METRICS = (
    "ExecutionsStarted",
    "AttemptsStarted",
    "UploadsJoined",
    "UploadsWhileJobRuns",
    "DuplicateDeliveries",
    "IgnoredObjects",
    "MalformedRecords",
    "StartFailures",
)


@dataclass(frozen=True)
class _AlarmSpec:
    construct_id: str
    metric: cloudwatch.Metric
    description: str


class PipelineMonitoring(Construct):
    """CloudWatch alarms and an EventBridge rule publishing to the alert topic, plus a dashboard.

    Every alarm counts failure events (failed/timed-out/aborted executions, Lambda errors and
    throttles, messages in the dead-letter queue). These metrics are only emitted while there
    is activity, so missing data is treated as not breaching: "no executions" means "nothing
    failed", and an alarm returns to OK instead of sitting in INSUFFICIENT_DATA between batches.

    Glue task metrics are not emitted when a script fails early, so Glue failures are caught
    from the "Glue Job State Change" event instead and sent to the topic as a readable message.

    Props: ``config``, ``alert_topic``, ``state_machine``, ``trigger_function``,
    ``dead_letter_queue``, ``glue_job_name``. Attributes: ``alarms``, ``glue_failure_rule``,
    ``dashboard``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        alert_topic: sns.ITopic,
        state_machine: sfn.StateMachine,
        trigger_function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        glue_job_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(5)
        specs = [
            _AlarmSpec(
                "ExecutionsFailed",
                state_machine.metric_failed(period=period, statistic="Sum"),
                "A workflow execution failed: a batch was not processed (see the SNS alert).",
            ),
            _AlarmSpec(
                "ExecutionsTimedOut",
                state_machine.metric_timed_out(period=period, statistic="Sum"),
                "A workflow execution ran past its total timeout.",
            ),
            _AlarmSpec(
                "ExecutionsAborted",
                state_machine.metric_aborted(period=period, statistic="Sum"),
                "A workflow execution was stopped by hand or by a redeploy.",
            ),
            _AlarmSpec(
                "TriggerErrors",
                trigger_function.metric_errors(period=period, statistic="Sum"),
                "The trigger function failed; Lambda retries, then the event goes to the DLQ.",
            ),
            _AlarmSpec(
                "TriggerThrottles",
                trigger_function.metric_throttles(period=period, statistic="Sum"),
                "The trigger function was throttled; uploads wait in Lambda's async queue.",
            ),
            _AlarmSpec(
                "DeadLetterMessages",
                dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=period, statistic="Maximum"
                ),
                "Upload events that could not start a workflow are waiting in the DLQ.",
            ),
        ]
        self.alarms: list[cloudwatch.Alarm] = []
        for spec in specs:
            alarm = cloudwatch.Alarm(
                self,
                spec.construct_id,
                alarm_description=f"[{config.stage}] {spec.description}",
                metric=spec.metric,
                threshold=1,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(alert_topic))
            self.alarms.append(alarm)

        self.glue_failure_rule = events.Rule(
            self,
            "GlueJobFailedRule",
            description="Glue join job run ended FAILED, TIMEOUT or ERROR",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": [glue_job_name], "state": list(GLUE_FAILED_STATES)},
            ),
        )
        self.glue_failure_rule.add_target(
            targets.SnsTopic(
                alert_topic,
                message=events.RuleTargetInput.from_text(
                    f"[{config.stage}] Glue job {events.EventField.from_path('$.detail.jobName')} "
                    f"run {events.EventField.from_path('$.detail.jobRunId')} ended "
                    f"{events.EventField.from_path('$.detail.state')}: "
                    f"{events.EventField.from_path('$.detail.message')} "
                    f"(at {events.EventField.time}, region {events.EventField.region})"
                ),
            )
        )

        self.dashboard = self._dashboard(
            config=config,
            state_machine=state_machine,
            trigger_function=trigger_function,
            dead_letter_queue=dead_letter_queue,
            glue_job_name=glue_job_name,
        )

    def _dashboard(
        self,
        *,
        config: StageConfig,
        state_machine: sfn.StateMachine,
        trigger_function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        glue_job_name: str,
    ) -> cloudwatch.Dashboard:
        period = Duration.minutes(5)
        dashboard = cloudwatch.Dashboard(self, "Dashboard", period_override=None)

        def glue_metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="Glue",
                metric_name=name,
                dimensions_map={"JobName": glue_job_name, "JobRunId": "ALL", "Type": "count"},
                statistic=statistic,
                period=period,
            )

        def trigger_metric(name: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=config.metrics_namespace,
                metric_name=name,
                dimensions_map={"Stage": config.stage},
                statistic="Sum",
                period=period,
            )

        dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# ETL pipeline ({config.stage}) — {Stack.of(self).stack_name}",
                width=24,
                height=1,
            ),
            cloudwatch.GraphWidget(
                title="Workflow executions",
                left=[
                    state_machine.metric_started(period=period, statistic="Sum"),
                    state_machine.metric_succeeded(period=period, statistic="Sum"),
                    state_machine.metric_failed(period=period, statistic="Sum"),
                    state_machine.metric_timed_out(period=period, statistic="Sum"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Workflow duration (ms)",
                left=[state_machine.metric_time(period=period, statistic="p90")],
                width=8,
            ),
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms), width=8, height=6
            ),
            cloudwatch.GraphWidget(
                title="Trigger: uploads",
                left=[trigger_metric(name) for name in TRIGGER_METRICS],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Trigger function",
                left=[
                    trigger_function.metric_invocations(period=period, statistic="Sum"),
                    trigger_function.metric_errors(period=period, statistic="Sum"),
                    trigger_function.metric_throttles(period=period, statistic="Sum"),
                ],
                right=[trigger_function.metric_duration(period=period, statistic="p90")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Dead-letter queue",
                left=[
                    dead_letter_queue.metric_approximate_number_of_messages_visible(
                        period=period, statistic="Maximum"
                    )
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Glue job",
                left=[
                    glue_metric("glue.driver.aggregate.numCompletedTasks", "Sum"),
                    glue_metric("glue.driver.aggregate.numFailedTasks", "Sum"),
                ],
                right=[glue_metric("glue.driver.aggregate.elapsedTime", "Maximum")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Glue job data",
                left=[
                    glue_metric("glue.driver.aggregate.recordsRead", "Sum"),
                    glue_metric("glue.driver.aggregate.bytesRead", "Sum"),
                ],
                width=12,
            ),
        )
        return dashboard
