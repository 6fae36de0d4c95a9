"""The Step Functions workflow: gate on a complete batch, run the Glue job, alert on failure.

PLACEHOLDER (foundation): runs the Glue job and alerts on failure. The workflow issue replaces the
body with the upload-completion gate, retries and full notifications; keep the constructor's
keyword arguments and the ``state_machine`` / ``log_group`` attributes.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.config import StageConfig
from stacks.log_retention import retention_days
from stacks.nag import acknowledge


class EtlWorkflow(Construct):
    """Standard state machine that processes one batch per execution.

    Props: ``config``, ``landing_bucket`` (listed by the gate), ``glue_job_name``,
    ``alert_topic``. Attributes: ``state_machine``, ``log_group``.
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
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.workflow
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=retention_days(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN if config.is_retained else RemovalPolicy.DESTROY,
        )
        run_job = tasks.GlueStartJobRun(
            self,
            "RunGlueJob",
            glue_job_name=glue_job_name,
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            arguments=sfn.TaskInput.from_object(
                {
                    "--input_path": sfn.JsonPath.string_at("$.input_path"),
                    "--batch_id": sfn.JsonPath.string_at("$.batch_id"),
                }
            ),
            task_timeout=sfn.Timeout.duration(Duration.minutes(settings.glue_task_timeout_minutes)),
            result_selector={"JobRunId.$": "$.Id", "JobRunState.$": "$.JobRunState"},
            result_path="$.glue",
        )
        notify_failure = tasks.SnsPublish(
            self,
            "NotifyFailure",
            topic=alert_topic,
            subject="ETL pipeline failure",
            message=sfn.TaskInput.from_json_path_at("States.JsonToString($)"),
            result_path=sfn.JsonPath.DISCARD,
        )
        failed = sfn.Fail(self, "Failed", error="BatchFailed", cause="See the alert")
        run_job.add_catch(notify_failure.next(failed), result_path="$.error")
        definition = run_job.next(sfn.Succeed(self, "Done"))

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.minutes(settings.execution_timeout_minutes),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
        )
        acknowledge(
            self.state_machine,
            {
                "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing and CloudWatch Logs delivery "
                "(logs:CreateLogDelivery and friends) support no resource-level permissions."
            },
        )
