"""Every workaround the deploy rehearsal needs for the ministack emulator, one per known gap.

Nothing here changes the stack: the rehearsal deploys exactly what ``cdk deploy`` would. Each
workaround names the gap it bridges (``GAP_*``); :data:`GAPS` lists them all and the rehearsal
prints that list in its summary, next to what it could not bridge.

This file has two users, so its top level imports the standard library only:

- the emulator's own interpreter (``.venv-emulator``, ministack's pinned botocore) runs it as
  its launcher: ``python rehearsal/emulator_gaps.py`` applies the emulator-side patches to the
  installed ministack in memory (the package on disk stays untouched), then starts it;
- the rehearsal (the project's venv) imports the client-side helpers: the emulator's
  environment and the Step Functions mock configuration.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

GAP_GLUE_SECURITY_CONFIGURATION = (
    "no CloudFormation provider for AWS::Glue::SecurityConfiguration "
    "(bridged: a provider backed by the emulator's own Glue security-configuration API)"
)
GAP_NODE_SDK = (
    "Node.js Lambdas get no AWS SDK v3, which the real runtime ships; CDK's auto-delete-objects "
    "custom resource needs @aws-sdk/client-s3 (bridged: the npm package pinned in "
    "package.json, on the emulator's NODE_PATH)"
)
GAP_S3_SDK_TYPES = (
    "aws-sdk:s3:listObjectsV2 returns KeyCount, MaxKeys, IsTruncated and Size as strings, so "
    "the gate's numeric and boolean Choices never match (bridged: the result is typed as the "
    "S3 API model types it)"
)
GAP_GLUE_SYNC = (
    "no glue:startJobRun.sync and no Glue job runs (bridged: the Step Functions mock "
    "configuration answers RunGlueJob, per test case, in the AWS Step Functions Local format)"
)
GAP_AUTO_DELETE_TAGS = (
    "CloudFormation does not put a bucket's Tags property on the bucket, so CDK's "
    "auto-delete-objects custom resource gets NoSuchTagSet and cdk destroy fails (bridged: the "
    "bucket provider applies the template's Tags, as CloudFormation does)"
)
GAP_EVENTBRIDGE_VERSION_ID = (
    'S3\'s EventBridge "Object Created" events carry no detail.object.version-id, which real '
    "S3 sends for a versioned bucket; the trigger tells a second delivery from a new version by "
    "it (bridged: the event's detail gets the version id of the object version it reports)"
)
GAPS = (
    GAP_GLUE_SECURITY_CONFIGURATION,
    GAP_NODE_SDK,
    GAP_S3_SDK_TYPES,
    GAP_GLUE_SYNC,
    GAP_AUTO_DELETE_TAGS,
    GAP_EVENTBRIDGE_VERSION_ID,
)
# What the emulator cannot show at all; printed by every rehearsal, never skipped silently.
NOT_BRIDGED = (
    "IAM and KMS policies are not enforced: a missing grant or key-policy statement would pass",
    "the Glue job never runs: its outcomes are mocked, so the job script, its arguments on Glue "
    "and its Data Catalog writes are not exercised here (tests/glue_jobs and the offline "
    "workflow tests cover them)",
    "CloudWatch alarms, the dashboard and the Glue job-state rule are created but never fire",
)


# -- client side: how the rehearsal starts the emulator and talks to it ---------------------


def emulator_environment(
    base: Mapping[str, str], *, port: int, node_bin: Path | None
) -> dict[str, Any]:
    """The emulator process's environment: loopback only, one port, the SDK for Node Lambdas."""
    env = dict(base)
    env.update(
        {
            "GATEWAY_PORT": str(port),
            # ministack binds every interface by default; the rehearsal needs loopback only.
            "BIND_HOST": "127.0.0.1",
            "MINISTACK_REGION": "us-east-1",
            # GAP_NODE_SDK: the real Node.js runtime ships the AWS SDK v3; here it comes from
            # the project's node_modules (package.json pins @aws-sdk/client-s3).
            "NODE_PATH": str(PROJECT_ROOT / "node_modules"),
        }
    )
    if node_bin is not None:  # Node >= 22 for the Node.js workers, as the Makefile picks it
        env["PATH"] = os.pathsep.join([str(node_bin), env.get("PATH", "")])
    return env


def glue_mock_config(
    state_machine_name: str, outcomes: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """GAP_GLUE_SYNC: the Step Functions Local mock configuration for ``RunGlueJob``.

    ``outcomes`` maps a test case to the MockedResponses entry RunGlueJob gets, by attempt
    (``{"0": {"Return": ...}}`` or ``{"0-9": {"Throw": ...}}``). An execution started on
    ``<stateMachineArn>#<test case>`` uses it; post the result to ``/_ministack/config`` as
    ``{"stepfunctions._sfn_mock_config": ...}``.
    """
    return {
        "StateMachines": {
            state_machine_name: {
                "TestCases": {case: {"RunGlueJob": f"Glue{case}"} for case in outcomes}
            }
        },
        "MockedResponses": {f"Glue{case}": dict(response) for case, response in outcomes.items()},
    }


# -- emulator side: patches applied in the emulator's own process ------------------------------


def _register_glue_security_configuration() -> None:
    """GAP_GLUE_SECURITY_CONFIGURATION: create/delete through ministack's Glue API."""
    from ministack.services import glue
    from ministack.services.cloudformation import provisioners

    def call(
        operation: Callable[[dict[str, Any]], tuple[int, Any, Any]], data: dict[str, Any]
    ) -> None:
        status, _headers, body = operation(data)
        if status >= 400:
            raise ValueError(f"AWS::Glue::SecurityConfiguration: {body!r}")

    def create(
        logical_id: str, props: dict[str, Any], stack_name: str
    ) -> tuple[str, dict[str, Any]]:
        name = props.get("Name") or f"{stack_name}-{logical_id}"
        call(
            glue._create_security_configuration,
            {"Name": name, "EncryptionConfiguration": props.get("EncryptionConfiguration", {})},
        )
        return name, {}

    def delete(physical_id: str, props: dict[str, Any]) -> None:
        call(glue._delete_security_configuration, {"Name": physical_id})

    provisioners._RESOURCE_HANDLERS["AWS::Glue::SecurityConfiguration"] = {
        "create": create,
        "delete": delete,
    }


# ListObjectsV2 members the S3 API model types as numbers and booleans.
_LIST_INTEGERS = ("KeyCount", "MaxKeys")
_LIST_BOOLEANS = ("IsTruncated",)


def type_list_objects_result(result: dict[str, Any]) -> dict[str, Any]:
    """GAP_S3_SDK_TYPES: a listObjectsV2 result with the types the S3 model gives its members."""
    typed = dict(result)
    for name in _LIST_INTEGERS:
        if isinstance(typed.get(name), str):
            typed[name] = int(typed[name])
    for name in _LIST_BOOLEANS:
        if isinstance(typed.get(name), str):
            typed[name] = typed[name].lower() == "true"
    contents = typed.get("Contents")
    if isinstance(contents, dict):  # one object: the XML reader does not make a list of it
        contents = [contents]
    if isinstance(contents, list):
        typed["Contents"] = [
            {**item, "Size": int(item["Size"])} if isinstance(item.get("Size"), str) else item
            for item in contents
        ]
    return typed


def _type_s3_listings() -> None:
    from ministack.services import stepfunctions

    dispatch = stepfunctions._dispatch_aws_sdk_rest_xml

    def typed_dispatch(service_info: Any, service_name: str, action: str, input_data: Any) -> Any:
        result = dispatch(service_info, service_name, action, input_data)
        if service_name == "s3" and action.lower() == "listobjectsv2" and isinstance(result, dict):
            return type_list_objects_result(result)
        return result

    stepfunctions._dispatch_aws_sdk_rest_xml = typed_dispatch


def _tag_buckets_from_template() -> None:
    """GAP_AUTO_DELETE_TAGS: a bucket created by CloudFormation carries its template Tags."""
    from ministack.services import s3
    from ministack.services.cloudformation import provisioners

    handlers = provisioners._RESOURCE_HANDLERS["AWS::S3::Bucket"]
    create_bucket = provisioners._s3_create

    def create(
        logical_id: str, props: dict[str, Any], stack_name: str
    ) -> tuple[str, dict[str, Any]]:
        name, attributes = create_bucket(logical_id, props, stack_name)
        tags = {tag["Key"]: tag["Value"] for tag in props.get("Tags") or []}
        if tags:
            s3._bucket_tags[name] = {**tags, **(s3._bucket_tags.get(name) or {})}
        return name, attributes

    provisioners._s3_create = create  # _s3_update creates through the module attribute
    handlers["create"] = create


def with_version_id(detail: dict[str, Any], version_id: str | None) -> dict[str, Any]:
    """GAP_EVENTBRIDGE_VERSION_ID: an S3 event detail whose object names its version, as in AWS.

    The S3 user guide's "Object Created" example lists ``key, size, etag, version-id,
    sequencer``; the version id is absent only for an unversioned bucket.
    """
    obj = detail.get("object")
    if not version_id or not isinstance(obj, dict) or "version-id" in obj:
        return detail
    ordered: dict[str, Any] = {}
    for name, value in obj.items():
        if name == "sequencer":
            ordered["version-id"] = version_id
        ordered[name] = value
    ordered.setdefault("version-id", version_id)
    return {**detail, "object": ordered}


def _version_ids_on_eventbridge() -> None:
    """GAP_EVENTBRIDGE_VERSION_ID: put the version id S3 knows into its EventBridge event.

    ministack builds the event inside ``s3._fire_s3_event`` (which gets the version id) and
    hands it to ``eventbridge._dispatch_event`` on the same thread; the version id goes from
    one to the other through a thread-local.
    """
    from ministack.services import eventbridge, s3

    fire, dispatch = s3._fire_s3_event, eventbridge._dispatch_event
    current = threading.local()

    def fire_with_version(*args: Any, **kwargs: Any) -> Any:
        current.version_id = kwargs.get("version_id")
        try:
            return fire(*args, **kwargs)
        finally:
            current.version_id = None

    def dispatch_with_version(event: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        version_id = getattr(current, "version_id", None)
        if version_id and event.get("Source") == "aws.s3" and isinstance(event.get("Detail"), str):
            detail = with_version_id(json.loads(event["Detail"]), version_id)
            event = {**event, "Detail": json.dumps(detail)}
        return dispatch(event, *args, **kwargs)

    s3._fire_s3_event = fire_with_version  # _fire_s3_event_async looks it up at call time
    eventbridge._dispatch_event = dispatch_with_version


def launch() -> None:
    """Apply the emulator-side workarounds, then run ministack in the foreground."""
    _register_glue_security_configuration()
    _type_s3_listings()
    _tag_buckets_from_template()
    _version_ids_on_eventbridge()
    from ministack import app

    app.main()


if __name__ == "__main__":
    launch()
