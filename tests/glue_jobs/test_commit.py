"""The commit: a failure or a kill at every step, and what catalog and path readers see after it.

Each test commits batch ``b`` once (rows 1, 2, 3), then reruns it with row 10 and a fault at one
step. A *kill* is a ``BaseException`` that no ``except Exception`` handler catches, so the job
gets no chance to tidy up, as when Glue stops the process. Readers:

- a catalog reader (Athena, Spark or Glue with the catalog) reads the partition's location;
- a path reader reads ``_reports/<dataset>/<batch_id>.json`` and the files it lists.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from pyspark.sql import SparkSession

from join_job import catalog, commit, datasets, job
from join_job.errors import CommitError, JobArgumentError
from join_job.filesystem import HadoopFileSystem
from tests.glue_jobs.conftest import CATALOG_DATABASE, FlightsLayout

OLD, NEW = {1, 2, 3}, {10}


class Killed(BaseException):
    """Stands for the process being killed at this point."""


def argv(flights: FlightsLayout, batch_id: str = "b") -> list[str]:
    return [*flights.argv(batch_id), "--catalog_database", CATALOG_DATABASE]


def catalog_reader(spark: SparkSession, glue: Any, batch_id: str = "b") -> set[int]:
    partition = glue.get_partition(
        DatabaseName=CATALOG_DATABASE, TableName="flights", PartitionValues=[batch_id]
    )["Partition"]
    location = partition["StorageDescriptor"]["Location"]
    return {row.flight_id for row in spark.read.parquet(location).collect()}


def path_reader(spark: SparkSession, flights: FlightsLayout, batch_id: str = "b") -> set[int]:
    """As the README tells path readers: the report names the current run's files."""
    report = json.loads((flights.output / "_reports" / "flights" / f"{batch_id}.json").read_text())
    files = [f"{report['output_path']}/{name}" for name in report["output_files"]]
    return {row.flight_id for row in spark.read.parquet(*files).collect()}


def run_folders(flights: FlightsLayout, batch_id: str = "b") -> list[str]:
    folder = flights.output / "flights" / f"batch_id={batch_id}"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def committed(spark: SparkSession, flights: FlightsLayout, glue_catalog: Any) -> FlightsLayout:
    """Batch ``b`` committed once with rows 1, 2, 3; its rerun input (row 10) in place."""
    flights.batch("b", ["1,AA,N1,JFK,1", "2,DL,N2,LAX,2", "3,AA,N1,JFK,3"])
    assert job.main(argv(flights)) == 0
    flights.batch("b", ["10,DL,N2,LAX,0.5"])
    return flights


def _fail_writing_report(original: Callable[..., None], fault: BaseException) -> Any:
    def write_text(self: HadoopFileSystem, uri: str, text: str) -> None:
        if "/_reports/" in uri:
            raise fault
        original(self, uri, text)

    return write_text


def inject(monkeypatch: pytest.MonkeyPatch, step: str, fault: BaseException) -> None:
    """Make ``step`` of the rerun raise ``fault``."""

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise fault

    if step == "data":
        monkeypatch.setattr(datasets, "write_parquet", boom)
    elif step == "table":
        monkeypatch.setattr(catalog, "prepare_table", boom)
    elif step == "report":
        original = HadoopFileSystem.write_text
        monkeypatch.setattr(HadoopFileSystem, "write_text", _fail_writing_report(original, fault))
    elif step == "switch":
        monkeypatch.setattr(catalog, "switch_partition", boom)
    elif step == "clean-up":
        monkeypatch.setattr(commit, "clean_up", boom)
    else:
        raise AssertionError(step)


# step, fault kind -> (catalog reader, path reader, how the run ends)
EXPECTED = {
    ("data", "error"): (OLD, OLD, "fails"),
    ("data", "kill"): (OLD, OLD, "killed"),
    ("table", "error"): (OLD, OLD, "fails"),
    ("table", "kill"): (OLD, OLD, "killed"),
    ("report", "error"): (OLD, OLD, "fails"),
    ("report", "kill"): (OLD, OLD, "killed"),
    ("switch", "error"): (OLD, OLD, "fails"),
    # The one window with two views: the report (path readers' switch) is written and the
    # catalog not yet. Each view is a whole batch; the run is failed; a rerun aligns them.
    ("switch", "kill"): (OLD, NEW, "killed"),
    ("clean-up", "error"): (NEW, NEW, "succeeds"),
    ("clean-up", "kill"): (NEW, NEW, "killed"),
}


@pytest.mark.parametrize(("step", "kind"), list(EXPECTED))
def test_a_fault_at_each_step_leaves_readers_a_whole_batch(
    spark: SparkSession,
    committed: FlightsLayout,
    glue_catalog: Any,
    monkeypatch: pytest.MonkeyPatch,
    step: str,
    kind: str,
) -> None:
    flights = committed
    report_before = (flights.output / "_reports" / "flights" / "b.json").read_text()
    catalog_view, path_view, outcome = EXPECTED[(step, kind)]
    fault = Killed() if kind == "kill" else RuntimeError(f"injected at {step}")
    inject(monkeypatch, step, fault)

    if outcome == "succeeds":
        assert job.main(argv(flights)) == 0
    else:
        with pytest.raises(Killed if kind == "kill" else Exception):
            job.main(argv(flights))

    assert catalog_reader(spark, glue_catalog) == catalog_view
    assert path_reader(spark, flights) == path_view
    report = (flights.output / "_reports" / "flights" / "b.json").read_text()
    assert json.loads(report)  # never empty, never half-written
    if path_view == OLD:
        assert report == report_before
    if outcome == "fails":
        # A clean failure leaves nothing behind: only the previous run's folder remains.
        assert run_folders(flights) == [f"run={json.loads(report_before)['run_id']}"]
        assert not list((flights.output / "_runs").glob("*.json"))

    # Whatever happened, the next run commits the batch and removes what this one left.
    monkeypatch.undo()
    monkeypatch.setattr(commit, "ABANDONED_AFTER_SECONDS", 0)  # as if a day had passed
    assert job.main(argv(flights)) == 0
    assert catalog_reader(spark, glue_catalog) == NEW
    assert path_reader(spark, flights) == NEW
    current = json.loads((flights.output / "_reports" / "flights" / "b.json").read_text())
    assert run_folders(flights) == [f"run={current['run_id']}"]
    assert not list((flights.output / "_runs").glob("*.json"))


def test_catalog_failure_after_the_data_fails_the_run_and_puts_the_report_back(
    spark: SparkSession,
    committed: FlightsLayout,
    glue_catalog: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flights = committed
    report_before = (flights.output / "_reports" / "flights" / "b.json").read_text()

    def refuse(**kwargs: Any) -> Any:
        raise glue_catalog.exceptions.AccessDeniedException(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}},
            "UpdatePartition",
        )

    monkeypatch.setattr(glue_catalog, "update_partition", refuse)
    monkeypatch.setattr(job, "_glue_client", lambda: glue_catalog)
    with pytest.raises(CommitError, match=r"batch b: the catalog partition could not be switched"):
        job.main(argv(flights))

    assert (flights.output / "_reports" / "flights" / "b.json").read_text() == report_before
    assert catalog_reader(spark, glue_catalog) == OLD
    assert path_reader(spark, flights) == OLD


@pytest.mark.parametrize("batch_id", ["2026-11-20T10:00:00", "a b", "_hidden", "a/b", "x" * 129])
def test_batch_id_that_cannot_be_a_partition_fails_before_anything_is_written(
    flights: FlightsLayout, batch_id: str
) -> None:
    flights.batch("b", ["1,AA,N1,JFK,1"])
    arguments = [*flights.argv("b"), "--batch_id", batch_id]

    with pytest.raises(
        JobArgumentError, match=f"--batch_id {re.escape(repr(batch_id))} cannot name a partition"
    ):
        job.main(arguments)
    assert not flights.output.exists()


def test_rerun_replaces_the_batch_for_both_readers_and_keeps_one_run(
    spark: SparkSession, committed: FlightsLayout, glue_catalog: Any
) -> None:
    flights = committed
    first = json.loads((flights.output / "_reports" / "flights" / "b.json").read_text())
    assert job.main(argv(flights)) == 0

    report = json.loads((flights.output / "_reports" / "flights" / "b.json").read_text())
    assert report["run_id"] != first["run_id"]
    assert report["output_path"].endswith(f"/flights/batch_id=b/run={report['run_id']}")
    assert report["quarantine_path"].endswith(
        f"/_quarantine/flights/batch_id=b/run={report['run_id']}"
    )
    assert catalog_reader(spark, glue_catalog) == path_reader(spark, flights) == NEW
    assert run_folders(flights) == [f"run={report['run_id']}"]
    assert not (flights.output / "_staging").exists()


def test_two_runs_of_one_batch_committing_together_agree_on_the_winner(
    spark: SparkSession,
    committed: FlightsLayout,
    glue_catalog: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Run A writes its report, then run B commits entirely, then A switches the catalog:
    B's report was written last, so B wins; A points the catalog back at B and fails."""
    flights = committed
    real_switch = catalog.switch_partition
    state = {"nested": False}

    def switch(target: Any, **kwargs: Any) -> None:
        if not state["nested"]:
            state["nested"] = True
            monkeypatch.setattr(catalog, "switch_partition", real_switch)
            flights.batch("b", ["20,AA,N1,JFK,1"])
            assert job.main(argv(flights)) == 0  # run B, start to end
        real_switch(target, **kwargs)

    monkeypatch.setattr(catalog, "switch_partition", switch)
    with pytest.raises(CommitError, match=r"committed the batch while this run"):
        job.main(argv(flights))

    assert catalog_reader(spark, glue_catalog) == path_reader(spark, flights) == {20}


def test_killed_run_of_another_batch_is_removed_a_day_later(
    spark: SparkSession,
    committed: FlightsLayout,
    glue_catalog: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flights = committed
    flights.batch("other", ["5,AA,N1,JFK,1"])
    monkeypatch.setattr(
        catalog, "switch_partition", lambda *a, **k: (_ for _ in ()).throw(Killed())
    )
    with pytest.raises(Killed):
        job.main(argv(flights, "other"))
    monkeypatch.undo()
    assert run_folders(flights, "other")  # left by the killed run, never visible
    # Its report was written (it died before the catalog switch): path readers see it whole,
    # catalog readers do not see the batch yet.
    leftovers = list((flights.output / "_runs" / "flights").glob("*.json"))
    assert len(leftovers) == 1

    # A day later, a run of batch b notices the marker and leaves batch "other" consistent.
    monkeypatch.setattr(commit, "ABANDONED_AFTER_SECONDS", 0)
    for marker in leftovers:
        os.utime(marker, (0, 0))
    assert job.main(argv(flights)) == 0
    assert not list((flights.output / "_runs").rglob("*.json"))
    other = json.loads((flights.output / "_reports" / "flights" / "other.json").read_text())
    assert run_folders(flights, "other") == [f"run={other['run_id']}"]
    assert path_reader(spark, flights, "other") == {5}
    # ... and the catalog switch it did not live to make is made for it.
    assert catalog_reader(spark, glue_catalog, "other") == {5}


def test_pre_run_layout_is_replaced_on_the_first_commit(
    spark: SparkSession, flights: FlightsLayout, glue_catalog: Any
) -> None:
    """Batches written by the old job (parts straight in ``batch_id=<id>/``) are superseded by
    the first run of the new one, which deletes the old parts after its switch."""
    legacy = flights.output / "flights" / "batch_id=b"
    spark.createDataFrame([(1,)], "flight_id bigint").write.parquet(str(legacy))
    flights.batch("b", ["10,DL,N2,LAX,0.5"])
    assert job.main(argv(flights)) == 0

    report = json.loads((flights.output / "_reports" / "flights" / "b.json").read_text())
    assert run_folders(flights) == [f"run={report['run_id']}"]
    assert catalog_reader(spark, glue_catalog) == NEW
    shutil.rmtree(flights.output)
