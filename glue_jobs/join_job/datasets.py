"""Reads batches and references, writes Parquet: the job's only Spark I/O."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, DataFrameReader, SparkSession

from join_job.errors import JobInputError
from join_job.pipeline_config import InputFormat, InputSpec
from join_job.transforms import CORRUPT_RECORD, text_schema


def read_batch(spark: SparkSession, uri: str, spec: InputSpec) -> DataFrame:
    """The batch at ``uri`` (a file or a folder, read recursively) as it arrived.

    CSV (with header) and JSON lines are read as text with the corrupt-record column, so a row
    that cannot be split is kept, not dropped; :func:`join_job.transforms.parse_batch` types it.
    Parquet carries its own types and is read as is.
    """
    if spec.format == "parquet":
        return _reader(spark).parquet(uri)
    if spec.format == "csv":
        header = csv_header(spark, uri)
        # enforceSchema off: a file whose header differs from the first file's fails the read
        # instead of having its columns silently assigned by position.
        return (
            _reader(spark)
            .schema(text_schema(header))
            .option("header", True)
            .option("enforceSchema", False)
            .option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
            .csv(uri)
        )
    columns = [name for name, _ in spec.schema] if spec.schema else None
    reader = _reader(spark).option("mode", "PERMISSIVE")
    reader = reader.option("columnNameOfCorruptRecord", CORRUPT_RECORD)
    if columns is not None:
        # No inference pass: the configured columns, as text, typed afterwards.
        reader = reader.schema(text_schema(columns))
    return reader.json(uri)


def csv_header(spark: SparkSession, uri: str) -> list[str]:
    """Column names of the CSV batch at ``uri``, from its first header line (no data pass)."""
    reader = _reader(spark).option("header", True).option("inferSchema", False)
    columns: list[str] = reader.csv(uri).columns
    if not columns:
        raise JobInputError(f"the CSV batch at {uri} has no header line")
    duplicates = sorted({name for name in columns if columns.count(name) > 1})
    if duplicates:
        raise JobInputError(f"the CSV batch at {uri} repeats column {duplicates[0]!r}")
    return columns


def read_reference(spark: SparkSession, uri: str, data_format: InputFormat) -> DataFrame:
    """Reference data under ``uri``: CSV with header (text columns), JSON lines or Parquet."""
    reader = _reader(spark)
    if data_format == "csv":
        return reader.option("header", True).option("inferSchema", False).csv(uri)
    if data_format == "json":
        return reader.json(uri)
    return reader.parquet(uri)


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


def _reader(spark: SparkSession) -> DataFrameReader:
    # A batch folder may hold sub-folders (part files by hour, ...): read them all.
    return spark.read.option("recursiveFileLookup", True)
