"""The trigger and the Glue job agree on what a batch id is (they ship separately, so each has
its own copy of the rule): every id the trigger produces is one the job accepts, and both reject
the same names."""

from __future__ import annotations

import pytest

from join_job.layout import is_valid_batch_id as job_accepts
from lambdas.trigger.batch_ids import batch_id_for
from lambdas.trigger.batch_ids import is_valid_batch_id as trigger_accepts

NAMES = [
    "2026-11-28",
    "orders.csv",
    "orders.csv-20261128T191305Z",
    "a" * 128,
    "a" * 129,
    "day 1",
    "c++.csv",
    "2026+11+20",
    "2026-11-28T19:13:05Z",
    "50%.csv",
    "ümlaut.csv",
    "batch_id=7",
    "a/b",
    ".hidden",
    "_SUCCESS",
    "-leading-dash",
    "trailing-newline\n",
    "",
    "..",
]


@pytest.mark.parametrize("name", NAMES)
def test_trigger_and_job_accept_the_same_batch_ids(name: str) -> None:
    assert trigger_accepts(name) == job_accepts(name)


@pytest.mark.parametrize("name", [name for name in NAMES if name])
def test_every_batch_id_the_trigger_makes_is_accepted_by_the_job(name: str) -> None:
    assert job_accepts(batch_id_for(name))
