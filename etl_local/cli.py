"""``etl-local``: run the deployed pipeline on one machine, offline.

    etl-local run --config CONFIG --reference-dir DIR --incoming PATH --output DIR [--batch-id ID]
    etl-local demo [--workdir DIR] [--rows N]

Both size local Spark to the machine (``join_job/local_spark.py``); ``--driver-memory`` and
``--cores`` (or ``ETL_SPARK_DRIVER_MEMORY`` / ``ETL_SPARK_CORES``) override it.

Exit status: 0 when the batch succeeded, 1 when the pipeline failed it (the notification people
would get is printed on stderr), 2 when an argument is wrong (the message says which and why).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from etl_local.inputs import (
    UserInputError,
    check_output_outside_incoming,
    check_reference_dir,
    collect_batch,
    load_config,
    prepare_output_dir,
)
from etl_local.progress import Progress
from etl_local.results import print_summary
from join_job.local_spark import LocalSparkSizing, SparkSizingError, machine_sizing

EXIT_OK = 0
EXIT_PIPELINE_FAILED = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``etl-local`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(verbose=args.verbose)
    try:
        sizing = machine_sizing(driver_memory=args.driver_memory, cores=args.cores)
        if args.command == "run":
            return _run(args, sizing)
        from etl_local.demo import run_demo

        return run_demo(
            workdir=args.workdir, rows=args.rows, progress=Progress(), spark_sizing=sizing
        )
    except (UserInputError, SparkSizingError) as error:
        print(f"etl-local: error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _run(args: argparse.Namespace, sizing: LocalSparkSizing) -> int:
    config = load_config(args.config)
    check_reference_dir(args.reference_dir, config)
    batch = collect_batch(args.incoming, args.batch_id)
    check_output_outside_incoming(args.output, args.incoming)
    prepare_output_dir(args.output)
    progress = Progress(quiet=args.quiet)

    from etl_local.session import open_pipeline

    landing_dir = Path(tempfile.mkdtemp(prefix="etl-local-landing-"))
    try:
        with open_pipeline(
            config_path=args.config,
            config=config,
            reference_dir=args.reference_dir,
            output_dir=args.output,
            landing_dir=landing_dir,
            progress=progress,
            spark_sizing=sizing,
        ) as pipeline:
            result = pipeline.run(batch, arrival_time=args.arrival_time)
    finally:
        shutil.rmtree(landing_dir, ignore_errors=True)
    # --quiet silences the progress lines, not the summary.
    print_summary([result], Progress())
    if result.succeeded:
        return EXIT_OK
    print(f"etl-local: batch {result.batch_id} FAILED\n{result.failure_text()}", file=sys.stderr)
    return EXIT_PIPELINE_FAILED


def _configure_logging(*, verbose: bool) -> None:
    """Progress lines are the output; library logs only on --verbose (the job's phase timings)."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # moto's ASL engine logs every failed execution with a dump of its parse tree; the runner
    # already reports the failure (state, error, cause) and the alert text.
    logging.getLogger("moto.stepfunctions").setLevel(logging.INFO if verbose else logging.CRITICAL)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="etl-local",
        description="Run the ETL pipeline on this machine: moto for AWS, the synthesized "
        "workflow, the real trigger handler and the real Glue script on local PySpark.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    spark = argparse.ArgumentParser(add_help=False)
    spark.add_argument(
        "--driver-memory",
        help="local Spark's driver memory, e.g. 8g (default: half the machine's memory, "
        "1g to 16g; or $ETL_SPARK_DRIVER_MEMORY)",
    )
    spark.add_argument(
        "--cores",
        type=int,
        help="local Spark's cores (default: every CPU of the machine; or $ETL_SPARK_CORES)",
    )

    run = commands.add_parser(
        "run",
        parents=[spark],
        help="run one batch through the pipeline",
        description="Upload one batch, trigger, run the workflow and the Glue job; results "
        "land in --output in the layout the job writes on S3.",
    )
    run.add_argument("--config", type=Path, required=True, help="pipeline config JSON")
    run.add_argument(
        "--reference-dir",
        type=Path,
        required=True,
        help="folder with one sub-folder per reference data set named in the config",
    )
    run.add_argument(
        "--incoming", type=Path, required=True, help="the batch: a file or a folder of files"
    )
    run.add_argument("--output", type=Path, required=True, help="stands in for the curated bucket")
    run.add_argument(
        "--batch-id",
        help="batch id (default: the folder's name, or the file's name for a single file)",
    )
    run.add_argument(
        "--arrival-time",
        type=_utc_time,
        help="upload time the S3 events carry, e.g. 2026-11-28T19:13:05Z (default: now); a "
        "single file's batch id comes from it (orders.csv-2026-11-28)",
    )
    run.add_argument("--quiet", action="store_true", help="print only the summary")
    run.add_argument("--verbose", action="store_true", help="also print the job's log")

    demo = commands.add_parser(
        "demo",
        parents=[spark],
        help="generate sample data and run a good, a bad-rows and a failing batch",
    )
    demo.add_argument(
        "--workdir",
        type=Path,
        default=Path(".demo"),
        help="where the sample data and outputs go (default: .demo/, replaced on each run)",
    )
    demo.add_argument(
        "--rows", type=int, default=20_000, help="rows per sample batch (default 20000)"
    )
    demo.add_argument("--verbose", action="store_true", help="also print the job's log")
    return parser


def _utc_time(text: str) -> datetime:
    """An ISO 8601 time; without a zone it is UTC."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-11-28T19:13:05Z"
        ) from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


if __name__ == "__main__":
    sys.exit(main())
