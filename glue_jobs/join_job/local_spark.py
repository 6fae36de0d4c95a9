"""How big a local Spark is: driver memory and cores from the machine, both overridable.

Run locally, Spark would otherwise start with a 1 GB driver heap whatever the machine, and in
local mode that heap holds everything (tasks, broadcasts, Parquet buffers). The sizing applies
only when this process is about to start Spark's JVM itself: ``job.py`` on a laptop and
``etl-local``. Under ``spark-submit`` (AWS Glue, a cluster) the JVM is already running with the
platform's settings, and those are left alone.

Defaults: half the memory the process may use (physical RAM or its cgroup limit, whichever is
smaller), at least 1 GiB and at most 16 GiB (a bigger single heap mostly buys longer GC pauses);
every CPU the process may run on. Overrides, strongest first: explicit values (``etl-local
--driver-memory/--cores``), then ``ETL_SPARK_DRIVER_MEMORY`` / ``ETL_SPARK_CORES``. A
``--driver-memory`` in ``PYSPARK_SUBMIT_ARGS`` beats all of them (spark-submit's own flag).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DRIVER_MEMORY_ENV = "ETL_SPARK_DRIVER_MEMORY"
CORES_ENV = "ETL_SPARK_CORES"
MEMORY_FRACTION = 0.5
MIN_DRIVER_MIB = 1024
MAX_DRIVER_MIB = 16 * 1024
# Set by spark-submit (and so on Glue) in the Python process it starts: a JVM is already up.
_SPARK_SUBMIT_GATEWAY = "PYSPARK_GATEWAY_PORT"
_JVM_MEMORY = re.compile(r"^[1-9][0-9]*[kmgt]$", re.IGNORECASE)
_MIB = 1024 * 1024


class SparkSizingError(ValueError):
    """A driver memory or core count override is invalid; the message names where it came from."""


@dataclass(frozen=True)
class LocalSparkSizing:
    """Driver memory (a JVM size such as ``12g``) and the cores of a ``local[N]`` master."""

    driver_memory: str
    cores: int

    @property
    def master(self) -> str:
        return f"local[{self.cores}]"

    def describe(self) -> str:
        return f"{self.master}, {self.driver_memory} driver memory"


def size_local_spark(
    *,
    memory_bytes: int,
    cpu_count: int,
    environ: Mapping[str, str],
    driver_memory: str | None = None,
    cores: int | None = None,
) -> LocalSparkSizing:
    """The sizing for a machine with ``memory_bytes`` and ``cpu_count``, overrides applied."""
    memory = driver_memory or environ.get(DRIVER_MEMORY_ENV, "").strip() or None
    if memory is None:
        mib = int(memory_bytes * MEMORY_FRACTION) // _MIB
        mib = max(MIN_DRIVER_MIB, min(MAX_DRIVER_MIB, mib))
        # Whole gigabytes read better and lose little once there are a few of them.
        memory = f"{mib // 1024}g" if mib >= 2048 else f"{mib}m"
    elif not _JVM_MEMORY.match(memory):
        where = "--driver-memory" if driver_memory else DRIVER_MEMORY_ENV
        raise SparkSizingError(f"{where}: {memory!r} is not a JVM memory size such as 4g or 4096m")
    if cores is None:
        text = environ.get(CORES_ENV, "").strip()
        if text:
            if not text.isdigit() or int(text) < 1:
                raise SparkSizingError(f"{CORES_ENV}: {text!r} is not a whole number >= 1")
            cores = int(text)
        else:
            cores = max(1, cpu_count)
    elif cores < 1:
        raise SparkSizingError(f"--cores: must be >= 1, got {cores}")
    return LocalSparkSizing(driver_memory=memory.lower(), cores=cores)


def launched_by_spark_submit(environ: Mapping[str, str]) -> bool:
    """Whether a JVM already runs for this process (spark-submit, Glue): no sizing then."""
    return _SPARK_SUBMIT_GATEWAY in environ


def machine_sizing(
    *, driver_memory: str | None = None, cores: int | None = None
) -> LocalSparkSizing:
    """:func:`size_local_spark` for this machine and this process's environment."""
    return size_local_spark(
        memory_bytes=usable_memory_bytes(),
        cpu_count=usable_cpu_count(),
        environ=os.environ,
        driver_memory=driver_memory,
        cores=cores,
    )


def start_local_session(app_name: str, sizing: LocalSparkSizing) -> SparkSession:
    """A new ``local[N]`` session with ``sizing`` (its driver memory needs a JVM not yet up)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(sizing.master)
        .appName(app_name)
        .config("spark.driver.memory", sizing.driver_memory)
        # Background jobs (join_job.background) share the cores with the input pass.
        .config("spark.scheduler.mode", "FAIR")
        .getOrCreate()
    )


def usable_memory_bytes() -> int:
    """Physical memory, or the cgroup's memory limit when that is lower (containers)."""
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            return min(physical, int(text))
    return physical


def usable_cpu_count() -> int:
    """The CPUs this process may run on (its affinity mask), else ``os.cpu_count()``."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
