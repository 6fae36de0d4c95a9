"""The summary printed after local runs: rows in/out/quarantined, where they are, time per step."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from etl_local.pipeline import BatchResult
from etl_local.progress import Progress, table

_STEPS = ("upload", "trigger", "gate", "glue", "workflow")


def print_summary(results: Sequence[BatchResult], progress: Progress) -> None:
    """Print the per-batch table, then each batch's output paths and alerts."""
    rows = [
        [
            result.batch_id,
            result.status,
            *_counts(_this_runs_report(result)),
            *(f"{result.seconds.get(step, 0.0):.1f}" for step in _STEPS),
        ]
        for result in results
    ]
    headers = ["batch", "status", "rows in", "rows out", "quarantined"]
    headers += [f"{step} s" for step in _STEPS]
    progress.text()
    progress.text(table(headers, rows))
    for result in results:
        progress.text()
        progress.text(f"{result.batch_id}:")
        for label, path in output_paths(result).items():
            if path.exists():
                earlier = label != "alerts" and not result.succeeded
                shown = f"{_shown(path)}{' (an earlier run, kept)' if earlier else ''}"
                progress.text(f"  {label:<11} {shown}")
        report = _this_runs_report(result)
        if report:
            reasons = report.get("quarantined_by_reason") or {}
            for reason, count in sorted(reasons.items()):
                progress.text(f"  quarantine  {count} row(s): {reason}")
        for alert in result.alerts:
            progress.text(f"  alert       {alert.subject}")


def output_paths(result: BatchResult) -> dict[str, Path]:
    """Where the batch's results, quarantine, report and alerts are (whether or not written).

    Results and quarantine are the current run's folders, as the batch's report names them
    (``<dataset>/batch_id=<id>/run=<run id>/``); the batch's folders when there is no report.
    """
    report = result.report or {}
    dataset = report.get("dataset") or _dataset_from(result.alerts_file)
    root = result.output_dir
    partition = f"batch_id={result.batch_id}"
    return {
        "results": Path(report.get("output_path") or root / dataset / partition),
        "quarantine": Path(
            report.get("quarantine_path") or root / "_quarantine" / dataset / partition
        ),
        "report": root / "_reports" / dataset / f"{result.batch_id}.json",
        "alerts": result.alerts_file,
    }


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it is under it (shorter to read)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _this_runs_report(result: BatchResult) -> dict[str, Any] | None:
    # The job writes its report last, on success only: a failed run leaves the previous run's
    # report (and output) in place, and those counts are not this run's.
    return result.report if result.succeeded else None


def _counts(report: dict[str, Any] | None) -> list[str]:
    if not report:
        return ["-", "-", "-"]
    return [
        f"{report.get('input_rows', 0):,}",
        f"{report.get('output_rows', 0):,}",
        f"{report.get('quarantined_rows', 0):,}",
    ]


def _dataset_from(alerts_file: Path) -> str:
    # Alerts are written to <output>/_alerts/<dataset>/<batch id>.jsonl.
    return alerts_file.parent.name
