"""Log groups: encrypted with the data key, whose policy admits CloudWatch Logs for them only."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest

from etl_local.offline_aws import resolve_intrinsics
from stacks.app_builder import stack_name
from tests.infra.conftest import resources_of_type

REGION = "eu-west-1"
ACCOUNT = "111122223333"
# CloudFormation names an unnamed log group <stack name>-<logical id>-<random suffix>.
SUFFIX = "Xy12AbCdEf34"
STACK_UUID = "5b1c7a30-cd4e-11ee-9a3b-0a1b2c3d4e5f"


def _pseudo(stage: str, template: dict[str, Any]) -> dict[str, str]:
    """The values CloudFormation fills in for the stage's stack: pseudo parameters, and the
    generated names of its functions (a provider's log group is named after its function)."""
    name = stack_name(stage)
    functions = resources_of_type(template, "AWS::Lambda::Function")
    return {
        "AWS::StackName": name,
        "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{name}/{STACK_UUID}",
        **{logical_id: f"{name}-{logical_id}-{SUFFIX}" for logical_id in functions},
    }


def _data_key(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (match,) = [
        item
        for item in resources_of_type(template, "AWS::KMS::Key").items()
        if item[0].startswith("StorageDataKey")
    ]
    return match


def _arn_patterns_admitted_for_logs(template: dict[str, Any], stage: str) -> list[str]:
    """The log-group ARN patterns for which the data key admits CloudWatch Logs (resolved)."""
    _, key = _data_key(template)
    patterns = []
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        service = resolve_intrinsics(
            statement.get("Principal", {}).get("Service", ""),
            _pseudo(stage, template),
            region=REGION,
            account_id=ACCOUNT,
        )
        if service != f"logs.{REGION}.amazonaws.com":
            continue
        condition = statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
        patterns.append(
            resolve_intrinsics(
                condition,
                _pseudo(stage, template),
                region=REGION,
                account_id=ACCOUNT,
            )
        )
    return patterns


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_log_group_is_encrypted_with_the_data_key(
    templates: dict[str, dict[str, Any]], stage: str
) -> None:
    template = templates[stage]
    key_id, _ = _data_key(template)
    log_groups = resources_of_type(template, "AWS::Logs::LogGroup")
    assert log_groups
    for logical_id, log_group in log_groups.items():
        assert log_group["Properties"].get("KmsKeyId") == {"Fn::GetAtt": [key_id, "Arn"]}, (
            logical_id
        )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_data_key_admits_cloudwatch_logs_for_each_log_group_and_no_other(
    templates: dict[str, dict[str, Any]], stage: str
) -> None:
    """Without the statement CloudFormation cannot create the log group (KMS access denied)."""
    template = templates[stage]
    patterns = _arn_patterns_admitted_for_logs(template, stage)
    for logical_id, log_group in resources_of_type(template, "AWS::Logs::LogGroup").items():
        name = log_group["Properties"].get("LogGroupName") or (
            f"{stack_name(stage)}-{logical_id}-{SUFFIX}"
        )
        name = resolve_intrinsics(name, _pseudo(stage, template), region=REGION, account_id=ACCOUNT)
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
        assert any(fnmatchcase(arn, pattern) for pattern in patterns), (arn, patterns)
    unrelated = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:someone-elses-log-group"
    assert not any(fnmatchcase(unrelated, pattern) for pattern in patterns), patterns
