"""The batch-id rule shared with the Glue job, and how each mode names a batch."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from lambdas.trigger.batch_ids import (
    BATCH_ID_MODES,
    batch_id_for,
    file_batch_name,
    is_valid_batch_id,
)

RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
ARRIVED = datetime(2026, 11, 28, 19, 13, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "batch_id", ["2026-11-28", "orders.csv", "orders.csv-2026-11-28", "a", "A_b.c-9", "x" * 128]
)
def test_valid_names_are_kept_unchanged(batch_id: str) -> None:
    assert is_valid_batch_id(batch_id)
    assert batch_id_for(batch_id) == batch_id


@pytest.mark.parametrize(
    "name",
    ["day 1", "day+1", "c++.csv", "50%.csv", "10:00", "a=b", "a/b", "über", "..", "_x", "-x", ""],
)
def test_invalid_names_become_valid_ids_with_a_hash_of_the_original(name: str) -> None:
    assert not is_valid_batch_id(name)
    batch_id = batch_id_for(name)
    assert RULE.fullmatch(batch_id), batch_id
    assert re.search(r"-[0-9a-f]{8}$", batch_id)
    assert batch_id_for(name) == batch_id  # deterministic


def test_names_that_sanitise_alike_never_collide() -> None:
    names = ["day 1", "day+1", "day:1", "day%1", "day=1", "x" * 200 + "a", "x" * 200 + "b"]
    assert len({batch_id_for(name) for name in names}) == len(names)


def test_long_names_are_cut_to_the_limit() -> None:
    assert len(batch_id_for("é" * 300)) <= 128
    assert batch_id_for("a b " * 100).startswith("a-b-a-b")
    assert len(batch_id_for("a b " * 100)) == 128


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("folder", None),
        ("file", "orders.csv"),
        ("arrival_date", "2026-11-28"),
        ("file_arrival_date", "orders.csv-2026-11-28"),
        ("file_arrival_time", "orders.csv-20261128T191305Z"),
    ],
)
def test_each_mode_names_a_top_level_file(mode: str, expected: str | None) -> None:
    assert file_batch_name("orders.csv", mode, ARRIVED) == expected
    if expected is not None:
        assert is_valid_batch_id(expected)


def test_the_config_offers_exactly_the_trigger_modes() -> None:
    from stacks.config import BATCH_ID_MODES as CONFIG_MODES

    assert CONFIG_MODES == BATCH_ID_MODES
