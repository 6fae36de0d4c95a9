"""After ``cdk destroy``: whatever of a stage is still in the emulator, service by service."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from rehearsal.emulator import Emulator


def stage_leftovers(emulator: Emulator, stage: str) -> list[str]:
    """``service: name`` of every resource whose name carries the stage's stack name.

    CloudFormation names the stage's resources after the stack (``EtlPipeline-dev-...``,
    lower-cased for buckets); the catalog database is ``<dataset>_<stage>``; KMS keys are
    matched by the stack tag CDK gives them. A key pending deletion counts as gone, as on AWS.
    """
    marker = f"etlpipeline-{stage}".lower()
    found: list[str] = []

    def scan(service: str, names: Callable[[], Iterable[str]]) -> None:
        found.extend(f"{service}: {name}" for name in names() if marker in name.lower())

    c = emulator.client
    scan("cloudformation", lambda: _live_stacks(c("cloudformation")))
    scan("s3", lambda: (b["Name"] for b in c("s3").list_buckets()["Buckets"]))
    scan("lambda", lambda: (f["FunctionName"] for f in c("lambda").list_functions()["Functions"]))
    scan(
        "stepfunctions",
        lambda: (m["name"] for m in c("stepfunctions").list_state_machines()["stateMachines"]),
    )
    scan("sns", lambda: (t["TopicArn"] for t in c("sns").list_topics()["Topics"]))
    scan("sqs", lambda: c("sqs").list_queues().get("QueueUrls", []))
    scan("events", lambda: (r["Name"] for r in c("events").list_rules()["Rules"]))
    scan("iam", lambda: (r["RoleName"] for r in c("iam").list_roles()["Roles"]))
    scan("glue job", lambda: (j["Name"] for j in c("glue").get_jobs()["Jobs"]))
    scan(
        "glue security configuration",
        lambda: (
            s["Name"] for s in c("glue").get_security_configurations()["SecurityConfigurations"]
        ),
    )
    scan("logs", lambda: (g["logGroupName"] for g in c("logs").describe_log_groups()["logGroups"]))
    scan(
        "cloudwatch alarm",
        lambda: (a["AlarmName"] for a in c("cloudwatch").describe_alarms()["MetricAlarms"]),
    )
    scan(
        "dashboard",
        lambda: (d["DashboardName"] for d in c("cloudwatch").list_dashboards()["DashboardEntries"]),
    )
    databases = [d["Name"] for d in c("glue").get_databases()["DatabaseList"]]
    found.extend(
        f"glue database: {d}" for d in databases if d.endswith(f"_{stage.replace('-', '_')}")
    )
    found.extend(f"kms key: {k}" for k in _live_stage_keys(c("kms"), stage))
    return found


def _live_stacks(cloudformation: Any) -> Iterable[str]:
    for summary in cloudformation.list_stacks()["StackSummaries"]:
        if summary["StackStatus"] != "DELETE_COMPLETE":
            yield summary["StackName"]


def _live_stage_keys(kms: Any, stage: str) -> Iterable[str]:
    for key in kms.list_keys()["Keys"]:
        metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if metadata["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion"):
            continue
        tags = kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])
        if {"TagKey": "stage", "TagValue": stage} in tags:
            yield f"{key['KeyId']} ({metadata.get('Description', '')})"
