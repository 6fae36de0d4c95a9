"""The trigger: S3 object-created events under the landing prefix start the workflow."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.config import StageConfig
from stacks.log_encryption import admit_log_group
from stacks.log_retention import retention_days
from stacks.nag import acknowledge, executions_wildcard_finding

TRIGGER_CODE_DIR = Path(__file__).resolve().parent.parent / "lambdas" / "trigger"


class BatchTrigger(Construct):
    """Lambda that turns landing-bucket uploads into one workflow execution per batch.

    S3 sends object-created events to EventBridge; a rule matching the landing bucket and the
    landing prefix invokes the function asynchronously. Events that still fail after Lambda's
    retries, or are older than ``max_event_age_minutes``, go to an encrypted SQS dead-letter
    queue (``self.dead_letter_queue``) so no upload is dropped silently.

    An upload that arrives while its batch's Glue job runs cannot be processed by that run; the
    function reports it on ``alert_topic`` with the rerun command.

    Props: ``config``, ``landing_bucket``, ``state_machine``, ``alert_topic``, ``log_key``
    (encrypts the function's log group).
    Attributes: ``function``, ``dead_letter_queue``, ``rule``, ``log_group``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        landing_bucket: s3.IBucket,
        state_machine: sfn.IStateMachine,
        alert_topic: sns.ITopic,
        log_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        settings = config.trigger
        removal = RemovalPolicy.RETAIN if config.is_retained else RemovalPolicy.DESTROY

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=removal,
        )
        acknowledge(
            self.dead_letter_queue,
            {
                "AwsSolutions-SQS3": "This queue is itself the dead-letter destination of the "
                "trigger function and of the EventBridge rule target."
            },
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=retention_days(config.log_retention_days),
            removal_policy=removal,
            encryption_key=log_key,
        )
        admit_log_group(log_key, self.log_group)
        # Our own role instead of AWSLambdaBasicExecutionRole: write only to this log group.
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Trigger function: start workflow executions, write its own logs",
        )
        self.log_group.grant_write(role)

        self.function = lambda_.Function(
            self,
            "Function",
            description="Starts one workflow execution per upload batch",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.lambda_handler",
            # The handler needs only the standard library and the runtime's boto3: no bundling.
            code=lambda_.Code.from_asset(
                str(TRIGGER_CODE_DIR), exclude=["rerun.py", "__pycache__", "*.pyc"]
            ),
            role=role,
            timeout=Duration.seconds(60),
            memory_size=256,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            reserved_concurrent_executions=settings.reserved_concurrency,
            retry_attempts=settings.retry_attempts,
            max_event_age=Duration.minutes(settings.max_event_age_minutes),
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
            environment={
                "STATE_MACHINE_ARN": state_machine.state_machine_arn,
                "LANDING_BUCKET": landing_bucket.bucket_name,
                "ALERT_TOPIC_ARN": alert_topic.topic_arn,
                "LANDING_PREFIX": settings.landing_prefix,
                "COMPLETION_MARKER": settings.completion_marker,
                "BATCH_ID_MODE": settings.batch_id_mode,
                "METRICS_NAMESPACE": config.metrics_namespace,
                "STAGE": config.stage,
            },
        )
        state_machine.grant_start_execution(self.function)
        # A new upload for a batch that already has an execution: read the batch's latest
        # attempt (its input and whether its Glue job started) to tell a duplicate delivery
        # from an upload the job has not read. Executions of this state machine only.
        state_machine.grant_execution(
            self.function, "states:DescribeExecution", "states:GetExecutionHistory"
        )
        # The topic is encrypted with its own key: grant_publish also grants the key usage.
        alert_topic.grant_publish(self.function)
        acknowledge(
            role,
            {
                executions_wildcard_finding(state_machine): "Executions of the workflow's own "
                "state machine (execution:<name>:*): the trigger reads the latest attempt of a "
                "batch by its execution name, which is known only at run time.",
                "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "Topic.grant_publish on the "
                "alert topic's own key: publishing to a KMS-encrypted topic needs data keys "
                "generated under that key.",
            },
        )
        acknowledge(
            self.function,
            {
                "AwsSolutions-IAM5[Resource::*]": "X-Ray tracing: xray:PutTraceSegments and "
                "xray:PutTelemetryRecords support no resource-level permissions."
            },
        )

        self.rule = events.Rule(
            self,
            "UploadRule",
            description="Object created under the landing prefix",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [landing_bucket.bucket_name]},
                    "object": {"key": [{"prefix": settings.landing_prefix}]},
                },
            ),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=8,
                max_event_age=Duration.hours(2),
            )
        )
