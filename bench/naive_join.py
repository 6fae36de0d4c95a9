"""The baseline: the same joins written the way a first attempt would write them.

CSV read with ``inferSchema`` (an extra pass over the input), references joined without
broadcast, Spark's default 200 shuffle partitions, a plain ``overwrite`` of the output folder,
no quarantine and no report. Same output columns as the job, so the work compared is the same.

    python -m bench.naive_join --config C --input DIR --reference DIR --output DIR --batch-id ID
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.functions import col

from join_job.pipeline_config import load_pipeline_config


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("--config", "--input", "--reference", "--output", "--batch-id"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    config = load_pipeline_config(args.config)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("naive-join")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.autoBroadcastJoinThreshold", "-1")
        .getOrCreate()
    )
    data = _read(spark, config.input.format, args.input)
    for join in config.joins:
        reference = _read(spark, join.format, f"{args.reference}/{join.name}")
        keys = dict(join.on)
        others = [c for c in reference.columns if c not in keys.values()]
        renamed = reference.select(
            *(col(c).alias(f"__key_{c}") for c in keys.values()),
            *(col(c).alias(f"{join.name}_{c}") for c in others),
        )
        condition = [data[left] == renamed[f"__key_{right}"] for left, right in keys.items()]
        data = data.join(renamed, condition, join.how).drop(
            *(f"__key_{right}" for right in keys.values())
        )
    data.write.mode("overwrite").parquet(f"{args.output}/{config.dataset}/batch_id={args.batch_id}")
    spark.stop()


def _read(spark: SparkSession, data_format: str, path: str) -> DataFrame:
    if data_format == "csv":
        return spark.read.option("header", True).option("inferSchema", True).csv(path)
    if data_format == "json":
        return spark.read.json(path)
    return spark.read.parquet(path)


if __name__ == "__main__":
    main()
