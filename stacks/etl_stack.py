"""EtlStack: one stage of the pipeline, composed of one construct per concern."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from stacks.alerts import PipelineAlerts
from stacks.config import StageConfig
from stacks.glue_job import JoinGlueJob
from stacks.monitoring import PipelineMonitoring
from stacks.provider_logs import manage_provider_log_groups
from stacks.storage import PipelineStorage
from stacks.trigger import BatchTrigger
from stacks.workflow import EtlWorkflow


class EtlStack(Stack):
    """S3 upload -> trigger Lambda -> Step Functions (gate, Glue join) -> curated S3, alerts on SNS.

    Construct IDs are part of the logical IDs of stateful resources (buckets, keys, topic):
    renaming one replaces the resource, and tests/infra pins them.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", "s3-glue-etl-pipeline")
        Tags.of(self).add("stage", config.stage)

        self.storage = PipelineStorage(self, "Storage", config=config)
        self.alerts = PipelineAlerts(self, "Alerts", config=config)
        self.glue_job = JoinGlueJob(
            self,
            "GlueJob",
            config=config,
            landing_bucket=self.storage.landing_bucket,
            reference_bucket=self.storage.reference_bucket,
            curated_bucket=self.storage.curated_bucket,
            data_key=self.storage.data_key,
        )
        self.workflow = EtlWorkflow(
            self,
            "Workflow",
            config=config,
            landing_bucket=self.storage.landing_bucket,
            glue_job_name=self.glue_job.job_name,
            alert_topic=self.alerts.topic,
            log_key=self.storage.data_key,
        )
        self.trigger = BatchTrigger(
            self,
            "Trigger",
            config=config,
            landing_bucket=self.storage.landing_bucket,
            state_machine=self.workflow.state_machine,
            alert_topic=self.alerts.topic,
            log_key=self.storage.data_key,
        )
        self.monitoring = PipelineMonitoring(
            self,
            "Monitoring",
            config=config,
            alert_topic=self.alerts.topic,
            state_machine=self.workflow.state_machine,
            trigger_function=self.trigger.function,
            dead_letter_queue=self.trigger.dead_letter_queue,
            glue_job_name=self.glue_job.job_name,
        )
        manage_provider_log_groups(self, config=config, log_key=self.storage.data_key)
        self._outputs()

    def _outputs(self) -> None:
        """What operators need after a deploy: where to upload, what to rerun, where alerts go."""
        outputs = {
            "LandingBucketName": (
                self.storage.landing_bucket.bucket_name,
                "Upload batches under incoming/ in this bucket",
            ),
            "ReferenceBucketName": (
                self.storage.reference_bucket.bucket_name,
                "Reference data, one folder per join name",
            ),
            "CuratedBucketName": (
                self.storage.curated_bucket.bucket_name,
                "Results, _quarantine/ and _reports/",
            ),
            "StateMachineArn": (
                self.workflow.state_machine.state_machine_arn,
                "The batch workflow (reruns: python -m lambdas.trigger.rerun)",
            ),
            "GlueJobName": (self.glue_job.job_name, "The join job"),
            "AlertsTopicArn": (self.alerts.topic.topic_arn, "Every alert of the pipeline"),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
