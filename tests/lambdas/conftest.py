"""The trigger handler under moto: a real bucket, a real state machine, events built from objects
moto really holds."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    sequencer: int = 0
    handler: ModuleType = field(init=False)

    def put(self, key: str, body: bytes = b"id,value\n1,a\n") -> str:
        self.s3.put_object(Bucket=LANDING_BUCKET, Key=key, Body=body)
        return key

    def record(self, key: str, event_name: str = "ObjectCreated:Put") -> dict[str, Any]:
        """An S3 notification record for ``key`` as S3 sends it (key URL-encoded)."""
        head = self.s3.head_object(Bucket=LANDING_BUCKET, Key=key)
        self.sequencer += 1
        return {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": REGION,
            "eventTime": "2026-11-24T10:00:00.000Z",
            "eventName": event_name,
            "s3": {
                "s3SchemaVersion": "1.0",
                "bucket": {"name": LANDING_BUCKET, "arn": f"arn:aws:s3:::{LANDING_BUCKET}"},
                "object": {
                    "key": quote_plus(key, safe="/"),
                    "size": head["ContentLength"],
                    "eTag": head["ETag"].strip('"'),
                    "sequencer": f"{self.sequencer:016X}",
                },
            },
        }

    def s3_event(self, *keys: str) -> dict[str, Any]:
        return {"Records": [self.record(key) for key in keys]}

    def eventbridge_event(self, key: str) -> dict[str, Any]:
        head = self.s3.head_object(Bucket=LANDING_BUCKET, Key=key)
        self.sequencer += 1
        return {
            "version": "0",
            "id": "17793124-05d4-b198-2fde-7ededc63b103",
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": ACCOUNT,
            "time": "2026-11-24T10:00:00Z",
            "region": REGION,
            "resources": [f"arn:aws:s3:::{LANDING_BUCKET}"],
            "detail": {
                "version": "0",
                "bucket": {"name": LANDING_BUCKET},
                "object": {
                    "key": quote_plus(key, safe="/"),
                    "size": head["ContentLength"],
                    "etag": head["ETag"].strip('"'),
                    "sequencer": f"{self.sequencer:016X}",
                },
                "request-id": "N4N7GDK58NMKJ12R",
                "requester": ACCOUNT,
                "reason": "PutObject",
            },
        }

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
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="etl-workflow",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/etl-workflow",
        )["stateMachineArn"]
        monkeypatch.setenv("STATE_MACHINE_ARN", arn)
        monkeypatch.setenv("STAGE", "test")
        for name in ("LANDING_PREFIX", "COMPLETION_MARKER", "METRICS_NAMESPACE"):
            monkeypatch.delenv(name, raising=False)
        world = Landing(s3=s3, sfn=sfn, state_machine_arn=arn)
        world.handler = import_handler()
        yield world
    sys.modules.pop(HANDLER_MODULE, None)
