"""cdk-nag acknowledgments: every one names its rule finding and says why it is acceptable."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Acknowledgment, Arn, ArnFormat, CfnResource, Stack, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct


def acknowledge(construct: IConstruct, reasons: Mapping[str, str]) -> None:
    """Acknowledge cdk-nag findings on ``construct`` (and its children), each with its reason.

    Keys are finding ids as cdk-nag v3 reports them: ``AwsSolutions-S1`` or, for rules with
    several findings per resource, ``AwsSolutions-IAM5[Resource::*]``.
    """
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=finding, reason=reason) for finding, reason in reasons.items())
    )


def objects_wildcard_finding(bucket: s3.IBucket) -> str:
    """The IAM5 finding id for a grant on every object of ``bucket`` (``<bucket arn>/*``)."""
    resource = bucket.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{bucket.node.path} has no CloudFormation resource of its own")
    logical_id = Stack.of(bucket).resolve(resource.logical_id)
    return f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>/*]"


def resource_finding(scope: IConstruct, rule: str, resource: str) -> str:
    """The finding id cdk-nag reports for ``resource`` (an ARN, tokens allowed) under ``rule``.

    Rendered from the resolved value the way cdk-nag flattens it, so one acknowledgment holds
    for an environment-agnostic stack (``arn:<AWS::Partition>:...:<AWS::AccountId>:...``) and
    an environment-specific one (``arn:aws:...:111111111111:...``) alike, and names exactly the
    ARN the policy grants: nothing wider.
    """
    return f"{rule}[Resource::{_flatten(Stack.of(scope).resolve(resource))}]"


# ${Name} in an Fn::Sub string; ${!Literal} stays literal.
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def _flatten(value: Any) -> str:
    """cdk-nag's text for a resolved CloudFormation value: Ref X -> <X>, GetAtt -> <Id.Attr>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref":
            return f"<{argument}>"
        if key == "Fn::GetAtt":
            return f"<{argument[0]}.{argument[1]}>"
        if key == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_flatten(part) for part in parts)
        if key == "Fn::Sub" and isinstance(argument, str):
            return _SUB_VARIABLE.sub(lambda m: f"<{m.group(1)}>", argument).replace("${!", "${")
        if key in ("Fn::Select", "Fn::Split"):
            # cdk-nag writes other intrinsics as their compact JSON.
            return json.dumps(value, separators=(",", ":"))
    raise ValueError(f"cannot render {value!r} as a cdk-nag finding")


def executions_wildcard_finding(state_machine: sfn.IStateMachine) -> str:
    """The IAM5 finding id for ``grant_execution`` on every execution of ``state_machine``.

    Built the way ``grant_execution`` builds the ARN, so it holds with or without an account
    and region on the stack.
    """
    name = Arn.split(state_machine.state_machine_arn, ArnFormat.COLON_RESOURCE_NAME).resource_name
    executions = Stack.of(state_machine).format_arn(
        service="states",
        resource="execution",
        resource_name=f"{name}:*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return resource_finding(state_machine, "AwsSolutions-IAM5", executions)


# Action wildcards that CDK's grant_read / grant_read_write / grant_delete and Key grants emit.
S3_GRANT_ACTION_FINDINGS = tuple(
    f"AwsSolutions-IAM5[Action::{action}]"
    for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*")
)
KMS_GRANT_ACTION_FINDINGS = tuple(
    f"AwsSolutions-IAM5[Action::{action}]" for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*")
)
