"""The trigger handler under moto: a real bucket, a real state machine, events built from objects
moto really holds."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from moto import mock_aws

REGION = "us-east-1"
ACCOUNT = "123456789012"
LANDING_BUCKET = "landing-bucket"
HANDLER_MODULE = "lambdas.trigger.handler"
ALERT_TOPIC = "etl-alerts"
# When the events of these tests happened (S3 writes milliseconds, EventBridge whole seconds).
EVENT_TIME = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object the handler reads."""

    aws_request_id: str = "req-0001"
    function_name: str = "trigger"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:trigger"


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


def import_handler() -> ModuleType:
    """(Re)import the handler so it reads the current environment, as a cold start does."""
    sys.modules.pop(HANDLER_MODULE, None)
    return importlib.import_module(HANDLER_MODULE)


@dataclass
class Landing:
    """The moto landing bucket and state machine, and event builders for their objects."""

    s3: Any
    sfn: Any
    state_machine_arn: str
    inbox_url: str
    sequencer: int = 0
    handler: ModuleType = field(init=False)

    def put(self, key: str, body: bytes = b"id,value\n1,a\n", bucket: str = LANDING_BUCKET) -> str:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        return key

    def _object(self, key: str, bucket: str, version_id: str | None) -> dict[str, Any]:
        """What S3 reports of the object's current (or given) version, sequencer increasing."""
        head = self.s3.head_object(
            Bucket=bucket, Key=key, **({"VersionId": version_id} if version_id else {})
        )
        self.sequencer += 1
        return {
            "size": head["ContentLength"],
            "etag": head["ETag"].strip('"'),
            "version_id": head.get("VersionId"),  # only versioned buckets have one
            "sequencer": f"{self.sequencer:016X}",
        }

    def record(
        self,
        key: str,
        event_name: str = "ObjectCreated:Put",
        *,
        bucket: str = LANDING_BUCKET,
        time: datetime = EVENT_TIME,
        version_id: str | None = None,
    ) -> dict[str, Any]:
        """An S3 notification record for ``key`` as S3 sends it (key URL-encoded)."""
        obj = self._object(key, bucket, version_id)
        return {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time.microsecond // 1000:03d}Z",
            "eventName": event_name,
            "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
            "requestParameters": {"sourceIPAddress": "203.0.113.15"},
            "responseElements": {
                "x-amz-request-id": "C3D13FE58DE4C810",
                "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD",
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "incoming-uploads",
                "bucket": {
                    "name": bucket,
                    "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                    "arn": f"arn:aws:s3:::{bucket}",
                },
                "object": {
                    "key": quote_plus(key, safe="/"),
                    "size": obj["size"],
                    "eTag": obj["etag"],
                    "versionId": obj["version_id"],
                    "sequencer": obj["sequencer"],
                },
            },
        }

    def s3_event(self, *keys: str, time: datetime = EVENT_TIME) -> dict[str, Any]:
        return {"Records": [self.record(key, time=time) for key in keys]}

    def eventbridge_event(
        self,
        key: str,
        *,
        bucket: str = LANDING_BUCKET,
        time: datetime = EVENT_TIME,
        version_id: str | None = None,
    ) -> dict[str, Any]:
        """An EventBridge "Object Created" event as the S3 user guide shows it: the key as is."""
        obj = self._object(key, bucket, version_id)
        return {
            "version": "0",
            "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": ACCOUNT,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket},
                "object": {
                    "key": key,
                    "size": obj["size"],
                    "etag": obj["etag"],
                    "version-id": obj["version_id"],
                    "sequencer": obj["sequencer"],
                },
                "request-id": "N4N7GDK58NMKJ12R",
                "requester": ACCOUNT,
                "source-ip-address": "203.0.113.15",
                "reason": "PutObject",
            },
        }

    def alerts(self) -> list[dict[str, Any]]:
        """Messages the alert topic delivered (subject and parsed JSON message)."""
        sqs = boto3.client("sqs", region_name=REGION)
        received = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10)
        return [
            {"subject": body.get("Subject"), "message": json.loads(body["Message"])}
            for body in (json.loads(m["Body"]) for m in received.get("Messages", []))
        ]

    def executions(self) -> list[dict[str, Any]]:
        """Every execution moto recorded, with its input decoded."""
        listed = self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        result = []
        for item in listed:
            described = self.sfn.describe_execution(executionArn=item["executionArn"])
            result.append({"name": item["name"], "input": json.loads(described["input"])})
        return sorted(result, key=lambda execution: execution["input"]["batch_id"])


@pytest.fixture
def landing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Landing]:
    """moto with the landing bucket, a state machine, and the handler imported against them."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=LANDING_BUCKET)
        s3.put_bucket_versioning(
            Bucket=LANDING_BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        topic_arn = boto3.client("sns", region_name=REGION).create_topic(Name=ALERT_TOPIC)[
            "TopicArn"
        ]
        sqs = boto3.client("sqs", region_name=REGION)
        inbox_url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        boto3.client("sns", region_name=REGION).subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn
        )
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="etl-workflow",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/etl-workflow",
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", arn)
        monkeypatch.setenv("LANDING_BUCKET", LANDING_BUCKET)
        monkeypatch.setenv("ALERT_TOPIC_ARN", topic_arn)
        monkeypatch.setenv("STAGE", "test")
        for name in ("LANDING_PREFIX", "COMPLETION_MARKER", "METRICS_NAMESPACE", "BATCH_ID_MODE"):
            monkeypatch.delenv(name, raising=False)
        world = Landing(s3=s3, sfn=sfn, state_machine_arn=arn, inbox_url=inbox_url)
        world.handler = import_handler()
        yield world
    sys.modules.pop(HANDLER_MODULE, None)
