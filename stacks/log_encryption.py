"""CloudWatch log groups encrypted with a customer-managed key: the key policy side."""

from __future__ import annotations

from aws_cdk import ArnFormat, Aws, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs


def admit_log_group(key: kms.IKey, log_group: logs.LogGroup) -> None:
    """Let CloudWatch Logs use ``key`` for ``log_group`` and for no other log group.

    A log group created with ``encryption_key`` needs the key policy to admit the regional logs
    service with the log group's ARN as encryption context. The log group's ARN cannot be used
    here: the log group already references the key, so the policy would depend on it in turn. A
    log group without a name gets ``<stack name>-<logical id>-<suffix>`` from CloudFormation,
    which the pattern pins; a named one is matched by its name.
    """
    stack = Stack.of(log_group)
    resource = log_group.node.default_child
    assert isinstance(resource, logs.CfnLogGroup)
    name = resource.log_group_name
    # Unnamed, the L2 still sets a lazy physical name, which resolves to nothing.
    if name is None or stack.resolve(name) is None:
        name = f"{Aws.STACK_NAME}-{stack.get_logical_id(resource)}-*"
    construct_path = log_group.node.path.split("/")[1:]
    admit_logs_service(
        key,
        sid="EncryptLogGroup" + "".join(part for part in construct_path if part.isalnum()),
        log_groups_arn=stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        ),
    )


def admit_logs_service(key: kms.IKey, *, sid: str, log_groups_arn: str) -> None:
    """Key-policy statement: the regional CloudWatch Logs service may use ``key`` for the log
    groups matching ``log_groups_arn`` (an ARN pattern), and for no other."""
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            # In a key policy "*" means this key.
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups_arn}},
        )
    )
