"""What the join job's independent record count costs: the job with and without it, side by side.

    python -m bench.count_cost [--sizes 1000000,10000000] [--repeats 3]

Both variants run as their own process on the same generated batch (``bench.data``), in
alternating order each repeat so drift in the machine's speed hits both alike; medians and the
ratio go to stdout and between the count-cost markers in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.data import prepare
from bench.measure import measure
from bench.run import PROJECT_ROOT, RESULTS, SPARK_ENV, engine_command, machine, versions

BEGIN, END = "<!-- bench:count-cost:begin -->", "<!-- bench:count-cost:end -->"
VARIANTS = ("with count", "without count")


def command(variant: str, data_dir: object, output: Path) -> list[str]:
    """The job's command line; the baseline runs the same arguments through the wrapper."""
    from bench.data import BenchData

    assert isinstance(data_dir, BenchData)
    argv = engine_command("job")(data_dir, output)
    if variant == "without count":
        argv[1] = str(PROJECT_ROOT / "bench" / "job_without_count.py")
    return argv


def run(sizes: Sequence[int], repeats: int, workdir: Path) -> list[str]:
    lines = [
        "| input rows | input MB | with count s | without count s | ratio | count s in the job "
        "(share of its in-process time) | runs with / without |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    env = {**os.environ, **SPARK_ENV, "PYTHONPATH": str(PROJECT_ROOT)}
    for size in sizes:
        data = prepare(workdir / "data", size)
        times: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
        # The count's own time, from the job's report (input_count.seconds), and the job's.
        inside: list[tuple[float, float]] = []
        for repeat in range(repeats):
            order = VARIANTS if repeat % 2 == 0 else VARIANTS[::-1]
            for variant in order:
                output = workdir / "out" / "count-cost"
                shutil.rmtree(output, ignore_errors=True)
                seconds = measure(command(variant, data, output), cwd=PROJECT_ROOT, env=env).seconds
                times[variant].append(seconds)
                if variant == "with count":
                    report = json.loads(
                        next((output / "_reports").rglob("*.json")).read_text(encoding="utf-8")
                    )
                    inside.append((report["input_count"]["seconds"], report["duration_seconds"]))
                print(
                    f"{size:>10,} rows  {variant:<13} run {repeat + 1}: {seconds:6.1f} s",
                    flush=True,
                )
        with_count = statistics.median(times["with count"])
        without = statistics.median(times["without count"])
        count_seconds = statistics.median(pair[0] for pair in inside)
        share = statistics.median(pair[0] / pair[1] for pair in inside)
        lines.append(
            f"| {size:,} | {data.input_bytes / 2**20:,.0f} | {with_count:.1f} | {without:.1f} "
            f"| {with_count / without:.3f} | {count_seconds:.1f} ({share:.0%}) "
            f"| {', '.join(f'{t:.1f}' for t in times['with count'])}"
            f" / {', '.join(f'{t:.1f}' for t in times['without count'])} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(float(part)) for part in text.split(",")],
        default=[1_000_000, 10_000_000],
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=PROJECT_ROOT / "bench" / ".data")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    table = run(args.sizes, args.repeats, args.workdir)
    block = "\n".join(
        [
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
            f"Versions: {versions()}.",
            "Command: `python -m bench.count_cost "
            + " ".join(argv if argv is not None else sys.argv[1:])
            + "`",
            "",
            *table,
        ]
    )
    print(block)
    text = args.results.read_text() if args.results.is_file() else "# Benchmark results\n"
    if BEGIN not in text:
        text += f"\n## Cost of the independent record count\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    args.results.write_text(f"{head}{BEGIN}\n{block}\n{END}{tail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
