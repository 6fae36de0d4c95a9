"""Reads batches and references, writes Parquet: the job's only Spark I/O."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession

from join_job import readers
from join_job.filesystem import DataFile
from join_job.parquet_footers import footer_row_count
from join_job.pipeline_config import InputSpec, JoinSpec


def read_batch(
    spark: SparkSession, files: Sequence[DataFile], spec: InputSpec, what: str
) -> readers.Source:
    """The batch's data ``files`` as they arrived, and their records counted apart.

    CSV and JSON are read as text with the corrupt-record column, so a row that cannot be split
    is kept, not dropped; :func:`join_job.transforms.parse_batch` types it. Parquet carries its
    own types. Formats and checks: :mod:`join_job.readers`.
    """
    columns = [name for name, _ in spec.schema] if spec.schema else None
    return readers.read_source(
        spark, files, spec, what, schema_columns=columns, count_in_background=True
    )


def read_reference(
    spark: SparkSession, files: Sequence[DataFile], join: JoinSpec, uri: str
) -> readers.Source:
    """Reference data ``join.name`` from its data ``files``: read and counted as a batch is
    (header, field names, independent record count), keys required in every file; typed by
    :mod:`transforms`. The parse's row count is compared with the files' records by the caller
    (:func:`join_job.readers.check_parse_count`), from the aggregation that also checks the keys
    (:func:`join_job.references.check_references`: one Spark job for all references).
    """
    return readers.read_source(
        spark,
        files,
        join.read_spec,
        f"join {join.name!r}: reference {uri}",
        required_columns=[right for _, right in join.on],
    )


def write_parquet(frame: DataFrame, uri: str) -> None:
    """Write ``frame`` to the new folder ``uri`` as snappy Parquet."""
    frame.write.mode("errorifexists").option("compression", "snappy").parquet(uri)


def parquet_row_count(spark: SparkSession, uris: Sequence[str]) -> int:
    """Rows in the Parquet files ``uris``, from their footers (read on the driver: no Spark job)."""
    return sum(footer_row_count(spark, uri) for uri in uris)


def hive_columns(frame: DataFrame, names: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(name, Hive type) of ``frame``'s columns, for the Data Catalog."""
    wanted = set(names) if names is not None else None
    return [
        (field.name, field.dataType.simpleString())
        for field in frame.schema.fields
        if wanted is None or field.name in wanted
    ]
