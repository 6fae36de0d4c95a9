"""The local SparkSession, in a module of its own so data generators need not import the CDK."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from join_job.local_spark import LocalSparkSizing, machine_sizing

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from etl_local.progress import Progress


def local_spark_session(sizing: LocalSparkSizing | None = None) -> SparkSession:
    """The process's SparkSession, sized to the machine (or ``sizing``), no UI, quiet logs."""
    from pyspark.sql import SparkSession

    sizing = sizing or machine_sizing()
    # Bind to loopback: no network needed, and no warning about the host name resolving to it.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master(sizing.master)
        .appName("etl-local")
        # Read when the JVM starts: a session already running keeps its heap.
        .config("spark.driver.memory", sizing.driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        # The job's background count and reference checks share the cores with the input pass
        # (join_job.background), as in job.py's own local session.
        .config("spark.scheduler.mode", "FAIR")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def start_local_spark(progress: Progress, sizing: LocalSparkSizing | None = None) -> None:
    """Start the process's session, saying so; nothing when one is already running."""
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is None:
        sizing = sizing or machine_sizing()
        progress.step("spark", f"starting local PySpark ({sizing.describe()})")
        local_spark_session(sizing)
