"""Execution names: deterministic, valid for Step Functions, distinct per batch."""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import ModuleType

import pytest

from tests.lambdas.conftest import import_handler

VALID_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")


@pytest.fixture(scope="module")
def handler() -> Iterator[ModuleType]:
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv(
            "STATE_MACHINE_ARN", "arn:aws:states:us-east-1:123456789012:stateMachine:etl"
        )
        environment.setenv("LANDING_BUCKET", "landing")
        environment.setenv("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:alerts")
        yield import_handler()


def name_of(handler: ModuleType, batch_id: str, *, bucket: str = "landing") -> str:
    batch = handler.Batch(bucket, batch_id, f"incoming/{batch_id}/", single_object=False)
    name: str = handler.execution_name(batch)
    return name


def test_same_batch_always_gets_the_same_name(handler: ModuleType) -> None:
    assert name_of(handler, "2026-11-24") == name_of(handler, "2026-11-24")


@pytest.mark.parametrize(
    "batch_id", ["2026-11-24", "a b", "über/ß", "x" * 300, "..", "#$%", "a.b.c"]
)
def test_names_are_valid_step_functions_names(handler: ModuleType, batch_id: str) -> None:
    assert VALID_NAME.fullmatch(name_of(handler, batch_id))


def test_batches_that_sanitise_alike_get_different_names(handler: ModuleType) -> None:
    names = {name_of(handler, batch_id) for batch_id in ("a b", "a-b", "a+b", "a/b", "a__b")}
    assert len(names) == 5
    long_a, long_b = "x" * 100 + "a", "x" * 100 + "b"
    assert name_of(handler, long_a) != name_of(handler, long_b)


def test_same_batch_in_another_bucket_gets_another_name(handler: ModuleType) -> None:
    assert name_of(handler, "b1", bucket="one") != name_of(handler, "b1", bucket="two")


def test_name_keeps_the_batch_id_readable(handler: ModuleType) -> None:
    assert name_of(handler, "2026-11-24").startswith("2026-11-24-")


def test_one_file_on_two_days_gets_two_names(handler: ModuleType) -> None:
    def day(batch_id: str) -> str:
        batch = handler.Batch("landing", batch_id, "incoming/orders.csv", single_object=True)
        name: str = handler.execution_name(batch)
        return name

    assert day("orders.csv-2026-11-27") != day("orders.csv-2026-11-28")


def test_later_attempts_keep_their_suffix_whole_and_stay_valid(handler: ModuleType) -> None:
    batch = handler.Batch("landing", "x" * 128, "incoming/" + "x" * 128 + "/", False)
    name = handler.execution_name(batch, suffix="--attempt-12")
    assert name.endswith("--attempt-12")
    assert VALID_NAME.fullmatch(name)
