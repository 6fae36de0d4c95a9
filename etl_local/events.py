"""The events S3 sends through EventBridge for an upload, and the rule that routes them.

On AWS the landing bucket publishes "Object Created" events to EventBridge and a rule sends
those under the landing prefix to the trigger Lambda. Offline nobody delivers them, so the
runner builds each event from the uploaded object (as S3 would) and checks it against the
rule's own pattern from the synthesized template before invoking the handler.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


class UnsupportedPatternError(ValueError):
    """The rule uses an EventBridge pattern operator this matcher does not implement."""


def object_created_event(
    *,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    sequencer: str,
    account_id: str,
    region: str,
    version_id: str | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """An EventBridge "Object Created" event for ``key``, shaped as the S3 user guide shows it.

    The key is as stored (EventBridge does not URL-encode it, unlike S3's own notifications);
    ``version-id`` is present when the bucket is versioned.
    """
    when = (time or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account_id,
        "time": when,
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {
                "key": key,
                "size": size,
                "etag": etag.strip('"'),
                **({"version-id": version_id} if version_id else {}),
                "sequencer": sequencer,
            },
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": account_id,
            "source-ip-address": "127.0.0.1",
            "reason": "PutObject",
        },
    }


def event_for_version(
    *,
    bucket: str,
    key: str,
    head: Mapping[str, Any],
    sequencer: str,
    account_id: str,
    region: str,
    time: datetime | None = None,
) -> dict[str, Any]:
    """The "Object Created" event for the object version ``head`` (``head_object``'s answer)
    describes: its size, etag and version id (absent on an unversioned bucket)."""
    return object_created_event(
        bucket=bucket,
        key=key,
        size=int(head["ContentLength"]),
        etag=str(head["ETag"]),
        sequencer=sequencer,
        account_id=account_id,
        region=region,
        version_id=head.get("VersionId"),
        time=time,
    )


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` matches the EventBridge ``pattern``.

    Implements what this project's rules use: nested fields, lists of literal values, and the
    ``prefix`` operator. Any other operator raises :class:`UnsupportedPatternError` rather than
    guessing, so a rule change cannot make the local run silently deliver the wrong events.
    """
    for field_name, expected in pattern.items():
        actual = event.get(field_name) if isinstance(event, Mapping) else None
        if isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not matches(expected, actual):
                return False
        elif isinstance(expected, list):
            if not any(_matches_value(rule, actual) for rule in expected):
                return False
        else:
            raise UnsupportedPatternError(f"pattern field {field_name!r} must be a list or object")
    return True


def _matches_value(rule: Any, actual: Any) -> bool:
    values = actual if isinstance(actual, list) else [actual]
    if isinstance(rule, Mapping):
        if set(rule) == {"prefix"} and isinstance(rule["prefix"], str):
            return any(isinstance(v, str) and v.startswith(rule["prefix"]) for v in values)
        raise UnsupportedPatternError(f"EventBridge pattern operator {dict(rule)!r} not supported")
    return rule in values
