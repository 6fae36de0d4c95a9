"""``etl-local demo``: the shipped sample data through the pipeline, three batches, three outcomes.

1. a clean day of flights: every row joined, nothing quarantined, a success notification;
2. a day with bad rows (unparseable, wrong type, no destination, unknown airport): the batch
   succeeds and the bad rows land in quarantine with their reasons;
3. an empty export (a header and no rows): the job refuses it and the failure alert is shown.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from etl_local.inputs import UserInputError, collect_batch, load_config
from etl_local.pipeline import BatchResult
from etl_local.progress import Progress
from etl_local.results import print_summary
from etl_local.sample_data import write_batch, write_reference
from etl_local.spark import start_local_spark
from join_job.local_spark import LocalSparkSizing
from stacks.app_builder import PROJECT_ROOT

DEMO_CONFIG = PROJECT_ROOT / "config" / "pipeline.json"
_OWNER_MARKER = ".etl-local-demo"
GOOD, BAD_ROWS, EMPTY = "2026-11-20", "2026-11-21", "2026-11-22"


def run_demo(
    *, workdir: Path, rows: int, progress: Progress, spark_sizing: LocalSparkSizing | None = None
) -> int:
    """Generate the sample data under ``workdir`` and run the three batches; 0 when each
    batch ended as the demo expects."""
    if rows < 10:
        raise UserInputError(f"--rows {rows}: the demo needs at least 10 rows per batch")
    started = time.monotonic()
    _reset(workdir)
    config = load_config(DEMO_CONFIG)
    reference_dir = workdir / "reference"
    incoming_dir = workdir / "incoming"
    output_dir = workdir / "curated"
    # One Spark session for the whole demo: the sample's Parquet reference and every Glue run.
    start_local_spark(progress, spark_sizing)
    progress.step("sample", f"generating reference data and {rows:,}-row batches in {workdir}/")
    write_reference(reference_dir)
    write_batch(incoming_dir, GOOD, rows=rows, defects=False)
    write_batch(incoming_dir, BAD_ROWS, rows=rows, defects=True)
    empty = incoming_dir / EMPTY / "part-00000.csv"
    empty.parent.mkdir(parents=True)
    assert config.input.schema is not None  # the shipped config declares its schema
    empty.write_text(",".join(column for column, _ in config.input.schema) + "\n")

    from etl_local.session import open_pipeline

    results: list[BatchResult] = []
    with open_pipeline(
        config_path=DEMO_CONFIG,
        config=config,
        reference_dir=reference_dir,
        output_dir=output_dir,
        landing_dir=workdir / "landing",
        progress=progress,
    ) as pipeline:
        for batch_id, what in (
            (GOOD, "a clean day"),
            (BAD_ROWS, "a day with bad rows"),
            (EMPTY, "an empty export"),
        ):
            progress.text()
            progress.text(f"== batch {batch_id}: {what}")
            results.append(pipeline.run(collect_batch(incoming_dir / batch_id, None)))

    print_summary(results, progress)
    failing = results[2]
    progress.text()
    progress.text(f"The alert for {failing.batch_id} (also in {failing.alerts_file}):")
    progress.text(failing.failure_text())
    problems = _unexpected(results)
    progress.text()
    for problem in problems:
        progress.text(f"UNEXPECTED: {problem}")
    total = time.monotonic() - started
    progress.text(
        f"Demo {'finished as expected' if not problems else 'did NOT go as expected'} "
        f"in {total:.0f} s. Outputs: {output_dir}/"
    )
    return 1 if problems else 0


def _unexpected(results: list[BatchResult]) -> list[str]:
    good, bad, empty = results
    problems = []
    if not good.succeeded or not good.report or good.report.get("quarantined_rows"):
        problems.append(f"{good.batch_id} should succeed with nothing quarantined")
    if not bad.succeeded or not bad.report or not bad.report.get("quarantined_rows"):
        problems.append(f"{bad.batch_id} should succeed with rows in quarantine")
    if empty.succeeded or not any(_is_failure_alert(a.subject) for a in empty.alerts):
        problems.append(f"{empty.batch_id} should fail and send a failure alert")
    return problems


def _is_failure_alert(subject: str) -> bool:
    return "FAILED" in subject


def _reset(workdir: Path) -> None:
    """Start from an empty ``workdir``, deleting it only when an earlier demo created it."""
    if workdir.exists():
        if not (workdir / _OWNER_MARKER).exists():
            raise UserInputError(
                f"--workdir {workdir}: exists and was not created by the demo; "
                "pass an empty or new folder"
            )
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / _OWNER_MARKER).write_text("created by etl-local demo; deleted on its next run\n")
