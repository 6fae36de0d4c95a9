"""The two forms in which S3 reports a new object, read into :class:`UploadedObject`.

- S3 event notifications (``{"Records": [...]}``) URL-encode the key (a space arrives as ``+``,
  a ``+`` as ``%2B``): the key is decoded with ``unquote_plus``.
- EventBridge "Object Created" events carry ``detail.object.key`` exactly as it is (a real
  event shows ``raw/health-check/2023-08-08T14:03:40.532432.zip``, colons intact): decoding it
  would turn ``c++.csv`` into ``c  .csv``, so it is used unchanged.

Both carry the object's identity: version id (the landing bucket is versioned), sequencer and
etag. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus


@dataclass(frozen=True)
class UploadedObject:
    """One object-created notification, its key as stored in S3."""

    bucket: str
    key: str
    size: int | None
    etag: str | None
    sequencer: str | None
    version_id: str | None
    event_time: str | None
    source: str  # "s3" (S3 event notification) or "eventbridge"

    @property
    def identity(self) -> str:
        """Which object version this is: key plus version id (else sequencer, else etag).

        A second delivery of the same upload has the same identity; a new version of the same
        key has another.
        """
        return object_identity(self.describe())

    @property
    def arrived(self) -> datetime | None:
        """The event time in UTC, or None when missing or unreadable."""
        return parse_event_time(self.event_time)

    @property
    def arrived_by(self) -> datetime | None:
        """The latest instant the event time allows (EventBridge times are whole seconds)."""
        arrived = self.arrived
        if arrived is None or self.event_time is None:
            return None
        whole_seconds = "." not in self.event_time
        return arrived + (timedelta(seconds=1) if whole_seconds else timedelta(milliseconds=1))

    def describe(self) -> dict[str, Any]:
        """The object as the workflow input lists it."""
        return {
            "key": self.key,
            "version_id": self.version_id,
            "size": self.size,
            "etag": self.etag,
            "sequencer": self.sequencer,
            "event_time": self.event_time,
        }


def object_identity(described: dict[str, Any]) -> str:
    """The identity of an object as :meth:`UploadedObject.describe` lists it."""
    for name in ("version_id", "sequencer", "etag"):
        value = described.get(name)
        if value:
            return f"{described.get('key')}#{name}={value}"
    return f"{described.get('key')}#unknown"


def parse_event_time(value: Any) -> datetime | None:
    """``2026-11-24T10:00:00.000Z`` or ``2026-11-24T10:00:00Z`` as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class ParsedEvent:
    """What an invocation's event holds."""

    objects: list[UploadedObject] = field(default_factory=list)
    malformed: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (what, why)
    test_event: bool = False


def parse_event(event: Any) -> ParsedEvent:
    """Objects created, S3 test events, and what is malformed or not an object creation."""
    parsed = ParsedEvent()
    if not isinstance(event, dict):
        parsed.malformed.append({"reason": "the event is not a JSON object", "event": event})
        return parsed
    if event.get("Event") == "s3:TestEvent":
        parsed.test_event = True
        return parsed
    if "Records" in event:
        records = event["Records"]
        if not isinstance(records, list):
            parsed.malformed.append({"reason": "Records is not a list", "event": event})
            return parsed
        for record in records:
            _parse_s3_record(record, parsed)
        return parsed
    if event.get("source") == "aws.s3" or "detail-type" in event:
        _parse_eventbridge(event, parsed)
        return parsed
    parsed.malformed.append({"reason": "neither an S3 nor an EventBridge event", "event": event})
    return parsed


def _parse_s3_record(record: Any, parsed: ParsedEvent) -> None:
    if not isinstance(record, dict):
        parsed.malformed.append({"reason": "a record is not a JSON object", "record": record})
        return
    event_name = str(record.get("eventName", ""))
    s3 = _mapping(record.get("s3"))
    bucket = _mapping(s3.get("bucket")).get("name")
    obj = _mapping(s3.get("object"))
    key = obj.get("key")
    if not bucket or not isinstance(key, str) or not key:
        parsed.malformed.append(
            {"reason": "record without bucket name or object key", "record": record}
        )
        return
    decoded = unquote_plus(key)  # S3 notifications URL-encode the key
    if not event_name.startswith("ObjectCreated:"):
        parsed.ignored.append((decoded, f"not an object creation ({event_name or 'no eventName'})"))
        return
    parsed.objects.append(
        UploadedObject(
            bucket=str(bucket),
            key=decoded,
            size=_int_or_none(obj.get("size")),
            etag=obj.get("eTag"),
            sequencer=obj.get("sequencer"),
            version_id=obj.get("versionId"),
            event_time=record.get("eventTime"),
            source="s3",
        )
    )


def _parse_eventbridge(event: dict[str, Any], parsed: ParsedEvent) -> None:
    detail = _mapping(event.get("detail"))
    bucket = _mapping(detail.get("bucket")).get("name")
    obj = _mapping(detail.get("object"))
    key = obj.get("key")  # as stored: EventBridge does not URL-encode keys
    if not bucket or not isinstance(key, str) or not key:
        parsed.malformed.append(
            {"reason": "detail without bucket name or object key", "event": event}
        )
        return
    if event.get("detail-type") != "Object Created":
        parsed.ignored.append((key, f"not an object creation ({event.get('detail-type')})"))
        return
    parsed.objects.append(
        UploadedObject(
            bucket=str(bucket),
            key=key,
            size=_int_or_none(obj.get("size")),
            etag=obj.get("etag"),
            sequencer=obj.get("sequencer"),
            version_id=obj.get("version-id"),
            event_time=event.get("time"),
            source="eventbridge",
        )
    )


def _mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (a malformed part reads as missing)."""
    return value if isinstance(value, dict) else {}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
