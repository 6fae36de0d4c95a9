"""The local SparkSession, in a module of its own so data generators need not import the CDK."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from etl_local.progress import Progress


def local_spark_session() -> SparkSession:
    """The process's SparkSession, sized for a laptop: 2 cores, no UI, quiet logs."""
    from pyspark.sql import SparkSession

    # Bind to loopback: no network needed, and no warning about the host name resolving to it.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("etl-local")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def start_local_spark(progress: Progress) -> None:
    """Start the process's session, saying so; nothing when one is already running."""
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is None:
        progress.step("spark", "starting local PySpark (local[2])")
        local_spark_session()
