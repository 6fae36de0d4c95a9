"""Entry script of the Glue join job: parse the arguments, run one batch, exit.

Runs unchanged on AWS Glue 5.0 (``s3://`` URIs, the ``join_job`` package from
``--extra-py-files``) and on a laptop with plain PySpark and local paths::

    python glue_jobs/join_job/job.py --pipeline_config "$(cat config/pipeline.json)" \\
        --input_path data/incoming/2026-11-20/ --batch_id 2026-11-20 \\
        --reference_path data/reference/ --output_path out/

Glue passes job arguments as ``--name value`` pairs, its own included (``--JOB_ID``,
``--enable-metrics``, ...), so plain argparse reads them on both; nothing here needs ``awsglue``.
All work happens in :func:`main`; importing this module does nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

if __package__ in (None, ""):
    # Run as a script: the package sits beside this file locally, in --extra-py-files on Glue.
    # Drop the script's own folder from the path so its modules can't shadow the standard library.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

from join_job.errors import JobArgumentError, JobError, JobInputError
from join_job.layout import check_batch_id
from join_job.local_spark import (
    SparkSizingError,
    launched_by_spark_submit,
    machine_sizing,
    start_local_session,
)
from join_job.pipeline_config import (
    PipelineConfigError,
    load_pipeline_config,
    parse_pipeline_config_json,
)
from join_job.run import BatchRun, run_batch

LOG = logging.getLogger("join_job")


def parse_arguments(argv: Sequence[str]) -> BatchRun:
    """The run described by ``argv``; unknown arguments (Glue's own) are ignored.

    ``--pipeline_config`` is the config's JSON text (as the stack passes it) or, on a laptop, the
    path of the config file.
    """
    parser = argparse.ArgumentParser(
        prog="job.py", description="Join one batch with the reference data.", allow_abbrev=False
    )
    parser.add_argument("--pipeline_config", required=True, help="config JSON text or file path")
    parser.add_argument("--input_path", required=True, help="the batch: a file or a folder")
    parser.add_argument("--batch_id", required=True, help="names the output partition")
    parser.add_argument("--output_path", required=True, help="root of results and reports")
    parser.add_argument("--reference_path", help="root of the reference data, one folder each")
    parser.add_argument("--catalog_database", help="Glue database to register the output in")
    parser.add_argument("--JOB_RUN_ID", dest="run_id", default="", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(list(argv))

    try:
        text = args.pipeline_config
        config = (
            parse_pipeline_config_json(text, source="--pipeline_config")
            if text.lstrip().startswith("{")
            else load_pipeline_config(text)
        )
    except PipelineConfigError as error:
        raise JobArgumentError(f"--pipeline_config: {error}") from error
    # The same rule as the trigger's (join_job.layout.is_valid_batch_id): refused before
    # anything is read or written, with the id in the message; a wrong argument, so exit 2.
    try:
        batch_id = check_batch_id(args.batch_id, what="--batch_id")
    except JobInputError as error:
        raise JobArgumentError(str(error)) from None
    if config.joins and not args.reference_path:
        raise JobArgumentError("--reference_path is required: the pipeline config has joins")
    return BatchRun(
        config=config,
        input_path=_absolute(args.input_path),
        batch_id=batch_id,
        output_path=_absolute(args.output_path),
        reference_path=_absolute(args.reference_path) if args.reference_path else None,
        catalog_database=args.catalog_database or None,
        run_id=args.run_id,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the job on ``argv`` (default: the process's arguments); 0 on success.

    Errors propagate (Glue shows their message as the run's error); the script's ``__main__``
    turns them into a message on stderr and exit status 2 for a wrong argument (as argparse
    does), 1 for a failed run.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    run = parse_arguments(sys.argv[1:] if argv is None else argv)

    from pyspark.sql import SparkSession

    # Reuse a session that is already running (Glue's, the local runner's, a test's) and stop
    # only the one this call started.
    existing = SparkSession.getActiveSession()
    app_name = f"join-{run.config.dataset}"
    if existing is not None:
        spark = existing
    elif launched_by_spark_submit(os.environ) or run.run_id:
        # Glue (or spark-submit) started the JVM with its own capacity settings: keep them.
        spark = SparkSession.builder.appName(app_name).getOrCreate()
    else:
        # On a laptop: size Spark to the machine (local_spark.py), not its 1 GB default heap.
        try:
            sizing = machine_sizing()
        except SparkSizingError as error:
            raise JobArgumentError(str(error)) from None
        LOG.info("starting local Spark: %s", sizing.describe())
        spark = start_local_session(app_name, sizing)
    try:
        report = run_batch(spark, run, glue_client=_glue_client if run.catalog_database else None)
    finally:
        if existing is None:
            spark.stop()
    LOG.info(
        "batch %s done: %s output rows, %s quarantined; report %s",
        run.batch_id,
        report["output_rows"],
        report["quarantined_rows"],
        run.report_path,
    )
    return 0


def _glue_client():  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("glue")


def _absolute(path: str) -> str:
    """A URI stays as is; a local path becomes absolute (Spark and Hadoop agree on it then)."""
    if urlparse(path).scheme in ("s3", "s3a", "s3n", "file", "hdfs"):
        return path
    absolute = str(Path(path).expanduser().resolve())
    return absolute + "/" if path.endswith("/") else absolute


if __name__ == "__main__":
    try:
        sys.exit(main())
    except JobArgumentError as error:
        print(f"job.py: error: {error}", file=sys.stderr)
        sys.exit(2)
    except JobError as error:
        print(f"job.py: error: {error}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
