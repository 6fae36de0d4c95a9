"""Glue job: version, capacity from config, arguments, security configuration, role, database."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import App, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Capture, Match, Template

from join_job.pipeline_config import load_pipeline_config
from stacks.config import parse_stage_config
from stacks.glue_job import JoinGlueJob
from tests.infra.conftest import CDK_CONTEXT, PIPELINE_CONFIG, resources_of_type


def _job(template: Template) -> dict[str, Any]:
    jobs = template.find_resources("AWS::Glue::Job")
    assert len(jobs) == 1
    return next(iter(jobs.values()))["Properties"]


def test_job_is_glue_5_with_capacity_from_the_stage_config(
    dev_template: Template, prod_template: Template
) -> None:
    for template, stage in ((dev_template, "dev"), (prod_template, "prod")):
        glue = CDK_CONTEXT["stages"][stage]["glue"]
        template.has_resource_properties(
            "AWS::Glue::Job",
            {
                "GlueVersion": "5.0",
                "Command": {
                    "Name": "glueetl",
                    "PythonVersion": "3",
                    "ScriptLocation": Match.any_value(),
                },
                "WorkerType": glue["worker_type"],
                "NumberOfWorkers": glue["number_of_workers"],
                "Timeout": glue["timeout_minutes"],
                "ExecutionClass": glue["execution_class"],
                "ExecutionProperty": {"MaxConcurrentRuns": glue["max_concurrent_runs"]},
                "MaxRetries": 0,
                "SecurityConfiguration": {"Ref": Match.string_like_regexp("SecurityConfiguration")},
            },
        )


def test_job_default_arguments_carry_config_paths_logging_and_metrics(
    dev_template: Template,
) -> None:
    args = _job(dev_template)["DefaultArguments"]
    for flag in ("--enable-metrics", "--enable-observability-metrics", "--enable-job-insights"):
        assert args[flag] == "true", flag
    # Glue 5.0 ignores the continuous-logging flags (all 5.0 jobs log in real time), and the
    # job writes the catalog through boto3: Spark's Data Catalog client would need
    # glue:GetDatabase on "default" ("Unable to verify existence of default database").
    for flag in (
        "--enable-continuous-cloudwatch-log",
        "--enable-continuous-log-filter",
        "--enable-glue-datacatalog",
    ):
        assert flag not in args, flag
    assert json.loads(args["--pipeline_config"])["dataset"] == "flights"
    assert json.dumps(args["--output_path"]).count("StorageCuratedBucket") == 1
    assert json.dumps(args["--reference_path"]).count("StorageReferenceBucket") == 1
    assert args["--catalog_database"] == "flights_dev"
    assert "--extra-py-files" in args
    # Per-run arguments come from the workflow, never from defaults.
    assert "--input_path" not in args
    assert "--batch_id" not in args


def _assert_default_argument(templates: tuple[Template, ...], name: str, value: str) -> None:
    for template in templates:
        template.has_resource_properties(
            "AWS::Glue::Job", {"DefaultArguments": Match.object_like({name: value})}
        )


def test_job_schedules_its_background_spark_jobs_fair_as_the_local_sessions_do(
    dev_template: Template, prod_template: Template
) -> None:
    # The count and the reference checks run beside the input pass (join_job.background).
    _assert_default_argument((dev_template, prod_template), "--conf", "spark.scheduler.mode=FAIR")


def test_auto_scaling_is_on_by_default_with_number_of_workers_as_the_maximum(
    dev_template: Template, prod_template: Template
) -> None:
    _assert_default_argument((dev_template, prod_template), "--enable-auto-scaling", "true")


def test_auto_scaling_can_be_turned_off_per_stage() -> None:
    # The construct alone in a bare stack: a whole app synth would cost the suite seconds.
    config = parse_stage_config(
        "fixed",
        {"glue": {"auto_scaling": False, "number_of_workers": 4}},
        load_pipeline_config(PIPELINE_CONFIG),
    )
    stack = Stack(App(), "Fixed")
    key = kms.Key(stack, "Key")
    landing, reference, curated = (s3.Bucket(stack, name) for name in ("L", "R", "C"))
    JoinGlueJob(
        stack,
        "Job",
        config=config,
        landing_bucket=landing,
        reference_bucket=reference,
        curated_bucket=curated,
        data_key=key,
    )
    properties = _job(Template.from_stack(stack))
    assert "--enable-auto-scaling" not in properties["DefaultArguments"]
    assert properties["NumberOfWorkers"] == 4


def test_security_configuration_encrypts_s3_logs_and_bookmarks(dev_template: Template) -> None:
    key = {"Fn::GetAtt": [Match.string_like_regexp("^StorageDataKey"), "Arn"]}
    dev_template.has_resource_properties(
        "AWS::Glue::SecurityConfiguration",
        {
            "EncryptionConfiguration": {
                "S3Encryptions": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key}],
                "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key},
                "JobBookmarksEncryption": {
                    "JobBookmarksEncryptionMode": "CSE-KMS",
                    "KmsKeyArn": key,
                },
            }
        },
    )


def _role_statements(template: dict[str, Any], role_prefix: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        roles = [r["Ref"] for r in policy["Properties"]["Roles"]]
        if any(r.startswith(role_prefix) for r in roles):
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def test_job_role_reads_landing_and_reference_and_writes_only_curated(
    templates: dict[str, dict[str, Any]],
) -> None:
    statements = _role_statements(templates["dev"], "GlueJobRole")
    writers = {"s3:PutObject", "s3:DeleteObject*", "s3:Abort*"}
    written: set[str] = set()
    read: set[str] = set()
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        text = json.dumps(statement["Resource"])
        buckets = {
            name
            for name in ("StorageLandingBucket", "StorageReferenceBucket", "StorageCuratedBucket")
            if name in text
        }
        if writers & set(actions):
            written |= buckets
        if "s3:GetObject*" in actions:
            read |= buckets
    assert written == {"StorageCuratedBucket"}
    assert read == {"StorageLandingBucket", "StorageReferenceBucket", "StorageCuratedBucket"}


def test_job_role_is_assumed_by_glue_only(dev_template: Template) -> None:
    dev_template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "glue.amazonaws.com"},
                    }
                ]
            },
            "Description": Match.string_like_regexp("Glue join job"),
        },
    )


def test_catalog_database_points_at_the_curated_dataset(dev_template: Template) -> None:
    location = Capture()
    dev_template.has_resource_properties(
        "AWS::Glue::Database",
        {
            "DatabaseInput": {
                "Name": "flights_dev",
                "LocationUri": location,
                "Description": Match.any_value(),
            }
        },
    )
    assert "StorageCuratedBucket" in json.dumps(location.as_object())


def test_runs_beyond_max_concurrency_queue_instead_of_failing(
    dev_template: Template, prod_template: Template
) -> None:
    for template in (dev_template, prod_template):
        job = _job(template)
        assert job["JobRunQueuingEnabled"] is True
        assert job["ExecutionProperty"]["MaxConcurrentRuns"] >= 1


def test_catalog_database_follows_the_stage_removal_policy(
    dev_template: Template, prod_template: Template
) -> None:
    """The job's table lives in this database, so it goes (dev) or stays (prod) with it."""
    for template, policy in ((dev_template, "Delete"), (prod_template, "Retain")):
        (database,) = template.find_resources("AWS::Glue::Database").values()
        assert database["DeletionPolicy"] == policy
        assert database["UpdateReplacePolicy"] == policy
