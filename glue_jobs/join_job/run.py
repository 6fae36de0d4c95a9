"""One run of the join job over one batch: checks, read, join, write-then-swap, report.

:func:`run_batch` is the whole job apart from argument parsing; the entry script
(``job.py``), the local runner and the tests call it.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from join_job import datasets, transforms
from join_job.errors import DuplicateReferenceKeyError, JobInputError, RowCountMismatchError
from join_job.filesystem import HadoopFileSystem, join_uri
from join_job.pipeline_config import JoinSpec, PipelineConfig

LOG = logging.getLogger("join_job")
MEGABYTE = 1024 * 1024


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
    def output_partition(self) -> str:
        """``<output_path>/<dataset>/batch_id=<batch_id>``: this batch's results."""
        return join_uri(self.output_path, self.config.dataset, f"batch_id={self.batch_id}")

    @property
    def quarantine_partition(self) -> str:
        """``<output_path>/_quarantine/<dataset>/batch_id=<batch_id>``: its rejected rows."""
        return join_uri(
            self.output_path, "_quarantine", self.config.dataset, f"batch_id={self.batch_id}"
        )

    @property
    def report_path(self) -> str:
        """``<output_path>/_reports/<dataset>/<batch_id>.json``: the run report."""
        return join_uri(self.output_path, "_reports", self.config.dataset, f"{self.batch_id}.json")

    def reference_folder(self, join: JoinSpec) -> str:
        """``<reference_path>/<name>``: where reference ``name`` lives."""
        if self.reference_path is None:
            raise JobInputError(f"join {join.name!r} needs --reference_path")
        return join_uri(self.reference_path, join.name)


@dataclass(frozen=True)
class _Reference:
    prepared: transforms.PreparedReference
    uri: str
    size: int
    broadcast: bool


GlueClientFactory = Callable[[], Any]


def run_batch(
    spark: SparkSession, run: BatchRun, *, glue_client: GlueClientFactory | None = None
) -> dict[str, Any]:
    """Process one batch; return the run report (also written to ``run.report_path``).

    Fails fast with :class:`JobInputError` naming the path or column when the input is missing or
    empty, a reference folder is missing, a join key is absent or a reference repeats a key.
    Results and quarantine are written to a staging folder, counted, checked against the input
    (``input = output + quarantined``) and only then moved over the batch's previous partitions,
    so a failed run leaves the previous good output in place.
    """
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    run_id = run.run_id or uuid.uuid4().hex
    fs = HadoopFileSystem(spark)
    config = run.config

    input_bytes = _check_input(fs, run.input_path)
    _tune(spark, config, input_bytes)
    raw = datasets.read_batch(spark, run.input_path, config.input)
    parsed = transforms.parse_batch(raw, config.input.schema)
    input_columns = [
        name for name in parsed.columns if name not in (transforms.REJECT_REASON, "raw_record")
    ]
    references = _prepare_references(spark, fs, run, parsed, input_columns)

    # The one pass over the input: parsed rows stay cached for the joins, the count and writes.
    parsed = parsed.persist(StorageLevel.MEMORY_AND_DISK)
    staging = join_uri(run.output_path, "_staging", config.dataset, f"{run.batch_id}-{run_id}")
    try:
        input_rows = _count_input(parsed, run.input_path)
        if input_rows == 0:
            raise JobInputError(f"the batch at {run.input_path} is empty: it holds no data rows")
        joined = parsed
        for reference in references:
            joined = transforms.join_reference(
                joined, reference.prepared, broadcast=reference.broadcast
            )
        classified = transforms.mark_join_rejections(joined, config.joins)
        counts = _count_by_reason(classified, config.joins)
        output_columns = input_columns + [
            name for reference in references for name in reference.prepared.added_columns
        ]
        results = transforms.output_rows(classified, output_columns)
        staged_output = join_uri(staging, "output")
        staged_quarantine = join_uri(staging, "quarantine")
        datasets.write_parquet(results, staged_output)
        datasets.write_parquet(
            transforms.quarantine_rows(classified, input_columns), staged_quarantine
        )
        output_rows = datasets.parquet_row_count(spark, staged_output)
        quarantined_rows = datasets.parquet_row_count(spark, staged_quarantine)
        _check_row_counts(run, input_rows, output_rows, quarantined_rows, counts)

        # Commit: quarantine first, results last, so results never point at stale rejects.
        _swap_in(fs, staged_quarantine, run.quarantine_partition, run_id)
        _swap_in(fs, staged_output, run.output_partition, run_id)
        if run.catalog_database and glue_client is not None:
            from join_job.catalog import register_batch

            register_batch(
                glue_client(),
                database=run.catalog_database,
                table=config.dataset,
                table_location=join_uri(run.output_path, config.dataset),
                batch_id=run.batch_id,
                columns=datasets.hive_columns(results),
            )
    finally:
        parsed.unpersist()
        fs.delete(staging)

    report = _report(
        run,
        run_id=run_id,
        references=references,
        counts=counts,
        input_rows=input_rows,
        output_rows=output_rows,
        started_at=started_at,
        seconds=time.monotonic() - clock,
    )
    fs.write_text(run.report_path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    LOG.info(
        "batch %s: %d input rows, %d output, %d quarantined",
        run.batch_id,
        input_rows,
        output_rows,
        report["quarantined_rows"],
    )
    return report


def _check_input(fs: HadoopFileSystem, input_path: str) -> int:
    """Total bytes of the batch's data files; fail fast when there are none."""
    if not fs.exists(input_path):
        raise JobInputError(f"input path {input_path} does not exist")
    files = fs.data_files(input_path)
    if not files:
        raise JobInputError(f"the batch at {input_path} is empty: it holds no data files")
    total = sum(item.size for item in files)
    if total == 0:
        raise JobInputError(f"the batch at {input_path} is empty: its files hold no bytes")
    return total


def _count_input(parsed: DataFrame, input_path: str) -> int:
    """Rows in the batch (this pass fills the cache); a header mismatch becomes a clear error."""
    try:
        return parsed.count()
    except Exception as error:
        text = str(error)
        marker = "CSV header does not conform to the schema."
        if marker not in text:
            raise
        # Spark's message lists the header, the expected columns and the file; keep just those.
        details = text[text.index(marker) + len(marker) :].splitlines()
        kept = [line.strip() for line in details if line.strip().startswith(_HEADER_DETAILS)]
        raise JobInputError(
            f"the batch at {input_path} mixes CSV headers: a file's header differs from the "
            f"first file's ({'; '.join(kept[:4])})"
        ) from None


_HEADER_DETAILS = ("Header:", "Schema:", "Expected:", "CSV file:")


def _tune(spark: SparkSession, config: PipelineConfig, input_bytes: int) -> None:
    """Size Spark to the batch: split size, shuffle partitions, broadcast threshold, AQE on."""
    target = config.tuning.target_partition_mb * MEGABYTE
    parallelism = spark.sparkContext.defaultParallelism
    # Enough partitions to keep every core busy, no more than one per target size beyond that;
    # AQE coalesces what turns out small.
    partitions = max(parallelism, math.ceil(input_bytes / target))
    settings = {
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.adaptive.coalescePartitions.enabled": "true",
        "spark.sql.shuffle.partitions": str(partitions),
        "spark.sql.files.maxPartitionBytes": str(target),
        "spark.sql.autoBroadcastJoinThreshold": str(
            config.tuning.broadcast_threshold_mb * MEGABYTE or -1
        ),
        "spark.sql.parquet.compression.codec": "snappy",
    }
    for key, value in settings.items():
        spark.conf.set(key, value)


def _prepare_references(
    spark: SparkSession,
    fs: HadoopFileSystem,
    run: BatchRun,
    parsed: DataFrame,
    input_columns: list[str],
) -> list[_Reference]:
    """Each join's reference, checked (folder, keys, unique keys) before the batch is read."""
    threshold = run.config.tuning.broadcast_threshold_mb * MEGABYTE
    columns = list(input_columns)
    types = dict(parsed.dtypes)
    references = []
    for join in run.config.joins:
        uri = run.reference_folder(join)
        if not fs.exists(uri):
            raise JobInputError(f"join {join.name!r}: reference folder {uri} does not exist")
        files = fs.data_files(uri)
        if not files:
            raise JobInputError(f"join {join.name!r}: reference folder {uri} holds no data files")
        frame = datasets.read_reference(spark, uri, join.format)
        key_types = {left: types[left] for left, _ in join.on if left in types}
        prepared = transforms.prepare_reference(frame, join, columns, key_types)
        duplicate = transforms.duplicate_key_sample(prepared)
        if duplicate is not None:
            rows = duplicate.pop("rows")
            raise DuplicateReferenceKeyError(
                f"join {join.name!r}: reference {uri} has {rows} rows for key "
                f"{json.dumps(duplicate, default=str)}; a join would multiply batch rows. "
                "Make the reference's key unique."
            )
        size = sum(item.size for item in files)
        references.append(
            _Reference(prepared, uri, size, broadcast=0 < size <= threshold and threshold > 0)
        )
        columns.extend(prepared.added_columns)
        types.update(dict(prepared.frame.select(*prepared.added_columns).dtypes))
    return references


def _count_by_reason(classified: DataFrame, joins: tuple[JoinSpec, ...]) -> list[dict[str, Any]]:
    return [row.asDict() for row in transforms.rows_by_reason(classified, joins).collect()]


def _check_row_counts(
    run: BatchRun,
    input_rows: int,
    output_rows: int,
    quarantined_rows: int,
    counts: list[dict[str, Any]],
) -> None:
    """The job's own guarantee, checked on what it wrote before anything is committed."""
    counted_output = sum(row["rows"] for row in counts if row[transforms.REJECT_REASON] is None)
    if input_rows != output_rows + quarantined_rows or counted_output != output_rows:
        raise RowCountMismatchError(
            f"batch {run.batch_id}: {input_rows} input rows but {output_rows} written to the "
            f"output and {quarantined_rows} to quarantine (aggregated: {counted_output} "
            "accepted); nothing was committed"
        )


def _swap_in(fs: HadoopFileSystem, staged: str, target: str, run_id: str) -> None:
    """Replace ``target`` by ``staged``; the previous folder is moved aside, then deleted."""
    previous = f"{target.rstrip('/')}.replaced-{run_id}"
    had_previous = fs.exists(target)
    if had_previous:
        fs.rename(target, previous)
    try:
        fs.rename(staged, target)
    except OSError:
        if had_previous:
            fs.rename(previous, target)
        raise
    if had_previous:
        fs.delete(previous)


def _report(
    run: BatchRun,
    *,
    run_id: str,
    references: list[_Reference],
    counts: list[dict[str, Any]],
    input_rows: int,
    output_rows: int,
    started_at: datetime,
    seconds: float,
) -> dict[str, Any]:
    stages = {join.name: index for index, join in enumerate(run.config.joins)}
    by_reason = {
        str(row[transforms.REJECT_REASON]): int(row["rows"])
        for row in sorted(counts, key=lambda row: str(row[transforms.REJECT_REASON]))
        if row[transforms.REJECT_REASON] is not None
    }
    return {
        "dataset": run.config.dataset,
        "batch_id": run.batch_id,
        "run_id": run_id,
        "status": "SUCCEEDED",
        "input_path": run.input_path,
        "output_path": run.output_partition,
        "quarantine_path": run.quarantine_partition,
        "input_rows": input_rows,
        "output_rows": output_rows,
        "quarantined_rows": sum(by_reason.values()),
        "quarantined_by_reason": by_reason,
        "joins": [
            _join_counts(index, reference, counts, stages)
            for index, reference in enumerate(references)
        ],
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(seconds, 3),
    }


def _join_counts(
    index: int, reference: _Reference, counts: list[dict[str, Any]], stages: dict[str, int]
) -> dict[str, Any]:
    """Matched and unmatched among the rows that reached this join (not rejected before it)."""
    join = reference.prepared.join
    reached = [row for row in counts if _stage(row[transforms.REJECT_REASON], stages) >= index]
    rows = sum(int(row["rows"]) for row in reached)
    matched = sum(int(row[f"matched_{join.name}"]) for row in reached)
    return {
        "name": join.name,
        "how": join.how,
        "reference_path": reference.uri,
        "reference_bytes": reference.size,
        "broadcast": reference.broadcast,
        "rows": rows,
        "matched": matched,
        "unmatched": rows - matched,
    }


def _stage(reason: str | None, stages: dict[str, int]) -> float:
    """The join a row stopped at: -1 for parse rejects, the join's index, infinity if accepted."""
    if reason is None:
        return math.inf
    kind, _, name = reason.partition(":")
    if kind in ("null_join_key", "unmatched"):
        return stages[name]
    return -1
