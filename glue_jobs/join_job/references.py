"""The references a batch joins with: read and prepared on the driver, checked in one Spark job.

:func:`read_references` finds each join's folder and files and prepares the reference for the
join (:func:`join_job.transforms.prepare_reference`), without running a Spark job. The checks
then find, for every reference at once, its rows (compared with the independent count), its
first problem (a malformed row, a key that does not convert exactly to the batch key's type)
and its most repeated key, in one Spark job: references of at most ``DRIVER_ROWS`` rows in all
are collected and counted on the driver (:func:`check_on_driver`: one scan, no shuffle), larger
ones aggregated by Spark (:func:`check_references`). The run starts the checks in the
background (:func:`start_checks`) beside the input pass and :func:`verify` raises what they
found before anything is committed.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Row, SparkSession
from pyspark.sql import functions as sf

from join_job import datasets, readers, transforms
from join_job.background import Background
from join_job.errors import DuplicateReferenceKeyError, JobInputError
from join_job.filesystem import HadoopFileSystem
from join_job.pipeline_config import JoinSpec
from join_job.transforms import PreparedReference, any_of, reference_key_names

CHECK_POOL = "reference-checks"
MEGABYTE = 1024 * 1024
# References of at most this many rows in all (their independent count) are checked on the
# driver: one scan instead of the aggregation's seven stages took a 1e5-row run from 10.3 s to
# 9.1 s (bench/RESULTS.md, round 4). The bound keeps what comes back to the driver small: a
# key and, for a bad row, its problem per row.
DRIVER_ROWS = 200_000


@dataclass(frozen=True)
class Reference:
    """One join's reference: where it is, as read, and prepared for the join."""

    uri: str
    size: int
    source: readers.Source
    prepared: PreparedReference
    broadcast: bool

    @property
    def join(self) -> JoinSpec:
        return self.prepared.join


def read_references(
    spark: SparkSession,
    fs: HadoopFileSystem,
    folders: Sequence[tuple[JoinSpec, str]],
    batch_columns: Sequence[tuple[str, str]],
    broadcast_threshold_mb: int,
) -> list[Reference]:
    """Each join's reference from its folder (``folders``: join and folder URI, in join order),
    its keys cast to the types of the batch's (``batch_columns``: the parsed batch's names and
    types, :func:`join_job.transforms.batch_columns`).

    Fails fast, naming the join, when a folder is missing or empty or a key column is absent.
    """
    threshold = broadcast_threshold_mb * MEGABYTE
    columns = [name for name, _ in batch_columns]
    types = dict(batch_columns)
    references = []
    for join, uri in folders:
        if not fs.exists(uri):
            raise JobInputError(f"join {join.name!r}: reference folder {uri} does not exist")
        files = fs.data_files(uri)
        if not files:
            raise JobInputError(f"join {join.name!r}: reference folder {uri} holds no data files")
        source = datasets.read_reference(spark, files, join, uri)
        key_types = {left: types[left] for left, _ in join.on if left in types}
        prepared = transforms.prepare_reference(source.frame, join, columns, key_types)
        size = sum(item.size for item in files)
        broadcast = 0 < size <= threshold and threshold > 0
        references.append(Reference(uri, size, source, prepared, broadcast))
        columns.extend(prepared.added_columns)
        types.update(dict(prepared.frame.select(*prepared.added_columns).dtypes))
    return references


def start_checks(
    spark: SparkSession, references: Sequence[Reference]
) -> Background[list[ReferenceCheck]]:
    """:func:`checked` in a thread of its own (the caller cancels it if the run fails)."""
    return Background.start(spark, CHECK_POOL, lambda: checked(references))


def checked(references: Sequence[Reference]) -> list[ReferenceCheck]:
    """The references' checks in one Spark job (on the driver when they are small); if it fails
    (a file Spark cannot read), each reference alone, so the error names the reference."""
    rows = sum(reference.source.records for reference in references)
    check: Callable[[Sequence[PreparedReference]], list[ReferenceCheck]] = (
        check_on_driver if rows <= DRIVER_ROWS else check_references
    )
    try:
        return check([reference.prepared for reference in references])
    except Exception:
        for reference in references:
            try:
                check([reference.prepared])
            except Exception as error:
                raise readers.clear_read_error(error, reference.source.what) from None
        raise


def verify(references: Sequence[Reference], checks: Sequence[ReferenceCheck]) -> None:
    """Raise the first problem found, in join order: rows the parse lost or invented against
    the independent count, a malformed row or bad key, a repeated key."""
    for reference, found in zip(references, checks, strict=True):
        join, uri = reference.join, reference.uri
        readers.check_parse_count(reference.source, found.rows)
        if found.problem is not None:
            raise JobInputError(f"join {join.name!r}: reference {uri}: {found.problem}")
        duplicate = found.duplicate
        if duplicate is not None:
            duplicate = dict(duplicate)
            rows = duplicate.pop("rows")
            raise DuplicateReferenceKeyError(
                f"join {join.name!r}: reference {uri} has {rows} rows for key "
                f"{json.dumps(duplicate, default=str)}; a join would multiply batch rows. "
                "Make the reference's key unique."
            )


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


def check_on_driver(prepared: Sequence[PreparedReference]) -> list[ReferenceCheck]:
    """What :func:`check_references` finds, counted on the driver: every reference row comes
    back as its key and its problem (JSON text; null when it has none), in read order, from one
    Spark job without a shuffle. For references small enough to collect (``DRIVER_ROWS``).
    """
    if not prepared:
        return []
    combined: DataFrame | None = None
    for index, item in enumerate(prepared):
        keys = reference_key_names(item.join)
        row = item.checks.select(
            sf.lit(index).alias("reference"),
            sf.when(_whole_key(keys), sf.to_json(sf.struct(*keys))).alias("key"),
            sf.when(_has_problem(), sf.to_json(_problem(item.join))).alias("problem"),
        )
        combined = row if combined is None else combined.union(row)
    assert combined is not None
    rows: list[int] = [0] * len(prepared)
    problems: list[str | None] = [None] * len(prepared)
    keys_seen: list[Counter[str]] = [Counter() for _ in prepared]
    # Rows come back in read order (partition by partition, as a union lists its inputs).
    for index, key, problem in combined.collect():
        rows[index] += 1
        if key is not None:
            keys_seen[index][key] += 1
        if problem is not None and problems[index] is None:
            problems[index] = problem
    checks = []
    for index, item in enumerate(prepared):
        common = keys_seen[index].most_common(1)
        key, most = common[0] if common else ("{}", 0)
        found = problems[index]
        checks.append(
            _found(
                item.join,
                rows=rows[index],
                problem=None if found is None else json.loads(found),
                key=list(json.loads(key).values()),
                most=most,
            )
        )
    return checks


def _aggregate(prepared: PreparedReference) -> DataFrame:
    """One row: ``rows``, ``problem`` (a struct or null), ``most`` and ``key`` (of the most
    repeated key)."""
    join = prepared.join
    keys = reference_key_names(join)
    problem_order = sf.when(_has_problem(), sf.monotonically_increasing_id())
    problem = _problem(join)
    per_key = (
        prepared.checks.select(*keys, problem.alias("__problem"), problem_order.alias("__order"))
        .groupBy(*keys)
        .agg(
            sf.count(sf.lit(1)).alias("__rows"),
            sf.min_by("__problem", "__order").alias("__problem"),
            sf.min("__order").alias("__order"),
        )
    )
    key_rows = sf.when(_whole_key(keys), sf.col("__rows"))
    return per_key.agg(
        sf.sum("__rows").alias("rows"),
        sf.min_by("__problem", "__order").alias("problem"),
        sf.max(key_rows).alias("most"),
        sf.max_by(sf.struct(*keys), key_rows).alias("key"),
    )


def _read(join: JoinSpec, found: Row) -> ReferenceCheck:
    problem = found["problem"]
    return _found(
        join,
        rows=int(found["rows"] or 0),
        problem=None if problem is None else problem.asDict(),
        key=found["key"],
        most=int(found["most"] or 0),
    )


def _found(
    join: JoinSpec,
    *,
    rows: int,
    problem: dict[str, object] | None,
    key: Sequence[object] | None,
    most: int,
) -> ReferenceCheck:
    """A reference's check from what either path found: ``key`` holds the most repeated key's
    values in join order, ``most`` its rows."""
    duplicate: dict[str, object] | None = None
    if key is not None and most > 1:
        duplicate = {right: key[index] for index, (_, right) in enumerate(join.on)}
        duplicate["rows"] = most
    return ReferenceCheck(
        rows=rows,
        problem=None if problem is None else _describe_problem(join, problem),
        duplicate=duplicate,
    )


def _describe_problem(join: JoinSpec, problem: dict[str, object]) -> str:
    # The problem's fields; the driver path's JSON leaves out those that are null.
    where = problem.get("__file")
    corrupt = problem.get("__corrupt")
    if corrupt is not None:
        return f"file {where} has a malformed row: {str(corrupt)[:200]!r}"
    index = int(str(problem["__bad_key"]))
    left, right = join.on[index]
    return (
        f"file {where} has key {right!r} = {problem.get(f'__source_key_{index}')!r}, which is "
        f"not an exact value of the batch key {left!r}'s type"
    )


def _has_problem() -> Column:
    """Whether a reference row is malformed or has a key that does not convert."""
    return sf.col("__corrupt").isNotNull() | sf.col("__bad_key").isNotNull()


def _problem(join: JoinSpec) -> Column:
    """A reference row's problem as both check paths report it (see :func:`_describe_problem`)."""
    return sf.struct("__corrupt", "__bad_key", *_source_keys(join), "__file")


def _whole_key(keys: Sequence[str]) -> Column:
    """Whether none of a row's key columns is null (a row with a null key is not a key)."""
    return ~any_of(sf.col(key).isNull() for key in keys)


def _source_keys(join: JoinSpec) -> list[str]:
    return [f"__source_key_{index}" for index in range(len(join.on))]
