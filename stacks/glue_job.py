"""The Glue 5.0 PySpark job that joins each batch with the reference data."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Aws, Names, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.config import StageConfig
from stacks.log_encryption import admit_logs_service
from stacks.nag import (
    KMS_GRANT_ACTION_FINDINGS,
    S3_GRANT_ACTION_FINDINGS,
    acknowledge,
    objects_wildcard_finding,
    resource_finding,
)

GLUE_JOBS_DIR = Path(__file__).resolve().parent.parent / "glue_jobs"
JOB_SCRIPT = GLUE_JOBS_DIR / "join_job" / "job.py"
GLUE_VERSION = "5.0"
# Prefixes inside the curated bucket that belong to Glue itself, not to results.
GLUE_TEMP_PREFIX = "_glue/temp/"
GLUE_SPARK_UI_PREFIX = "_glue/sparkui/"


class JoinGlueJob(Construct):
    """PySpark job deployed from CDK assets, with its role, security configuration and database.

    The entry script is ``glue_jobs/join_job/job.py``; the ``join_job`` package ships beside it
    as a zip (``--extra-py-files``). The pipeline config, output and reference roots and the
    catalog database are default arguments; the workflow passes ``--input_path`` and
    ``--batch_id`` per run. The job never retries on its own (``MaxRetries`` 0): the workflow
    retries only what is transient, never a script that failed.

    Props: ``config``, the three data buckets and the data key.
    Attributes: ``job`` (CfnJob), ``job_name``, ``job_arn``, ``role``, ``database_name``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        landing_bucket: s3.IBucket,
        reference_bucket: s3.IBucket,
        curated_bucket: s3.IBucket,
        data_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        settings = config.glue

        script = s3_assets.Asset(self, "Script", path=str(JOB_SCRIPT))
        package = s3_assets.Asset(
            self,
            "Package",
            path=str(GLUE_JOBS_DIR),
            exclude=["**/__pycache__", "**/*.pyc"],
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
            description="Glue join job: read landing and reference, write curated",
        )
        # Exactly the buckets the job touches: read the batch and the references, read and
        # write the curated bucket (dynamic partition overwrite deletes the old partition).
        landing_bucket.grant_read(self.role)
        reference_bucket.grant_read(self.role)
        curated_bucket.grant_read_write(self.role)
        curated_bucket.grant_delete(self.role)
        script.grant_read(self.role)
        package.grant_read(self.role)
        # Job bookmarks and CloudWatch Logs are encrypted with the data key (security config).
        data_key.grant_encrypt_decrypt(self.role)
        # Glue names the job's log groups under /aws-glue/ (per security configuration).
        self._log_groups_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws-glue/*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        # CloudWatch Logs encrypts the job's log groups with the data key on Glue's behalf.
        admit_logs_service(
            data_key, sid="AllowGlueLogGroupEncryption", log_groups_arn=self._log_groups_arn
        )

        self.database_name = f"{config.pipeline.dataset}_{config.stage}".replace("-", "_")
        # The job creates its table inside this database at run time, so the table goes (or
        # stays) with it: prod retains the catalog as it retains the curated bucket.
        database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name,
                description=f"Curated output of the {config.pipeline.dataset} ETL pipeline",
                location_uri=curated_bucket.s3_url_for_object(config.pipeline.dataset),
            ),
        )
        database.apply_removal_policy(
            RemovalPolicy.RETAIN if config.is_retained else RemovalPolicy.DESTROY
        )
        self._tables_arn = stack.format_arn(
            service="glue", resource="table", resource_name=f"{self.database_name}/*"
        )
        self._grant_catalog(stack)
        self._grant_logs_and_metrics()

        security_configuration = glue.CfnSecurityConfiguration(
            self,
            "SecurityConfiguration",
            name=Names.unique_resource_name(self, max_length=128, separator="-"),
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[
                    glue.CfnSecurityConfiguration.S3EncryptionProperty(
                        s3_encryption_mode="SSE-KMS", kms_key_arn=data_key.key_arn
                    )
                ],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=data_key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=data_key.key_arn
                ),
            ),
        )

        self.job = glue.CfnJob(
            self,
            "Job",
            description=f"Joins each {config.pipeline.dataset} batch with its reference data",
            role=self.role.role_arn,
            glue_version=GLUE_VERSION,
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=script.s3_object_url
            ),
            worker_type=settings.worker_type,
            number_of_workers=settings.number_of_workers,
            timeout=settings.timeout_minutes,
            max_retries=0,
            execution_class=settings.execution_class,
            execution_property=glue.CfnJob.ExecutionPropertyProperty(
                max_concurrent_runs=settings.max_concurrent_runs
            ),
            # Runs beyond max_concurrent_runs wait in Glue's queue (WAITING) instead of failing
            # with ConcurrentRunsExceededException: a backfill of many batches all runs.
            job_run_queuing_enabled=True,
            security_configuration=security_configuration.ref,
            default_arguments={
                "--job-language": "python",
                "--extra-py-files": package.s3_object_url,
                "--pipeline_config": config.pipeline.to_json(),
                "--output_path": curated_bucket.s3_url_for_object(),
                "--reference_path": reference_bucket.s3_url_for_object(),
                "--catalog_database": self.database_name,
                "--TempDir": curated_bucket.s3_url_for_object(GLUE_TEMP_PREFIX),
                # No --enable-continuous-cloudwatch-log / --enable-continuous-log-filter: Glue
                # 5.0 ignores them, every 5.0 job logs in real time. No
                # --enable-glue-datacatalog either: the job registers its table and partitions
                # through boto3 (join_job.catalog) and never uses Spark's catalog, which would
                # otherwise start up against the Data Catalog and need glue:GetDatabase on
                # "default" ("Unable to verify existence of default database").
                "--enable-metrics": "true",
                "--enable-observability-metrics": "true",
                "--enable-job-insights": "true",
                "--enable-spark-ui": "true",
                "--spark-event-logs-path": curated_bucket.s3_url_for_object(GLUE_SPARK_UI_PREFIX),
                # The job's independent count and reference checks run as background Spark jobs
                # beside the input pass (join_job.background); FAIR shares the executors between
                # them as the local sessions do, where FIFO would queue the pass behind them.
                "--conf": "spark.scheduler.mode=FAIR",
                # Each run names its batch explicitly; bookmarks would skip a rerun.
                "--job-bookmark-option": "job-bookmark-disable",
                # Workers on demand up to number_of_workers: the driver-only phases and small
                # batches do not pay for idle executors (glue.auto_scaling).
                **({"--enable-auto-scaling": "true"} if settings.auto_scaling else {}),
            },
        )
        self._acknowledge_wildcards(
            script.bucket.arn_for_objects("*"), [landing_bucket, reference_bucket, curated_bucket]
        )
        self.job_name = self.job.ref
        self.job_arn = stack.format_arn(service="glue", resource="job", resource_name=self.job_name)

    def _acknowledge_wildcards(self, assets_objects_arn: str, buckets: list[s3.IBucket]) -> None:
        """Each finding id is rendered from the ARN granted, so it holds with or without an
        account and region (cdk deploy synthesizes with both)."""
        grants = "CDK grant_read/grant_read_write on the job's own buckets and key"
        iam5 = "AwsSolutions-IAM5"
        acknowledge(
            self.role,
            {
                **{finding: grants for finding in S3_GRANT_ACTION_FINDINGS},
                **{finding: grants for finding in KMS_GRANT_ACTION_FINDINGS},
                **{
                    objects_wildcard_finding(bucket): "Batches, references and outputs have "
                    "keys known only at run time; the grant is limited to this one bucket."
                    for bucket in buckets
                },
                resource_finding(self, iam5, assets_objects_arn): "Read access to the job's "
                "script and package assets, as granted by Asset.grant_read (CDK bootstrap "
                "assets bucket).",
                resource_finding(self, iam5, self._tables_arn): "The job creates and updates "
                "its output table and partitions inside its own database only.",
                resource_finding(self, iam5, self._log_groups_arn): "Glue names its log groups "
                "per security configuration and run under /aws-glue/.",
                "AwsSolutions-IAM5[Resource::*]": "cloudwatch:PutMetricData supports no "
                "resource-level permissions; a condition limits it to the Glue namespace.",
            },
        )

    def _grant_catalog(self, stack: Stack) -> None:
        """The job upserts its output table and registers each batch's partition."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:CreateTable",
                    "glue:UpdateTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:UpdatePartition",
                ],
                resources=[
                    stack.format_arn(service="glue", resource="catalog"),
                    stack.format_arn(
                        service="glue", resource="database", resource_name=self.database_name
                    ),
                    self._tables_arn,
                ],
            )
        )

    def _grant_logs_and_metrics(self) -> None:
        """Job logs and metrics, as Glue's managed role would grant them."""
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:AssociateKmsKey",
                ],
                resources=[self._log_groups_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                # PutMetricData supports no resource-level permissions; the condition limits it.
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "Glue"}},
            )
        )
