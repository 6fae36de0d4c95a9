"""The rehearsal's upload check: the duplicate delivery it replays, and the gap it needs."""

from __future__ import annotations

import json

from lambdas.trigger.s3_events import object_identity, parse_event
from rehearsal.emulator_gaps import GAP_EVENTBRIDGE_VERSION_ID, GAPS, with_version_id
from rehearsal.upload_path import object_created_event

# What ministack's S3 puts into an EventBridge "Object Created" event's detail.object.
EMULATOR_OBJECT = {
    "key": "incoming/2026-11-20/part-1.csv",
    "size": 29,
    "etag": "5f2b5ae0c4c5a2d0e3b9f1b5b9d7a1c3",
    "sequencer": "0006A1B2C3D4E5F601",
}


def test_emulator_events_get_the_version_id_s3_sends() -> None:
    detail = {"version": "0", "bucket": {"name": "landing"}, "object": dict(EMULATOR_OBJECT)}

    bridged = with_version_id(detail, "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY")

    # The S3 user guide's order: key, size, etag, version-id, sequencer.
    assert list(bridged["object"]) == ["key", "size", "etag", "version-id", "sequencer"]
    assert bridged["object"]["version-id"] == "3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY"
    assert with_version_id(detail, None) == detail  # unversioned bucket: no version id
    assert GAP_EVENTBRIDGE_VERSION_ID in GAPS


def test_replayed_event_is_the_same_object_version_to_the_trigger() -> None:
    """The replay parses, as the trigger parses it, into the identity the first delivery had."""
    head = {"ContentLength": 29, "ETag": '"5f2b5ae0c4c5a2d0e3b9f1b5b9d7a1c3"', "VersionId": "v1"}
    first_delivery = {
        "version": "0",
        "detail-type": "Object Created",
        "source": "aws.s3",
        "time": "2026-11-28T20:40:01Z",
        "detail": with_version_id(
            {"bucket": {"name": "landing"}, "object": dict(EMULATOR_OBJECT)}, "v1"
        ),
    }
    (recorded,) = parse_event(first_delivery).objects

    replay = object_created_event(
        bucket="landing",
        key=EMULATOR_OBJECT["key"],
        head=head,
        sequencer=recorded.sequencer or "",
        time=recorded.event_time or "",
    )
    (replayed,) = parse_event(json.loads(json.dumps(replay))).objects

    assert replay["detail"]["object"]["etag"] == EMULATOR_OBJECT["etag"]  # no quotes
    assert object_identity(replayed.describe()) == object_identity(recorded.describe())
    assert replayed.describe() == recorded.describe()
    # A second version of the same bytes is another object to the trigger.
    second = object_created_event(
        bucket="landing",
        key=EMULATOR_OBJECT["key"],
        head={**head, "VersionId": "v2"},
        sequencer=recorded.sequencer or "",
        time=recorded.event_time or "",
    )
    (other,) = parse_event(second).objects
    assert object_identity(other.describe()) != object_identity(recorded.describe())
