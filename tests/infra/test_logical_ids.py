"""Stateful resources keep their logical IDs: a refactor that renames one would replace it."""

from __future__ import annotations

from typing import Any

import pytest

PINNED = {
    "StorageDataKey": "AWS::KMS::Key",
    "StorageAccessLogsBucket": "AWS::S3::Bucket",
    "StorageLandingBucket": "AWS::S3::Bucket",
    "StorageReferenceBucket": "AWS::S3::Bucket",
    "StorageCuratedBucket": "AWS::S3::Bucket",
    "AlertsAlertsKey": "AWS::KMS::Key",
    "AlertsAlertsTopic": "AWS::SNS::Topic",
    "TriggerDeadLetterQueue": "AWS::SQS::Queue",
}
PINNED_IDS = {
    "StorageDataKeyE15BA43B",
    "StorageAccessLogsBucketFEE4D6FB",
    "StorageLandingBucket75D44D45",
    "StorageReferenceBucket77460B50",
    "StorageCuratedBucket1413FA2D",
    "AlertsAlertsKey228B8203",
    "AlertsAlertsTopic96BD0900",
    "TriggerDeadLetterQueueE7CE1E11",
}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_stateful_resources_keep_their_logical_ids(
    templates: dict[str, dict[str, Any]], stage: str
) -> None:
    resources = templates[stage]["Resources"]
    found = {
        logical_id
        for logical_id, resource in resources.items()
        for prefix, resource_type in PINNED.items()
        if logical_id.startswith(prefix) and resource["Type"] == resource_type
    }
    assert found == PINNED_IDS
