"""cdk-nag acknowledgments: every one names its rule finding and says why it is acceptable."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
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


def executions_wildcard_finding(state_machine: sfn.IStateMachine) -> str:
    """The IAM5 finding id for ``grant_execution`` on every execution of ``state_machine``."""
    resource = state_machine.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{state_machine.node.path} has no CloudFormation resource of its own")
    logical_id = Stack.of(state_machine).resolve(resource.logical_id)
    name = f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{logical_id}"}}]}}]}}'
    return (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:"
        f"<AWS::AccountId>:execution:{name}:*]"
    )


# Action wildcards that CDK's grant_read / grant_read_write / grant_delete and Key grants emit.
S3_GRANT_ACTION_FINDINGS = tuple(
    f"AwsSolutions-IAM5[Action::{action}]"
    for action in ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*")
)
KMS_GRANT_ACTION_FINDINGS = tuple(
    f"AwsSolutions-IAM5[Action::{action}]" for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*")
)
