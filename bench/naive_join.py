"""The baseline: the same joins written the way a first attempt would write them.

CSV read with ``inferSchema`` (an extra pass over the input), references joined without
broadcast, Spark's default 200 shuffle partitions, a plain ``overwrite`` of the output folder,
no quarantine and no report. Same output columns as the job, so the work compared is the same.

    python -m bench.naive_join --config C --input DIR --reference DIR --output DIR --batch-id ID
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession

from bench.spark_baseline import join_references, local_session, output_partition, parse_arguments
from join_job.pipeline_config import load_pipeline_config


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_arguments(argv, __doc__)
    config = load_pipeline_config(args.config)
    spark = local_session("naive-join", **{"spark.sql.autoBroadcastJoinThreshold": "-1"})
    data = _read(spark, config.input.format, args.input)
    data = join_references(spark, config, data, args.reference, _read, broadcast=False)
    data.write.mode("overwrite").parquet(output_partition(args.output, config, args.batch_id))
    spark.stop()


def _read(spark: SparkSession, data_format: str, path: str) -> DataFrame:
    if data_format == "csv":
        return spark.read.option("header", True).option("inferSchema", True).csv(path)
    if data_format == "json":
        return spark.read.json(path)
    return spark.read.parquet(path)


if __name__ == "__main__":
    main()
