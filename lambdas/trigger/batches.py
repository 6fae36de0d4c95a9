"""Which batch an upload belongs to, its execution names, and the workflow input it starts."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

try:  # imported as a package: tests, the local runner, the rerun CLI
    from lambdas.trigger.batch_ids import batch_id_for, file_batch_name
    from lambdas.trigger.s3_events import UploadedObject, object_identity
    from lambdas.trigger.settings import Settings
except ModuleNotFoundError:  # the Lambda runtime loads the modules from the asset's root
    from batch_ids import batch_id_for, file_batch_name  # type: ignore[no-redef]
    from s3_events import UploadedObject, object_identity  # type: ignore[no-redef]
    from settings import Settings  # type: ignore[no-redef]

# Step Functions execution names: 1-80 characters of letters, digits, '-' and '_'.
EXECUTION_NAME_MAX = 80
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_HASH_CHARS = 10
# The objects listed in a workflow input, as JSON, stay under this many bytes: Step Functions
# refuses inputs over 256 KB, and the input travels on in every state and alert. One event of
# 1,000 records of one batch made 273 KB before this cap.
MAX_LISTED_OBJECTS_BYTES = 32 * 1024


@dataclass(frozen=True)
class Batch:
    """The batch an object belongs to."""

    bucket: str
    batch_id: str
    batch_prefix: str  # the folder, ending in '/', or the single object's key
    single_object: bool

    @property
    def input_path(self) -> str:
        return f"s3://{self.bucket}/{self.batch_prefix}"


def batch_of(obj: UploadedObject, settings: Settings) -> tuple[Batch | None, str]:
    """The object's batch, or None and why the object is ignored.

    A folder under the landing prefix is one batch whatever the mode; a file directly under it
    is named as ``settings.batch_id_mode`` says (from the event time, in UTC). A batch's
    completion marker is ignored here: the workflow's gate looks for it in S3, and the batch's
    data files start the execution (a marker alone is a batch with no data).
    """
    if obj.bucket != settings.landing_bucket:
        return None, f"an event of bucket {obj.bucket!r}, not the landing bucket"
    prefix = settings.landing_prefix
    if not obj.key.startswith(prefix):
        return None, f"outside the landing prefix {prefix!r}"
    rest = obj.key[len(prefix) :]
    if not rest or obj.key.endswith("/"):
        return None, "a folder marker"
    if "/" in rest:
        folder = rest.split("/", 1)[0]
        if not folder:
            return None, "an empty batch folder name ('//')"
        if rest.rsplit("/", 1)[-1] == settings.completion_marker:
            return None, f"the completion marker of batch {folder} (the workflow checks it)"
        return Batch(obj.bucket, batch_id_for(folder), f"{prefix}{folder}/", False), ""
    if rest == settings.completion_marker:
        return None, "a completion marker directly under the landing prefix (no batch folder)"
    # Without an event time (a malformed event), the invocation's time stands in.
    name = file_batch_name(rest, settings.batch_id_mode, obj.arrived or datetime.now(UTC))
    if name is None:
        return None, (
            "a file directly under the landing prefix, and trigger.batch_id_mode is 'folder' "
            "(only folders are batches): upload it into a batch folder"
        )
    return Batch(obj.bucket, batch_id_for(name), obj.key, single_object=True), ""


def execution_name(batch: Batch, *, suffix: str = "") -> str:
    """Deterministic, valid execution name of a batch: readable part plus a hash of its identity.

    The hash covers bucket, batch prefix and batch id exactly, so two batches that sanitise or
    truncate to the same text (or one file on two days) still get different names. ``suffix``
    (valid characters only) is kept whole: attempts and reruns use it.
    """
    identity = f"{batch.bucket}/{batch.batch_prefix}#{batch.batch_id}"
    digest = hashlib.sha256(identity.encode()).hexdigest()
    readable = _NAME_UNSAFE.sub("-", batch.batch_id).strip("-_") or "batch"
    room = EXECUTION_NAME_MAX - _HASH_CHARS - 1 - len(suffix)
    return f"{readable[:room]}-{digest[:_HASH_CHARS]}{suffix}"


def workflow_input(
    batch: Batch,
    objects: list[UploadedObject],
    source: str,
    request_id: str,
    *,
    attempt: int = 1,
    previous_attempt_arn: str | None = None,
) -> dict[str, Any]:
    """The state machine's input for ``batch`` (the contract the workflow checks).

    ``objects`` lists the uploads that started this attempt, capped at
    :data:`MAX_LISTED_OBJECTS_BYTES` of JSON (``objects_capped`` says so, ``object_count``
    counts them all); the job reads the whole batch either way. ``previous_attempt_arn`` makes
    the workflow wait until that execution has ended.

    ``trigger`` makes every invocation's input unique. Step Functions treats a start with the
    same name *and the same input* as a running execution as an idempotent success; with a unique
    input, a duplicate delivery always gets ``ExecutionAlreadyExists``.
    (The SDK's own retries of one call send the same input and stay idempotent.)
    """
    listed: list[dict[str, Any]] = []
    size = 2  # the brackets
    for obj in objects:
        described = obj.describe()
        size += len(json.dumps(described)) + 2  # the separator
        if size > MAX_LISTED_OBJECTS_BYTES:
            break
        listed.append(described)
    result: dict[str, Any] = {
        "bucket": batch.bucket,
        "batch_id": batch.batch_id,
        "batch_prefix": batch.batch_prefix,
        "input_path": batch.input_path,
        "single_object": batch.single_object,
        "objects": listed,
        "object_count": len(objects),
        "objects_capped": len(listed) < len(objects),
        "source": source,
        "attempt": attempt,
        "trigger": {"request_id": request_id, "received_at": _now_iso()},
    }
    if previous_attempt_arn is not None:
        result["previous_attempt_arn"] = previous_attempt_arn
    return result


def listed_identities(execution_input: dict[str, Any]) -> frozenset[str]:
    """Identities of the objects a workflow input lists."""
    objects = execution_input.get("objects")
    if not isinstance(objects, list):
        return frozenset()
    return frozenset(object_identity(obj) for obj in objects if isinstance(obj, dict))


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
