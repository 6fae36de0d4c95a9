"""Every IAM statement names its resources; the few wildcards left are listed here with reasons."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

# Actions that AWS offers only on Resource "*", each with the reason it is acceptable.
ALLOWED_STAR_RESOURCE_ACTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions (Lambda and SFN tracing).",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions.",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions.",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions.",
    "logs:CreateLogDelivery": "Step Functions log delivery is account-level (AWS docs).",
    "logs:GetLogDelivery": "Step Functions log delivery is account-level.",
    "logs:UpdateLogDelivery": "Step Functions log delivery is account-level.",
    "logs:DeleteLogDelivery": "Step Functions log delivery is account-level.",
    "logs:ListLogDeliveries": "Step Functions log delivery is account-level.",
    "logs:PutResourcePolicy": "Step Functions log delivery is account-level.",
    "logs:DescribeResourcePolicies": "Step Functions log delivery is account-level.",
    "logs:DescribeLogGroups": "Step Functions log delivery is account-level.",
    "cloudwatch:PutMetricData": "No resource-level permissions; limited by a namespace condition.",
}
SERVICE_WIDE = re.compile(r"^[a-z0-9-]+:\*$")


def _statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents: list[dict[str, Any]] = []
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        elif resource["Type"] == "AWS::IAM::Role":
            documents.extend(p["PolicyDocument"] for p in props.get("Policies", []))
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_no_action_wildcards_and_no_unexplained_star_resources(
    every_form_templates: dict[str, dict[str, Any]], stage: str
) -> None:
    """In both synth forms (with and without an account and region)."""
    problems = []
    checked = 0
    for logical_id, statement in _statements(every_form_templates[stage]):
        if statement["Effect"] != "Allow":
            continue
        checked += 1
        actions = _as_list(statement["Action"])
        for action in actions:
            if action == "*" or SERVICE_WIDE.match(action):
                problems.append(f"{logical_id}: service-wide action {action}")
        if "*" in _as_list(statement.get("Resource", [])):
            unexplained = [a for a in actions if a not in ALLOWED_STAR_RESOURCE_ACTIONS]
            if unexplained:
                problems.append(f"{logical_id}: Resource '*' for {unexplained}")
    assert checked > 10, "the walk found too few statements to be meaningful"
    assert problems == []


def test_the_walk_flags_a_star_grant() -> None:
    """Guard for the test above: a policy with s3:* on '*' must be reported."""
    template = {
        "Resources": {
            "Bad": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
                    }
                },
            }
        }
    }
    ((logical_id, statement),) = list(_statements(template))
    assert logical_id == "Bad"
    assert SERVICE_WIDE.match(statement["Action"])
    assert statement["Action"] not in ALLOWED_STAR_RESOURCE_ACTIONS
