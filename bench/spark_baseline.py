"""What the two plain PySpark baselines share: their arguments, session and reference joins.

``bench.naive_join`` and ``bench.floor_join`` differ only in how they read the batch and
whether they broadcast the references; the join itself (keys renamed, every other reference
column as ``<name>_<column>``, the config's join type) is written once, here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from join_job.pipeline_config import PipelineConfig

Reader = Callable[[SparkSession, str, str], DataFrame]


def parse_arguments(argv: Sequence[str] | None, description: str | None) -> argparse.Namespace:
    """``--config --input --reference --output --batch-id``, all required."""
    parser = argparse.ArgumentParser(description=description)
    for name in ("--config", "--input", "--reference", "--output", "--batch-id"):
        parser.add_argument(name, required=True)
    return parser.parse_args(argv)


def local_session(app_name: str, **settings: str) -> SparkSession:
    """``local[2]`` (the bench's core count for every engine), no UI, plus ``settings``."""
    builder = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
    )
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def join_references(
    spark: SparkSession,
    config: PipelineConfig,
    data: DataFrame,
    reference_root: str,
    read: Reader,
    *,
    broadcast: bool,
) -> DataFrame:
    """``data`` joined with every reference of ``config``, in order, as the job names columns."""
    for join in config.joins:
        reference = read(spark, join.format, f"{reference_root}/{join.name}")
        keys = dict(join.on)
        others = [c for c in reference.columns if c not in keys.values()]
        renamed = reference.select(
            *(sf.col(c).alias(f"__key_{c}") for c in keys.values()),
            *(sf.col(c).alias(f"{join.name}_{c}") for c in others),
        )
        right = sf.broadcast(renamed) if broadcast else renamed
        condition = [data[left] == right[f"__key_{key}"] for left, key in keys.items()]
        joined = data.join(right, condition, join.how)
        data = joined.drop(*(f"__key_{key}" for key in keys.values()))
    return data


def output_partition(output: str, config: PipelineConfig, batch_id: str) -> str:
    """``<output>/<dataset>/batch_id=<id>``: where every engine writes."""
    return f"{output}/{config.dataset}/batch_id={batch_id}"
