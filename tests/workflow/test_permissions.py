"""The state machine's role: list the landing prefix, run the one job, publish alerts; no more."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflow.conftest import QUIET


def _logical_id(template: dict[str, Any], resource_type: str, prefix: str = "") -> str:
    """The one resource of ``resource_type`` whose logical id starts with ``prefix``."""
    (logical_id,) = [
        str(key)
        for key, resource in template["Resources"].items()
        if resource["Type"] == resource_type and str(key).startswith(prefix)
    ]
    return logical_id


def _role_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Statements of every policy attached to the workflow's state machine role."""
    role = {"Ref": _logical_id(template, "AWS::IAM::Role", "WorkflowStateMachineRole")}
    return [
        statement
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy" and role in resource["Properties"]["Roles"]
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


@pytest.fixture(scope="module")
def template(workflow_templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return workflow_templates[QUIET]


def test_listing_is_allowed_on_the_landing_bucket_under_the_landing_prefix_only(
    template: dict[str, Any],
) -> None:
    landing = _logical_id(template, "AWS::S3::Bucket", "StorageLandingBucket")
    landing_arn = {"Fn::GetAtt": [landing, "Arn"]}
    statements = _role_statements(template)
    listing = [s for s in statements if "s3:ListBucket" in _actions(s)]
    allow = [(s["Action"], s["Resource"]) for s in listing if s["Effect"] == "Allow"]
    deny = [(s["Resource"], s["Condition"]) for s in listing if s["Effect"] == "Deny"]
    assert allow == [("s3:ListBucket", landing_arn)]
    assert deny == [(landing_arn, {"StringNotLike": {"s3:prefix": ["incoming/*"]}})]
    s3_actions = {a for s in statements for a in _actions(s) if a.startswith("s3:")}
    assert s3_actions == {"s3:ListBucket"}


def test_glue_permissions_cover_the_one_job_only(template: dict[str, Any]) -> None:
    job_id = _logical_id(template, "AWS::Glue::Job")
    (statement,) = [s for s in _role_statements(template) if _actions(s)[0].startswith("glue:")]
    assert sorted(_actions(statement)) == [
        "glue:BatchStopJobRun",
        "glue:GetJobRun",
        "glue:GetJobRuns",
        "glue:StartJobRun",
    ]
    assert statement["Resource"]["Fn::Join"][1][-2:] == [":job/", {"Ref": job_id}]


def test_publishing_covers_the_alert_topic_and_its_key_only(template: dict[str, Any]) -> None:
    statements = _role_statements(template)
    (publish,) = [s for s in statements if "sns:Publish" in _actions(s)]
    assert publish["Resource"] == {"Ref": _logical_id(template, "AWS::SNS::Topic")}
    (key_use,) = [s for s in statements if any(a.startswith("kms:") for a in _actions(s))]
    alerts_key = _logical_id(template, "AWS::KMS::Key", "AlertsAlertsKey")
    assert key_use["Resource"] == {"Fn::GetAtt": [alerts_key, "Arn"]}
    assert sorted(_actions(key_use)) == ["kms:Decrypt", "kms:GenerateDataKey*"]
