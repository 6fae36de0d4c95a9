"""Buckets: encryption, TLS-only, no public access, versioning, lifecycle, logging, removal."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Capture, Match, Template

from tests.infra.conftest import resources_of_type

DATA_BUCKETS = ("StorageLandingBucket", "StorageReferenceBucket", "StorageCuratedBucket")


def _bucket(template: Template, prefix: str) -> tuple[str, dict[str, Any]]:
    buckets = template.find_resources("AWS::S3::Bucket")
    matches = [(lid, res) for lid, res in buckets.items() if lid.startswith(prefix)]
    assert len(matches) == 1, f"expected one bucket {prefix}*, found {list(buckets)}"
    return matches[0]


def test_every_bucket_blocks_public_access_and_is_encrypted(dev_template: Template) -> None:
    buckets = dev_template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 4
    for logical_id, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, logical_id
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("aws:kms", "AES256")


@pytest.mark.parametrize("prefix", DATA_BUCKETS)
def test_data_buckets_use_the_customer_managed_key_with_bucket_keys(
    dev_template: Template, prefix: str
) -> None:
    _, bucket = _bucket(dev_template, prefix)
    key_ref = Capture()
    Template.from_json({"Resources": {"B": bucket}}).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": {"Fn::GetAtt": [key_ref, "Arn"]},
                        },
                    }
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "LoggingConfiguration": {
                "DestinationBucketName": {"Ref": Match.string_like_regexp("^StorageAccessLogs")},
                "LogFilePrefix": Match.any_value(),
            },
        },
    )
    assert key_ref.as_string().startswith("StorageDataKey")


def test_access_log_bucket_uses_sse_s3_because_log_delivery_cannot_use_kms(
    dev_template: Template,
) -> None:
    _, bucket = _bucket(dev_template, "StorageAccessLogsBucket")
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption[0]["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_data_key_rotates(dev_template: Template) -> None:
    dev_template.has_resource_properties(
        "AWS::KMS::Key",
        {"EnableKeyRotation": True, "Description": Match.string_like_regexp("data")},
    )


def test_every_bucket_denies_requests_without_tls(templates: dict[str, dict[str, Any]]) -> None:
    template = templates["dev"]
    policies = resources_of_type(template, "AWS::S3::BucketPolicy")
    covered = set()
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        tls = [
            s
            for s in statements
            if s["Effect"] == "Deny"
            and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            and s["Action"] == "s3:*"
        ]
        if tls:
            covered.add(policy["Properties"]["Bucket"]["Ref"])
    assert covered == set(resources_of_type(template, "AWS::S3::Bucket"))


@pytest.mark.parametrize("prefix", [*DATA_BUCKETS, "StorageAccessLogsBucket"])
def test_lifecycle_aborts_incomplete_uploads(dev_template: Template, prefix: str) -> None:
    _, bucket = _bucket(dev_template, prefix)
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(r.get("AbortIncompleteMultipartUpload") == {"DaysAfterInitiation": 1} for r in rules)


@pytest.mark.parametrize(
    "prefix", ["StorageLandingBucket", "StorageCuratedBucket", "StorageAccessLogsBucket"]
)
def test_versioned_buckets_expire_noncurrent_versions(dev_template: Template, prefix: str) -> None:
    _, bucket = _bucket(dev_template, prefix)
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any("NoncurrentVersionExpiration" in r for r in rules)


def test_landing_bucket_sends_events_to_eventbridge_without_a_custom_resource(
    dev_template: Template,
) -> None:
    _, bucket = _bucket(dev_template, "StorageLandingBucket")
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    dev_template.resource_count_is("Custom::S3BucketNotifications", 0)


def test_dev_buckets_are_destroyed_with_their_objects(dev_template: Template) -> None:
    for logical_id, bucket in dev_template.find_resources("AWS::S3::Bucket").items():
        assert bucket["DeletionPolicy"] == "Delete", logical_id
    assert len(dev_template.find_resources("Custom::S3AutoDeleteObjects")) == 4


def test_prod_retains_buckets_and_keys(prod_template: Template) -> None:
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key"):
        for logical_id, resource in prod_template.find_resources(resource_type).items():
            assert resource["DeletionPolicy"] == "Retain", logical_id
            assert resource["UpdateReplacePolicy"] == "Retain", logical_id
    prod_template.resource_count_is("Custom::S3AutoDeleteObjects", 0)


def test_bucket_names_are_generated_not_hard_coded(dev_template: Template) -> None:
    for logical_id, bucket in dev_template.find_resources("AWS::S3::Bucket").items():
        assert "BucketName" not in bucket["Properties"], logical_id


def test_auto_delete_provider_logs_to_a_group_the_stack_owns(dev_template: Template) -> None:
    """Else Lambda makes /aws/lambda/<provider>, kept forever after destroy (rehearsal found)."""
    (handler_id,) = (
        logical_id
        for logical_id in dev_template.find_resources("AWS::Lambda::Function")
        if logical_id.startswith("CustomS3AutoDeleteObjectsCustomResourceProviderHandler")
    )
    groups = dev_template.find_resources(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "LogGroupName": {"Fn::Join": ["", ["/aws/lambda/", {"Ref": handler_id}]]},
                "RetentionInDays": 14,
            },
            "DeletionPolicy": "Delete",
        },
    )
    assert len(groups) == 1
    (group_id,) = groups
    for logical_id, resource in dev_template.find_resources("Custom::S3AutoDeleteObjects").items():
        assert group_id in resource["DependsOn"], logical_id


def test_curated_bucket_expires_abandoned_staging_after_a_day_and_nothing_the_commit_needs(
    dev_template: Template,
) -> None:
    _, bucket = _bucket(dev_template, "StorageCuratedBucket")
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    staging = [rule for rule in rules if rule.get("Prefix") == "_staging/"]
    assert staging == [
        {
            "Id": "ExpireAbandonedStaging",
            "Prefix": "_staging/",
            "ExpirationInDays": 1,
            "Status": "Enabled",
        }
    ]
    # Current objects are expired only under prefixes no reader or commit depends on: run
    # folders, reports and in-flight markers are deleted by the job, never by age.
    expiring = {rule.get("Prefix") for rule in rules if "ExpirationInDays" in rule}
    assert expiring == {"_staging/", "_glue/temp/"}
