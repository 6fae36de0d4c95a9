"""Log groups for the Lambda functions CDK adds by itself (custom resource providers)."""

from __future__ import annotations

from aws_cdk import CfnResource, CustomResourceProviderBase, Fn, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import IConstruct

from stacks.config import StageConfig
from stacks.log_encryption import admit_log_group
from stacks.log_retention import retention_days


def manage_provider_log_groups(
    stack: Stack, *, config: StageConfig, log_key: kms.IKey
) -> list[logs.LogGroup]:
    """Give each custom resource provider's function a log group that the stack owns.

    Without one, Lambda creates ``/aws/lambda/<function>`` on the first invocation: it never
    expires and outlives ``cdk destroy`` (the deploy rehearsal found dev's auto-delete-objects
    provider's group left behind). The group takes the stage's retention and removal policy and
    is encrypted with ``log_key`` like every other log group of the stack; every custom resource
    waits for it, so the provider's first log line lands in it.
    """
    removal = RemovalPolicy.RETAIN if config.is_retained else RemovalPolicy.DESTROY
    groups: list[logs.LogGroup] = []
    for provider in stack.node.children:
        if not isinstance(provider, CustomResourceProviderBase):
            continue
        group = logs.LogGroup(
            stack,
            f"{provider.node.id.replace('Custom::', '')}LogGroup",
            log_group_name=Fn.join("", ["/aws/lambda/", _resource(provider, "Handler").ref]),
            retention=retention_days(config.log_retention_days),
            removal_policy=removal,
            encryption_key=log_key,
        )
        admit_log_group(log_key, group)
        groups.append(group)
    custom_resources = [
        child
        for child in stack.node.find_all()
        if isinstance(child, CfnResource) and child.cfn_resource_type.startswith("Custom::")
    ]
    for resource in custom_resources:
        for group in groups:
            resource.add_resource_dependency(_resource(group))
    return groups


def _resource(construct: IConstruct, child: str | None = None) -> CfnResource:
    """The CloudFormation resource of ``construct`` (or of its child named ``child``)."""
    found = construct.node.find_child(child) if child else construct.node.default_child
    if not isinstance(found, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource {child or ''}")
    return found
