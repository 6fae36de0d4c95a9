"""Pure DataFrame functions of the join job: no reads, no writes, no Spark configuration.

The job's flow, each step one function here:

1. :func:`parse_batch` turns the batch as read (every column text, plus Spark's corrupt-record
   column) into typed columns, a ``reject_reason`` for rows that are malformed or do not fit the
   schema, and the ``raw_record`` that keeps such rows recoverable.
2. :func:`prepare_reference` renames a reference's columns to ``<name>_<column>`` and casts its keys
   to the batch's key types; :func:`join_reference` left-joins it, flagging matches.
3. :func:`mark_join_rejections` quarantines rows an ``inner`` join would have dropped, with the
   reason, instead of dropping them.
4. :func:`output_rows` / :func:`quarantine_rows` split the result; :func:`outcome_metrics`
   are the report's counts, observed while the results are written (no extra pass).

Rows are never filtered out before the split, so ``input = output + quarantined`` by construction;
the job still checks it on what it wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from join_job.casts import quoted, strict_cast
from join_job.errors import JobInputError
from join_job.pipeline_config import JoinSpec

CORRUPT_RECORD = "_corrupt_record"
REJECT_REASON = "reject_reason"
RAW_RECORD = "raw_record"
MALFORMED_ROW = "malformed_row"
REPLACEMENT_CHARACTER = "\ufffd"
# Internal columns carry a double underscore prefix; none survives into the output.
_MATCHED = "__matched_{name}"
_REFERENCE_KEY = "__key_{name}_{index}"


def text_schema(columns: Sequence[str], *, corrupt_record: bool = True) -> st.StructType:
    """All ``columns`` as strings (plus the corrupt-record column): how CSV and JSON are read.

    Reading text and casting in Spark (rather than letting the reader type the columns) is what
    tells a malformed row (wrong field count, broken JSON) from a value of the wrong type, and
    keeps the original text of a rejected value.
    """
    fields = [st.StructField(name, st.StringType(), True) for name in columns]
    if corrupt_record:
        fields.append(st.StructField(CORRUPT_RECORD, st.StringType(), True))
    return st.StructType(fields)


@dataclass(frozen=True)
class BatchColumn:
    """A batch column as read (``source``, ``source_type``) and as the parse outputs it."""

    source: str
    name: str
    source_type: str
    type: str


def batch_columns(
    raw_types: Sequence[tuple[str, str]], schema: Sequence[tuple[str, str]] | None
) -> list[BatchColumn]:
    """The data columns of a batch read with ``raw_types`` (name and Spark type pairs, as
    ``DataFrame.dtypes``), as :func:`parse_batch` outputs them: the schema's spelling and type.

    Known without planning the parse, so the references can be read before the batch's read
    is settled (the job splits a large file between tasks once it is counted).
    """
    data_types = [
        (name, kind)
        for name, kind in raw_types
        if name != CORRUPT_RECORD and not name.startswith("__")
    ]
    by_lower = {name.lower(): name for name, _ in data_types}
    missing = [name for name, _ in schema or () if name.lower() not in by_lower]
    if missing:
        raise JobInputError(
            f"the batch has no column {missing[0]!r} named in input.schema "
            f"(its columns: {', '.join(by_lower.values())})"
        )
    # The schema's spelling and type for each batch column it names.
    wanted = {by_lower[name.lower()]: (name, kind) for name, kind in schema or ()}
    columns = []
    for source, source_type in data_types:
        name, kind = wanted.get(source, (source, source_type))
        columns.append(BatchColumn(source, name, source_type, kind))
    return columns


def parse_batch(raw: DataFrame, schema: Sequence[tuple[str, str]] | None) -> DataFrame:
    """Typed batch rows with ``reject_reason`` and ``raw_record`` (see module docstring).

    ``schema`` pairs column names with Spark SQL types; its names match the batch's columns
    ignoring case (the output uses the schema's spelling), and columns it does not name keep
    their type (:func:`batch_columns`). A row is rejected as ``malformed_row`` when the reader
    could not split it or a text value holds U+FFFD (a byte the declared encoding could not
    decode), else as ``schema_mismatch:<column>`` for the first value that does not convert
    exactly to its type (:func:`join_job.casts.strict_cast`; a missing value is a null, not a
    mismatch). Like those casts, it needs ``spark.sql.ansi.enabled`` off.
    """
    columns = batch_columns(raw.dtypes, schema)
    to_convert = [column for column in columns if column.type != column.source_type]
    typed = {column.source: f"__typed_{index}" for index, column in enumerate(to_convert)}
    has_corrupt = CORRUPT_RECORD in raw.columns
    # Three projections, each value computed once: convert, then judge, then keep the evidence.
    # (Spark does not merge a projection into the next when that would repeat a conversion.)
    converted = raw.select(
        "*",
        *[
            strict_cast(column.source, column.source_type, column.type).alias(typed[column.source])
            for column in to_convert
        ],
    )
    first_mismatch = sf.coalesce(
        *[
            sf.when(
                sf.col(quoted(column.source)).isNotNull()
                & sf.col(quoted(typed[column.source])).isNull(),
                sf.lit(f"schema_mismatch:{column.name}"),
            )
            for column in to_convert
        ],
        sf.lit(None).cast("string"),
    )
    malformed = sf.col(CORRUPT_RECORD).isNotNull() if has_corrupt else sf.lit(False)
    text_columns = [column.source for column in columns if column.source_type == "string"]
    if text_columns:
        # Spark's CSV reader decodes a byte the encoding does not map to U+FFFD; such a row is
        # not what the file says, so it is malformed rather than silently re-encoded.
        undecodable = any_of(
            sf.col(quoted(name)).contains(REPLACEMENT_CHARACTER) for name in text_columns
        )
        malformed = malformed | sf.coalesce(undecodable, sf.lit(False))
    judged = converted.select(
        "*",
        sf.when(malformed, sf.lit(MALFORMED_ROW)).otherwise(first_mismatch).alias(REJECT_REASON),
    )
    # The raw line of a malformed row; the values as they arrived (JSON) for a mismatch, so a
    # fixed schema or value can replay the row.
    original = sf.to_json(sf.struct(*[sf.col(quoted(column.source)) for column in columns]))
    raw_text = sf.col(CORRUPT_RECORD) if has_corrupt else sf.lit(None).cast("string")
    raw_record = sf.when(malformed, sf.coalesce(raw_text, original)).when(
        sf.col(REJECT_REASON).isNotNull(), original
    )
    return judged.select(
        *[
            sf.col(quoted(typed.get(column.source, column.source))).alias(column.name)
            for column in columns
        ],
        sf.col(REJECT_REASON).cast("string"),
        raw_record.cast("string").alias(RAW_RECORD),
    )


@dataclass(frozen=True)
class PreparedReference:
    """A reference ready to join: renamed columns, typed keys, a match flag.

    ``checks`` holds every reference row before rows with a null key are set aside, with what
    :func:`join_job.references.check_references` looks at (malformed rows, keys that
    do not convert).
    """

    join: JoinSpec
    frame: DataFrame
    added_columns: tuple[str, ...]
    checks: DataFrame


def prepare_reference(
    reference: DataFrame, join: JoinSpec, data_columns: Sequence[str], key_types: dict[str, str]
) -> PreparedReference:
    """``reference`` with keys renamed for the join and every other column as ``<name>_<col>``.

    ``key_types`` maps the data's key columns to their Spark SQL types; the reference keys are
    converted to them as strictly as batch values (:func:`join_job.casts.strict_cast`), so a
    text key in a CSV reference matches a numeric key in the batch and ``"7.9"`` matches
    nothing. Key names match ignoring case. Rows with a null key are set aside (they can never
    match). Raises :class:`JobInputError` if a key is not in the reference or a renamed column
    would collide with a column of the data.
    """
    columns = [
        name for name in reference.columns if name != CORRUPT_RECORD and not name.startswith("__")
    ]
    by_lower = {name.lower(): name for name in columns}
    for left, right in join.on:
        if right.lower() not in by_lower:
            raise JobInputError(
                f"join {join.name!r}: the reference has no key column {right!r} "
                f"(its columns: {', '.join(columns)})"
            )
        if left not in key_types:
            raise JobInputError(
                f"join {join.name!r}: the data has no key column {left!r} "
                f"(its columns: {', '.join(data_columns)})"
            )
    key_columns = [by_lower[right.lower()] for _, right in join.on]
    added = tuple(f"{join.prefix}{name}" for name in columns if name not in key_columns)
    clashes = sorted(set(added) & set(data_columns))
    if clashes:
        raise JobInputError(
            f"join {join.name!r}: it would add column {clashes[0]!r}, which the data already has"
        )
    source_types = dict(reference.dtypes)
    key_names = reference_key_names(join)
    keys = [
        strict_cast(right, source_types[right], key_types[left]).alias(key_names[index])
        for index, ((left, _), right) in enumerate(zip(join.on, key_columns, strict=True))
    ]
    others = [
        sf.col(quoted(name)).alias(f"{join.prefix}{name}")
        for name in columns
        if name not in key_columns
    ]
    corrupt = sf.col(CORRUPT_RECORD) if CORRUPT_RECORD in reference.columns else sf.lit(None)
    typed = reference.select(
        *keys,
        *others,
        sf.lit(True).alias(_MATCHED.format(name=join.name)),
        *[
            sf.col(quoted(name)).alias(f"__source_key_{index}")
            for index, name in enumerate(key_columns)
        ],
        corrupt.cast("string").alias("__corrupt"),
        (
            sf.col("__source_file")
            if "__source_file" in reference.columns
            else sf.input_file_name()
        ).alias("__file"),
    )
    bad_key = sf.coalesce(
        *[
            sf.when(
                sf.col(f"__source_key_{index}").isNotNull() & sf.col(name).isNull(),
                sf.lit(index),
            )
            for index, name in enumerate(key_names)
        ]
    )
    checks = typed.select("*", bad_key.alias("__bad_key"))
    frame = typed.where(~any_of(key.isNull() for key in _reference_keys(join))).select(
        *key_names, *added, _MATCHED.format(name=join.name)
    )
    return PreparedReference(join=join, frame=frame, added_columns=added, checks=checks)


def join_reference(data: DataFrame, prepared: PreparedReference, *, broadcast: bool) -> DataFrame:
    """Left join of ``data`` with the prepared reference; unmatched rows keep null columns.

    Inner joins are also run as left joins: :func:`mark_join_rejections` quarantines the rows an
    inner join would drop, so no row disappears.
    """
    reference = sf.broadcast(prepared.frame) if broadcast else prepared.frame
    condition = _and(
        sf.col(quoted(left)) == sf.col(_REFERENCE_KEY.format(name=prepared.join.name, index=index))
        for index, (left, _) in enumerate(prepared.join.on)
    )
    joined = data.join(reference, on=condition, how="left")
    return joined.drop(*[key for key in reference_key_names(prepared.join)])


def mark_join_rejections(data: DataFrame, joins: Sequence[JoinSpec]) -> DataFrame:
    """Set ``reject_reason`` for rows the ``inner`` joins would drop (first reason wins).

    ``null_join_key:<name>`` when a key value is missing, ``unmatched:<name>`` when the key has no
    row in the reference. Earlier reasons (malformed, schema mismatch) are kept.
    """
    reason = sf.col(REJECT_REASON)
    for join in joins:
        if join.how != "inner":
            continue
        null_key = any_of(sf.col(quoted(left)).isNull() for left, _ in join.on)
        matched = sf.col(_MATCHED.format(name=join.name)).isNotNull()
        reason = sf.coalesce(
            reason,
            sf.when(null_key, sf.lit(f"null_join_key:{join.name}")).when(
                ~matched, sf.lit(f"unmatched:{join.name}")
            ),
        )
    return data.withColumn(REJECT_REASON, reason)


def output_rows(data: DataFrame, columns: Sequence[str]) -> DataFrame:
    """The accepted rows, with the output ``columns`` only."""
    return data.where(sf.col(REJECT_REASON).isNull()).select(*[sf.col(quoted(c)) for c in columns])


def quarantine_rows(data: DataFrame, input_columns: Sequence[str]) -> DataFrame:
    """The rejected rows as they came in, with ``reject_reason`` and ``raw_record``."""
    return data.where(sf.col(REJECT_REASON).isNotNull()).select(
        *[sf.col(quoted(c)) for c in input_columns], REJECT_REASON, RAW_RECORD
    )


def rows_by_reason(quarantine: DataFrame) -> DataFrame:
    """Rows per ``reject_reason`` (``reject_reason``, ``rows``)."""
    return quarantine.groupBy(REJECT_REASON).agg(sf.count(sf.lit(1)).alias("rows"))


def outcome_metrics(joins: Sequence[JoinSpec]) -> list[Column]:
    """Aggregates for an observation of the classified rows (computed while they are written).

    ``rows``, ``parsed`` (rows not rejected as malformed or mismatched), ``accepted`` (rows for
    the output) and, per join, ``matched_<name>`` among the parsed rows.
    """
    reason = sf.col(REJECT_REASON)
    parsed = reason.isNull() | ~(
        (reason == sf.lit(MALFORMED_ROW)) | reason.startswith("schema_mismatch:")
    )
    return [
        sf.count(sf.lit(1)).alias("rows"),
        _count_if(parsed).alias("parsed"),
        _count_if(reason.isNull()).alias("accepted"),
        *[
            _count_if(parsed & sf.col(_MATCHED.format(name=join.name)).isNotNull()).alias(
                f"matched_{join.name}"
            )
            for join in joins
        ],
    ]


def _count_if(condition: Column) -> Column:
    return sf.sum(sf.when(condition, sf.lit(1)).otherwise(sf.lit(0)))


def reference_key_names(join: JoinSpec) -> list[str]:
    """The names of a prepared reference's key columns (converted to the batch's key types)."""
    return [_REFERENCE_KEY.format(name=join.name, index=index) for index in range(len(join.on))]


def _reference_keys(join: JoinSpec) -> list[Column]:
    return [sf.col(name) for name in reference_key_names(join)]


def _and(conditions: Iterable[Column]) -> Column:
    result: Column | None = None
    for condition in conditions:
        result = condition if result is None else result & condition
    assert result is not None, "a join has at least one key"
    return result


def any_of(conditions: Iterable[Column]) -> Column:
    """True where any of ``conditions`` is (at least one is given)."""
    result: Column | None = None
    for condition in conditions:
        result = condition if result is None else result | condition
    assert result is not None, "a join has at least one key"
    return result
