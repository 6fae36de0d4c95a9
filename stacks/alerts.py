"""The one notification path: an encrypted SNS topic that every failure is published to."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from stacks.config import StageConfig

# Services that publish to the topic on their own behalf: alarms and EventBridge rules.
PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


class PipelineAlerts(Construct):
    """SNS topic for alerts, encrypted with its own customer-managed key.

    The key policy lets CloudWatch alarms and EventBridge rules use the key (an SNS topic under
    a CMK silently drops their messages otherwise); the topic policy lets them publish, scoped
    to this account. An email subscription is added when the stage config names an address.

    Attributes: ``topic``, ``key``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        account = Stack.of(self).account
        self.key = kms.Key(
            self,
            "AlertsKey",
            description=f"Encrypts the ETL pipeline's alert topic ({config.stage})",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN if config.is_retained else RemovalPolicy.DESTROY,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmAndEventPublishers",
                principals=[iam.ServicePrincipal(service) for service in PUBLISHING_SERVICES],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                # In a key policy "*" means this key.
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "AlertsTopic",
            display_name=f"ETL pipeline alerts ({config.stage})",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmAndEventPublishers",
                principals=[iam.ServicePrincipal(service) for service in PUBLISHING_SERVICES],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        if config.notification_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.notification_email))
