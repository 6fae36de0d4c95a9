"""What the commit step costs: the job's own timing of ``commit_run`` on a batch and its rerun.

    python -m bench.commit_cost [--rows 10000000] [--repeats 3]

Runs the real job in this process (one local[2] session, as the local runner does) with the
Data Catalog in moto, on the benchmark's flights batch: a first run into an empty output, then a
rerun of the same batch, whose commit also deletes the superseded run. Reports the commit step
(table, report, partition switch, clean-up: everything after the data is written, counted and
checked) per run, the whole run for scale, and what the step moved: the output's files and bytes,
all written once, none copied.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench.data import prepare
from bench.run import PROJECT_ROOT, SPARK_ENV

_COMMIT = re.compile(r"commit took ([0-9.]+) s")


class _CommitTimes(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = _COMMIT.search(record.getMessage())
        if found:
            self.seconds.append(float(found.group(1)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / "bench" / ".data")
    args = parser.parse_args(argv)

    import boto3
    from moto import mock_aws

    from etl_local.progress import Progress
    from etl_local.spark import start_local_spark
    from join_job import job

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # the job's Glue client
    os.environ.update(SPARK_ENV)  # the driver memory the job gets in bench.run
    data = prepare(args.workdir / "data", args.rows)
    output = args.workdir / "commit-out"
    start_local_spark(Progress())
    timings = _CommitTimes()
    logging.getLogger("join_job").addHandler(timings)
    argv_job = [
        "--pipeline_config", str(data.config), "--input_path", str(data.batch_dir),
        "--batch_id", data.batch_id, "--output_path", str(output),
        "--reference_path", str(data.reference_dir), "--catalog_database", "bench",
    ]  # fmt: skip
    first: list[tuple[float, float]] = []
    rerun: list[tuple[float, float]] = []
    with mock_aws():
        boto3.client("glue", region_name="us-east-1").create_database(
            DatabaseInput={"Name": "bench"}
        )
        for repeat in range(args.repeats):
            shutil.rmtree(output, ignore_errors=True)
            for kind, into in (("first run", first), ("rerun", rerun)):
                clock = time.perf_counter()
                job.main(argv_job)
                whole = time.perf_counter() - clock
                into.append((timings.seconds[-1], whole))
                print(
                    f"{args.rows:,} rows, repeat {repeat + 1}, {kind}: commit "
                    f"{timings.seconds[-1]:.3f} s of {whole:.1f} s",
                    flush=True,
                )
            glue = boto3.client("glue", region_name="us-east-1")
            glue.delete_table(DatabaseName="bench", Name="flights")
    files = [p for p in output.rglob("*.parquet")]
    size_mb = sum(p.stat().st_size for p in files) / 2**20
    for kind, values in (("first run", first), ("rerun", rerun)):
        commits = [commit for commit, _ in values]
        wholes = [whole for _, whole in values]
        print(
            f"{kind}: commit median {statistics.median(commits):.3f} s "
            f"(runs {', '.join(f'{c:.3f}' for c in commits)}); whole run median "
            f"{statistics.median(wholes):.1f} s"
        )
    print(f"output of one run: {len(files)} Parquet files, {size_mb:,.1f} MB; copied: 0 bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
