"""EventBridge events and rule matching, bucket-to-folder mapping, template intrinsics."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl_local.events import UnsupportedPatternError, matches, object_created_event
from etl_local.glue_runner import BucketFolders
from etl_local.offline_aws import TemplateError, resolve_intrinsics

RULE = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"bucket": {"name": ["landing"]}, "object": {"key": [{"prefix": "incoming/"}]}},
}


def event(bucket: str = "landing", key: str = "incoming/b/part 1+x.csv") -> dict[str, object]:
    return object_created_event(
        bucket=bucket,
        key=key,
        size=10,
        etag='"abc"',
        sequencer="0001",
        account_id="123456789012",
        region="us-east-1",
    )


def test_event_carries_the_key_as_stored_and_unquoted_etag() -> None:
    # EventBridge does not URL-encode keys (S3's own notifications do).
    detail = event()["detail"]
    assert isinstance(detail, dict)
    assert detail["object"]["key"] == "incoming/b/part 1+x.csv"
    assert detail["object"]["etag"] == "abc"
    assert "version-id" not in detail["object"]  # an unversioned bucket has none


def test_rule_matches_only_its_bucket_and_prefix() -> None:
    assert matches(RULE, event())
    assert not matches(RULE, event(bucket="other"))
    assert not matches(RULE, event(key="elsewhere/x.csv"))


def test_unknown_pattern_operator_is_refused_not_guessed() -> None:
    with pytest.raises(UnsupportedPatternError, match="suffix"):
        matches({"detail": {"object": {"key": [{"suffix": ".csv"}]}}}, event())


def test_bucket_uris_map_to_their_folders_and_others_stay(tmp_path: Path) -> None:
    folders = BucketFolders({"curated": tmp_path / "out"})
    assert folders.to_local("s3://curated/") == f"{tmp_path / 'out'}/"
    assert folders.to_local("s3://curated/a/b.json") == str(tmp_path / "out" / "a" / "b.json")
    assert folders.to_local("s3://assets/x.zip") == "s3://assets/x.zip"
    assert folders.to_local("flights_local") == "flights_local"


def test_intrinsics_resolve_sub_join_and_ref() -> None:
    value = {
        "a": {"Fn::Sub": "s3://cdk-${AWS::AccountId}-${AWS::Region}/x-${!Literal}"},
        "b": {"Fn::Join": ["", ["s3://", {"Ref": "Bucket1"}, "/p/"]]},
    }
    resolved = resolve_intrinsics(value, {"Bucket1": "landing"})
    assert resolved == {
        "a": "s3://cdk-123456789012-us-east-1/x-${Literal}",
        "b": "s3://landing/p/",
    }
    with pytest.raises(TemplateError, match="Ref Missing"):
        resolve_intrinsics({"Ref": "Missing"}, {})
