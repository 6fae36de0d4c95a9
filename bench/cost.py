"""Cost on paper: a daily run's Glue bill from measured local throughput and Glue's price model.

Glue 5.0 Spark jobs bill DPU-hours per second with a one-minute minimum per run. A G.1X worker
is 1 DPU (4 vCPU, 16 GB), a G.2X worker 2 DPU (8 vCPU, 32 GB); FLEX runs cost less per DPU-hour
on spare capacity (and may start later). One worker is the driver, so ``workers - 1`` run tasks.

The estimate scales the per-core throughput measured on this machine to the executors' vCPUs.
It is a paper estimate: S3 reads are slower than a local disk and Glue's per-core speed differs;
the assumptions are printed with the numbers.

With auto scaling, ``workers`` is a maximum and a run is billed for the workers it used
(GetJobRun's ``DPUSeconds``). The job splits its input into pieces of at most
``SPLIT_MB`` (the config's ``target_partition_mb``), so a batch keeps busy only as many
executors as it has splits per vCPU; the estimate bills the driver plus those executors for the
whole run (scale-in during the run is not counted, so it errs high).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# us-east-1 list prices (USD per DPU-hour) for Glue 5.0 Spark jobs.
PRICE_STANDARD = 0.44
PRICE_FLEX = 0.29
MINIMUM_BILLED_SECONDS = 60
# Glue 5.0 start-up that is billed before the script's first line runs (assumed, typical).
BILLED_STARTUP_SECONDS = 15.0
_WORKERS = {"G.1X": (1, 4), "G.2X": (2, 8), "G.4X": (4, 16), "G.8X": (8, 32)}
SPLIT_MB = 128


@dataclass(frozen=True)
class Throughput:
    """Measured local cost of the job: fixed seconds per run plus seconds per GB per core."""

    fixed_seconds: float
    core_seconds_per_gb: float

    @classmethod
    def fit(cls, points: list[tuple[float, float]], *, cores: int) -> Throughput:
        """Least-squares line through (input GB, wall seconds) points measured on ``cores``."""
        if len(points) < 2:
            raise ValueError("need at least two (GB, seconds) points to fit a throughput")
        n = len(points)
        mean_x = sum(x for x, _ in points) / n
        mean_y = sum(y for _, y in points) / n
        spread = sum((x - mean_x) ** 2 for x, _ in points)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
        return cls(
            fixed_seconds=max(0.0, mean_y - slope * mean_x), core_seconds_per_gb=slope * cores
        )


@dataclass(frozen=True)
class GlueRunEstimate:
    """Estimated run time and bill of one daily run."""

    worker_type: str
    workers: int
    execution_class: str
    auto_scaling: bool
    workers_used: int
    input_gb: float
    seconds: float
    dpu_hours: float
    usd: float


def estimate(
    throughput: Throughput,
    *,
    input_gb: float,
    worker_type: str,
    workers: int,
    execution_class: str,
    auto_scaling: bool = False,
) -> GlueRunEstimate:
    """The bill of one run of ``input_gb`` on the given Glue capacity."""
    dpu_per_worker, vcpus = _WORKERS[worker_type]
    executors = max(1, workers - 1)
    if auto_scaling:
        splits = max(1, math.ceil(input_gb * 1024 / SPLIT_MB))
        executors = min(executors, math.ceil(splits / vcpus))
    seconds = BILLED_STARTUP_SECONDS + input_gb * throughput.core_seconds_per_gb / (
        executors * vcpus
    )
    billed_seconds = max(MINIMUM_BILLED_SECONDS, seconds)
    dpu_hours = dpu_per_worker * (executors + 1) * billed_seconds / 3600
    price = PRICE_FLEX if execution_class == "FLEX" else PRICE_STANDARD
    return GlueRunEstimate(
        worker_type=worker_type,
        workers=workers,
        execution_class=execution_class,
        auto_scaling=auto_scaling,
        workers_used=executors + 1,
        input_gb=input_gb,
        seconds=seconds,
        dpu_hours=dpu_hours,
        usd=dpu_hours * price,
    )
