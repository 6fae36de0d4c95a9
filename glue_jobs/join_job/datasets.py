"""Reads batches and references, writes Parquet: the job's only Spark I/O."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession

from join_job import readers
from join_job.pipeline_config import InputSpec, JoinSpec


def read_batch(
    spark: SparkSession, uris: Sequence[str], spec: InputSpec, what: str
) -> readers.Source:
    """The batch's files ``uris`` as they arrived, and their records counted apart.

    CSV and JSON are read as text with the corrupt-record column, so a row that cannot be split
    is kept, not dropped; :func:`join_job.transforms.parse_batch` types it. Parquet carries its
    own types. Formats and checks: :mod:`join_job.readers`.
    """
    columns = [name for name, _ in spec.schema] if spec.schema else None
    return readers.read_source(spark, uris, spec, what, schema_columns=columns)


def read_reference(spark: SparkSession, uris: Sequence[str], join: JoinSpec, uri: str) -> DataFrame:
    """Reference data ``join.name`` from ``uris``: read and checked as a batch is (header,
    field names, record count), keys required in every file; typed by :mod:`transforms`.
    """
    source = readers.read_source(
        spark,
        uris,
        join.read_spec,
        f"join {join.name!r}: reference {uri}",
        required_columns=[right for _, right in join.on],
    )
    try:
        rows = int(source.frame.count())
    except Exception as error:
        raise readers.clear_read_error(error, source.what) from None
    readers.check_parse_count(source, rows)
    return source.frame


def write_parquet(frame: DataFrame, uri: str) -> None:
    """Write ``frame`` to the new folder ``uri`` as snappy Parquet."""
    frame.write.mode("errorifexists").option("compression", "snappy").parquet(uri)


def parquet_row_count(spark: SparkSession, uri: str) -> int:
    """Rows in the Parquet folder ``uri`` (Spark answers from the files' footers)."""
    return int(spark.read.parquet(uri).count())


def hive_columns(frame: DataFrame, names: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(name, Hive type) of ``frame``'s columns, for the Data Catalog."""
    wanted = set(names) if names is not None else None
    return [
        (field.name, field.dataType.simpleString())
        for field in frame.schema.fields
        if wanted is None or field.name in wanted
    ]
