"""The fixed cost every PySpark process pays: start a local[2] session and stop it, no work.

``python -m bench.spark_startup [--repeats 3]`` prints the median whole-process time, measured
the same way as the engines in ``bench.run``, so it can be subtracted from their times to
compare the work each does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Sequence

from bench.measure import measure

_EMPTY_SESSION = (
    "from pyspark.sql import SparkSession\n"
    "spark = SparkSession.builder.master('local[2]').config('spark.ui.enabled', 'false')"
    ".getOrCreate()\n"
    "spark.range(1).count()\n"
    "spark.stop()\n"
)


def startup_seconds(repeats: int) -> list[float]:
    """Wall time of ``repeats`` runs of a Python process that starts Spark and stops it."""
    return [measure([sys.executable, "-c", _EMPTY_SESSION]).seconds for _ in range(repeats)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    runs = startup_seconds(args.repeats)
    print(
        f"Spark start-up (empty local[2] session, one trivial job): median "
        f"{statistics.median(runs):.1f} s; runs: {', '.join(f'{run:.1f}' for run in runs)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
