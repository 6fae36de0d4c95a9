"""The floor: the least PySpark that does the job's work, read -> broadcast joins -> Parquet.

What the job costs on top of this script is what its checks cost (text read and strict casts,
quarantine, counts, reference checks, commit): ``make bench`` reports job/floor. The batch is
read once with the config's schema as the CSV reader's own types (no inference pass; without a
schema, every column as text, as the job reads it), the references are broadcast and joined
with the config's join types (an inner join drops rows the job would quarantine), and the
result is written as snappy Parquet with Spark's defaults: no quarantine, no counts, no report.

    python -m bench.floor_join --config C --input DIR --reference DIR --output DIR --batch-id ID
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession

from bench.spark_baseline import join_references, local_session, output_partition, parse_arguments
from join_job.pipeline_config import InputSpec, load_pipeline_config


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv, __doc__)
    config = load_pipeline_config(args.config)
    spark = local_session("floor-join")
    data = read_batch(spark, config.input, args.input)
    data = join_references(spark, config, data, args.reference, _read_reference, broadcast=True)
    data.write.mode("overwrite").parquet(output_partition(args.output, config, args.batch_id))
    spark.stop()


def read_batch(spark: SparkSession, spec: InputSpec, path: str) -> DataFrame:
    """The batch as Spark reads it best: the configured types, else text columns."""
    reader = spark.read
    if spec.schema is not None:
        reader = reader.schema(", ".join(f"`{name}` {kind}" for name, kind in spec.schema))
    if spec.format == "csv":
        return reader.option("header", True).csv(path)
    if spec.format == "json":
        return reader.json(path)
    return reader.parquet(path)


def _read_reference(spark: SparkSession, data_format: str, path: str) -> DataFrame:
    # As the job reads references: CSV as text columns (no inference), the others as they are.
    if data_format == "csv":
        return spark.read.option("header", True).csv(path)
    if data_format == "json":
        return spark.read.json(path)
    return spark.read.parquet(path)


if __name__ == "__main__":
    main()
