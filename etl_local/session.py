"""Opens a local pipeline: synthesize the stack, start Spark once, enter moto.

Spark starts once per process and every Glue run reuses the session (the job script's
``getOrCreate`` picks it up), so a demo of several batches pays the JVM start-up once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from etl_local.glue_runner import GlueScriptError
from etl_local.pipeline import LocalPipeline
from etl_local.progress import Progress
from etl_local.spark import start_local_spark
from etl_local.synth import synthesize_local_stack
from join_job.local_spark import LocalSparkSizing
from join_job.pipeline_config import PipelineConfig


@contextmanager
def open_pipeline(
    *,
    config_path: Path,
    config: PipelineConfig,
    reference_dir: Path,
    output_dir: Path,
    landing_dir: Path,
    progress: Progress,
    spark_sizing: LocalSparkSizing | None = None,
) -> Iterator[LocalPipeline]:
    """The pipeline in moto, ready for :meth:`LocalPipeline.run` (Spark sized by ``spark_sizing``,
    else to the machine)."""
    progress.step("synth", f"synthesizing the local stage with {config_path}")
    stack = synthesize_local_stack(config_path)
    start_local_spark(progress, spark_sizing)
    with LocalPipeline(
        stack=stack,
        config=config,
        reference_dir=reference_dir.resolve(),
        output_dir=output_dir.resolve(),
        landing_dir=landing_dir.resolve(),
        script=run_job_script,
        progress=progress,
    ) as pipeline:
        yield pipeline


def run_job_script(argv: list[str]) -> None:
    """Run the Glue entry script (``glue_jobs/join_job/job.py``) in this process with ``argv``.

    Raises :class:`GlueScriptError` with the script's error message when it fails.
    """
    from join_job import job

    try:
        status = job.main(argv)
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    if status:
        raise GlueScriptError(f"the job script exited with status {status}")
