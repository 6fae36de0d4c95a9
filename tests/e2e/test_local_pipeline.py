"""The whole pipeline on this machine, as a user runs it: ``etl-local run``.

Each run synthesizes the local stage, plays it in moto (bucket, trigger handler, state machine,
alerts topic) and runs the real Glue script on local PySpark; the assertions read what lands in
the output folder, which is laid out as the curated bucket would be. The first test runs the
installed console script in a subprocess, exactly as a user does; the others call the same
entry point (``etl_local.cli.main``) in this process, where Spark is already warm.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ETL_LOCAL = Path(sys.executable).parent / "etl-local"

CONFIG: dict[str, Any] = {
    "dataset": "orders",
    "input": {
        "format": "csv",
        "schema": {"order_id": "bigint", "customer": "string", "amount": "double"},
    },
    "joins": [
        {"name": "customers", "format": "csv", "on": {"customer": "customer_id"}, "how": "inner"}
    ],
    "output": {"format": "parquet"},
}
HEADER = "order_id,customer,amount"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A config, a reference folder and an empty output folder in ``tmp_path``."""
    (tmp_path / "pipeline.json").write_text(json.dumps(CONFIG))
    customers = tmp_path / "reference" / "customers"
    customers.mkdir(parents=True)
    (customers / "customers.csv").write_text("customer_id,name,country\nc1,Ada,UK\nc2,Grace,US\n")
    return tmp_path


def write_batch(root: Path, name: str, lines: list[str]) -> Path:
    path = root / "incoming" / name
    path.mkdir(parents=True)
    (path / "part-0001.csv").write_text("".join(f"{line}\n" for line in [HEADER, *lines]))
    return path


def run_arguments(workspace: Path, incoming: Path, *extra: str) -> list[str]:
    """``etl-local``'s arguments to run ``incoming`` with the workspace's config and folders."""
    return [
        "run",
        "--config",
        str(workspace / "pipeline.json"),
        "--reference-dir",
        str(workspace / "reference"),
        "--incoming",
        str(incoming),
        "--output",
        str(workspace / "curated"),
        *extra,
    ]


def etl_local_run(workspace: Path, incoming: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ETL_LOCAL), *run_arguments(workspace, incoming, *extra)],
        capture_output=True,
        text=True,
        check=False,
        cwd=PROJECT_ROOT,
        timeout=300,
    )


def etl_local_in_process(
    workspace: Path, incoming: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> subprocess.CompletedProcess[str]:
    """:func:`etl_local_run`, through the console script's entry point in this process."""
    from etl_local import cli

    capsys.readouterr()
    argv = run_arguments(workspace, incoming, *extra)
    code = cli.main(argv)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, out.out, out.err)


def parquet_rows(folder: Path, columns: str = "*", order_by: str = "1") -> list[tuple[Any, ...]]:
    """Rows of the Parquet files in ``folder`` (not the partition column its path implies)."""
    source = f"read_parquet('{folder}/*.parquet', hive_partitioning=false)"
    return duckdb.sql(f"SELECT {columns} FROM {source} ORDER BY {order_by}").fetchall()


def test_batch_with_bad_rows_succeeds_and_quarantines_them(workspace: Path) -> None:
    incoming = write_batch(
        workspace,
        "2026-11-20",
        ["1,c1,10.5", "2,c2,20", "3,c9,30", "4,c1,lots", "5,,1", "6,c1"],
    )
    done = etl_local_run(workspace, incoming)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    curated = workspace / "curated"
    report = json.loads((curated / "_reports" / "orders" / "2026-11-20.json").read_text())
    # One run folder, named by the report (how path readers find the current batch) ...
    run_folder = f"run={report['run_id']}"
    assert report["output_path"] == str(curated / "orders" / "batch_id=2026-11-20" / run_folder)
    assert parquet_rows(Path(report["output_path"])) == [
        (1, "c1", 10.5, "Ada", "UK"),
        (2, "c2", 20.0, "Grace", "US"),
    ]
    # ... which the summary prints.
    assert f"/batch_id=2026-11-20/{run_folder}" in done.stdout
    quarantine = parquet_rows(
        Path(report["quarantine_path"]),
        "order_id, reject_reason",
        "reject_reason",
    )
    assert quarantine == [
        (6, "malformed_row"),  # the fields a short line does have are kept
        (5, "null_join_key:customers"),
        (4, "schema_mismatch:amount"),
        (3, "unmatched:customers"),
    ]
    assert (report["input_rows"], report["output_rows"], report["quarantined_rows"]) == (6, 2, 4)
    alerts = (curated / "_alerts" / "orders" / "2026-11-20.jsonl").read_text().splitlines()
    assert [json.loads(line)["subject"] for line in alerts] == ["ETL batch succeeded (local)"]
    assert "2026-11-20" in done.stdout
    assert "SUCCEEDED" in done.stdout
    # Progress from the Glue hook (moto's thread) is printed in order among the states.
    lines = [line for line in done.stdout.splitlines() if line.startswith("[")]
    steps = [line.split("] ", 1)[1].split()[:2] for line in lines]
    order = [" ".join(step) for step in steps if step[0] in ("state", "glue")]
    run_glue = order.index("state RunGlueJob")
    assert order[run_glue + 1 : run_glue + 3] == ["glue run", "glue run"]
    assert order[run_glue + 3] == "state NotifySuccess"


def test_empty_batch_fails_and_prints_the_alert_people_would_get(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incoming = write_batch(workspace, "2026-11-22", [])
    done = etl_local_in_process(workspace, incoming, capsys, "--quiet")

    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ETL batch FAILED (local)" in done.stderr
    assert "is empty: it holds no data rows" in done.stderr
    alerts = workspace / "curated" / "_alerts" / "orders" / "2026-11-22.jsonl"
    subjects = [json.loads(line)["subject"] for line in alerts.read_text().splitlines()]
    assert subjects == ["ETL batch FAILED (local)"]
    assert not (workspace / "curated" / "orders" / "batch_id=2026-11-22").exists()


def test_fixed_name_daily_file_is_one_batch_per_day_and_keeps_earlier_days(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    daily = workspace / "export" / "orders.csv"
    daily.parent.mkdir(parents=True)
    days = {"2026-11-27": "7,c2,70", "2026-11-28": "8,c1,80"}
    for day, line in days.items():
        daily.write_text(f"{HEADER}\n{line}\n")  # the same file name every day
        arrival = f"{day}T06:00:00Z"
        done = etl_local_in_process(workspace, daily, capsys, "--quiet", "--arrival-time", arrival)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    reports = workspace / "curated" / "_reports" / "orders"
    assert sorted(path.name for path in reports.glob("*.json")) == [
        "orders.csv-2026-11-27.json",
        "orders.csv-2026-11-28.json",
    ]
    outputs = {
        path.stem: parquet_rows(Path(json.loads(path.read_text())["output_path"]))
        for path in reports.glob("*.json")
    }
    assert outputs == {
        "orders.csv-2026-11-27": [(7, "c2", 70.0, "Grace", "US")],
        "orders.csv-2026-11-28": [(8, "c1", 80.0, "Ada", "UK")],
    }


def test_quiet_failed_rerun_prints_only_the_summary_without_the_earlier_counts(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An earlier successful run of this batch left its report (3 in, 2 out, 1 quarantined).
    report = workspace / "curated" / "_reports" / "orders" / "2026-11-21.json"
    report.parent.mkdir(parents=True)
    earlier = {"dataset": "orders", "input_rows": 3, "output_rows": 2, "quarantined_rows": 1}
    report.write_text(json.dumps(earlier))
    incoming = write_batch(workspace, "2026-11-21", [])  # the re-export came out empty

    done = etl_local_in_process(workspace, incoming, capsys, "--quiet")

    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    # The summary and nothing else: no progress lines, the table first.
    assert lines[0] == ""
    assert lines[1].split()[:4] == ["batch", "status", "rows", "in"]
    (row,) = [line for line in lines if line.startswith("2026-11-21 ")]
    # The failed run wrote no report: its line shows no counts, not the earlier run's.
    assert row.split()[:5] == ["2026-11-21", "FAILED", "-", "-", "-"]
    assert not any(line.startswith("[") for line in lines)
    assert f"  report      {report} (an earlier run, kept)" in lines
    assert "  alert       ETL batch FAILED (local)" in lines
    assert "is empty: it holds no data rows" in done.stderr


def test_missing_reference_folder_is_a_usage_error_before_anything_runs(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incoming = write_batch(workspace, "b", ["1,c1,1"])
    (workspace / "reference" / "customers" / "customers.csv").unlink()
    (workspace / "reference" / "customers").rmdir()
    done = etl_local_in_process(workspace, incoming, capsys)

    assert done.returncode == 2
    assert "customers" in done.stderr
