"""S3 storage of the pipeline: landing, reference, curated and access-log buckets."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.config import StageConfig
from stacks.nag import acknowledge


class PipelineStorage(Construct):
    """The pipeline's buckets and the customer-managed key that encrypts their data.

    Data buckets use SSE-KMS with one customer-managed key (``self.data_key``, rotated yearly)
    and S3 Bucket Keys, so access is governed by both IAM and the key policy and KMS request
    costs stay small. The access-log bucket uses SSE-S3: S3 server access logging cannot write
    to a bucket whose default encryption is SSE-KMS.

    Attributes: ``landing_bucket`` (uploads under the landing prefix), ``reference_bucket``
    (pre-existing data joined with each batch), ``curated_bucket`` (results, quarantine, reports,
    Glue temp files), ``access_logs_bucket``, ``data_key``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.is_retained else RemovalPolicy.DESTROY
        auto_delete = not config.is_retained

        self.data_key = kms.Key(
            self,
            "DataKey",
            description=f"Encrypts the ETL pipeline's data ({config.stage})",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self.access_logs_bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # Versioned so a deleted or overwritten log stays recoverable for 30 days (an audit
            # trail someone can quietly edit is no audit trail).
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=removal,
            auto_delete_objects=auto_delete,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(max(config.log_retention_days, 90)),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        # The log bucket cannot log to itself; its own access is covered by CloudTrail.
        acknowledge(
            self.access_logs_bucket,
            {"AwsSolutions-S1": "This is the server access log bucket; it cannot log to itself."},
        )

        self.landing_bucket = self._data_bucket(
            "LandingBucket",
            config=config,
            versioned=True,
            removal=removal,
            extra_rules=[
                s3.LifecycleRule(
                    id="TransitionProcessedUploads",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INTELLIGENT_TIERING,
                            transition_after=Duration.days(30),
                        )
                    ],
                )
            ],
        )
        # S3 sends object-created events to EventBridge; the trigger's rule filters the prefix.
        # Set on the resource itself: the L2 flag goes through a notifications custom resource
        # (an extra Lambda with a managed policy) for a setting CloudFormation supports directly.
        landing_resource = self.landing_bucket.node.default_child
        assert isinstance(landing_resource, s3.CfnBucket)
        landing_resource.notification_configuration = (
            s3.CfnBucket.NotificationConfigurationProperty(
                event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                    event_bridge_enabled=True
                )
            )
        )
        self.reference_bucket = self._data_bucket(
            "ReferenceBucket", config=config, versioned=True, removal=removal
        )
        self.curated_bucket = self._data_bucket(
            "CuratedBucket",
            config=config,
            versioned=True,
            removal=removal,
            extra_rules=[
                s3.LifecycleRule(
                    id="ExpireGlueTempFiles",
                    prefix="_glue/temp/",
                    expiration=Duration.days(7),
                ),
                # The job commits without staging (runs write to their own folders and readers
                # are switched to them); what earlier versions staged and a killed run left
                # under _staging/ goes after a day. Abandoned run folders are found and deleted
                # by the next run (their markers under _runs/), which a prefix rule cannot do.
                s3.LifecycleRule(
                    id="ExpireAbandonedStaging",
                    prefix="_staging/",
                    expiration=Duration.days(1),
                ),
            ],
        )

    def _data_bucket(
        self,
        construct_id: str,
        *,
        config: StageConfig,
        versioned: bool,
        removal: RemovalPolicy,
        extra_rules: list[s3.LifecycleRule] | None = None,
    ) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.data_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=versioned,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=f"{construct_id}/",
            removal_policy=removal,
            auto_delete_objects=not config.is_retained,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                    expired_object_delete_marker=True,
                ),
                *(extra_rules or []),
            ],
        )
        return bucket
