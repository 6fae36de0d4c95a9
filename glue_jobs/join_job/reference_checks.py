"""Checks on the references before the batch is joined with them, all in one Spark job.

For each prepared reference (:func:`join_job.transforms.prepare_reference`), one aggregation
finds its rows (compared with the independent count), its first problem (a malformed row, a key
that does not convert exactly to the batch key's type) and its most repeated key. The
aggregations of all references run as one job: references are broadcast-sized, so each job
costs mostly scheduling and planning latency, not work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as sf

from join_job.pipeline_config import JoinSpec
from join_job.transforms import PreparedReference, reference_key_names


@dataclass(frozen=True)
class ReferenceCheck:
    """What the pass over a reference found."""

    rows: int
    problem: str | None
    duplicate: dict[str, object] | None


def check_references(prepared: Sequence[PreparedReference]) -> list[ReferenceCheck]:
    """Each reference's rows, first problem and most repeated key, in ``prepared``'s order.

    ``problem`` names a file and a row: the first (in read order) malformed row, as in a batch,
    or key value that does not convert exactly to the batch key's type; None if there is none.
    ``duplicate`` is the most repeated key with its row count (``rows``), None if every key is
    unique (rows with a null key are not keys).

    One Spark job: each reference's one-row aggregate sits in its own column of a union, the
    other references' columns null.
    """
    if not prepared:
        return []
    found = [_aggregate(item) for item in prepared]
    slots = [f"__reference_{index}" for index in range(len(found))]
    types = [
        frame.select(sf.struct(*frame.columns).alias("s")).schema["s"].dataType for frame in found
    ]
    combined: DataFrame | None = None
    for index, frame in enumerate(found):
        row = frame.select(
            *[
                (
                    sf.struct(*frame.columns) if other == index else sf.lit(None).cast(types[other])
                ).alias(slot)
                for other, slot in enumerate(slots)
            ]
        )
        combined = row if combined is None else combined.unionByName(row)
    assert combined is not None
    rows = combined.collect()
    checks = []
    for item, slot in zip(prepared, slots, strict=True):
        [result] = [row[slot] for row in rows if row[slot] is not None]
        checks.append(_read(item.join, result))
    return checks


def _aggregate(prepared: PreparedReference) -> DataFrame:
    """One row: ``rows``, ``problem`` (a struct or null), ``most`` and ``key`` (of the most
    repeated key)."""
    join = prepared.join
    keys = reference_key_names(join)
    problem_order = sf.when(
        sf.col("__corrupt").isNotNull() | sf.col("__bad_key").isNotNull(),
        sf.monotonically_increasing_id(),
    )
    problem = sf.struct("__corrupt", "__bad_key", *_source_keys(join), "__file")
    per_key = (
        prepared.checks.select(*keys, problem.alias("__problem"), problem_order.alias("__order"))
        .groupBy(*keys)
        .agg(
            sf.count(sf.lit(1)).alias("__rows"),
            sf.min_by("__problem", "__order").alias("__problem"),
            sf.min("__order").alias("__order"),
        )
    )
    key_rows = sf.when(~_any(sf.col(key).isNull() for key in keys), sf.col("__rows"))
    return per_key.agg(
        sf.sum("__rows").alias("rows"),
        sf.min_by("__problem", "__order").alias("problem"),
        sf.max(key_rows).alias("most"),
        sf.max_by(sf.struct(*keys), key_rows).alias("key"),
    )


def _read(join: JoinSpec, found: Row) -> ReferenceCheck:
    duplicate: dict[str, object] | None = None
    if found["most"] is not None and found["most"] > 1:
        duplicate = {right: found["key"][index] for index, (_, right) in enumerate(join.on)}
        duplicate["rows"] = int(found["most"])
    return ReferenceCheck(
        rows=int(found["rows"] or 0),
        problem=None if found["problem"] is None else _describe_problem(join, found["problem"]),
        duplicate=duplicate,
    )


def _describe_problem(join: JoinSpec, row: Row) -> str:
    where = row["__file"]
    if row["__corrupt"] is not None:
        return f"file {where} has a malformed row: {row['__corrupt'][:200]!r}"
    index = int(row["__bad_key"])
    left, right = join.on[index]
    return (
        f"file {where} has key {right!r} = {row[f'__source_key_{index}']!r}, which is not an "
        f"exact value of the batch key {left!r}'s type"
    )


def _source_keys(join: JoinSpec) -> list[str]:
    return [f"__source_key_{index}" for index in range(len(join.on))]


def _any(conditions: Iterable[Column]) -> Column:
    result: Column | None = None
    for condition in conditions:
        result = condition if result is None else result | condition
    assert result is not None, "a join has at least one key"
    return result
