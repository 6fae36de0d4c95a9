"""The Data Catalog side of the commit, against moto's Glue (VersionId enforced, see conftest)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from join_job.catalog import CatalogTable, partition_location, prepare_table, switch_partition
from join_job.errors import SchemaDriftError
from tests.glue_jobs.conftest import CATALOG_DATABASE as DATABASE


def table(glue: Any) -> CatalogTable:
    return CatalogTable(glue, DATABASE, "flights", "s3://curated/flights", sleep=lambda _: None)


def commit(glue: Any, batch_id: str, run_id: str, columns: list[tuple[str, str]]) -> None:
    target = table(glue)
    merged = prepare_table(target, columns)
    location = f"s3://curated/flights/batch_id={batch_id}/run={run_id}"
    switch_partition(target, batch_id=batch_id, location=location, columns=merged, run_id=run_id)


def table_columns(glue: Any) -> dict[str, str]:
    found = glue.get_table(DatabaseName=DATABASE, Name="flights")["Table"]
    return {c["Name"]: c["Type"] for c in found["StorageDescriptor"]["Columns"]}


def test_first_batch_creates_a_partitioned_parquet_table(glue_catalog: Any) -> None:
    commit(glue_catalog, "2026-11-20", "r1", [("flight_id", "bigint"), ("name", "string")])

    found = glue_catalog.get_table(DatabaseName=DATABASE, Name="flights")["Table"]
    assert found["PartitionKeys"] == [{"Name": "batch_id", "Type": "string"}]
    assert found["StorageDescriptor"]["Location"] == "s3://curated/flights/"
    assert "Parquet" in found["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    partition = glue_catalog.get_partition(
        DatabaseName=DATABASE, TableName="flights", PartitionValues=["2026-11-20"]
    )["Partition"]
    location = "s3://curated/flights/batch_id=2026-11-20/run=r1/"
    assert partition["StorageDescriptor"]["Location"] == location
    assert partition["Parameters"] == {"run_id": "r1"}


def test_rerun_switches_the_partition_to_its_run_and_new_columns_are_appended(
    glue_catalog: Any,
) -> None:
    commit(glue_catalog, "b1", "r1", [("flight_id", "bigint")])
    commit(glue_catalog, "b1", "r2", [("flight_id", "bigint")])
    commit(glue_catalog, "b2", "r3", [("flight_id", "bigint"), ("planes_year", "int")])

    assert (
        partition_location(table(glue_catalog), "b1") == "s3://curated/flights/batch_id=b1/run=r2/"
    )
    assert list(table_columns(glue_catalog)) == ["flight_id", "planes_year"]
    # Partitions carry the table's columns, so Athena never sees a partition schema mismatch.
    partition = glue_catalog.get_partition(
        DatabaseName=DATABASE, TableName="flights", PartitionValues=["b2"]
    )["Partition"]
    assert [c["Name"] for c in partition["StorageDescriptor"]["Columns"]] == [
        "flight_id",
        "planes_year",
    ]


def test_changed_column_type_fails_naming_the_column_and_changes_nothing(
    glue_catalog: Any,
) -> None:
    commit(glue_catalog, "b1", "r1", [("flight_id", "bigint"), ("dep_delay", "double")])

    with pytest.raises(SchemaDriftError, match=r"column 'dep_delay' is decimal\(10,2\) in this"):
        prepare_table(
            table(glue_catalog), [("flight_id", "bigint"), ("dep_delay", "decimal(10,2)")]
        )

    assert table_columns(glue_catalog) == {"flight_id": "bigint", "dep_delay": "double"}


def test_two_batches_adding_columns_at_the_same_time_keep_both(glue_catalog: Any) -> None:
    commit(glue_catalog, "b0", "r0", [("flight_id", "bigint")])
    # Both committers read the table before either writes: the classic lost-update race.
    both_read = threading.Barrier(2, timeout=30)
    reads = threading.local()
    real_get_table = glue_catalog.get_table

    def get_table(**kwargs: Any) -> Any:
        answer = real_get_table(**kwargs)
        if not getattr(reads, "done", False):
            reads.done = True
            both_read.wait()
        return answer

    glue_catalog.get_table = get_table
    errors: list[BaseException] = []

    def run(batch_id: str, column: str) -> None:
        try:
            commit(
                glue_catalog,
                batch_id,
                f"run-{batch_id}",
                [("flight_id", "bigint"), (column, "string")],
            )
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [
        threading.Thread(target=run, args=("b1", "airlines_name")),
        threading.Thread(target=run, args=("b2", "airports_name")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    glue_catalog.get_table = real_get_table

    assert not errors
    assert set(table_columns(glue_catalog)) == {"flight_id", "airlines_name", "airports_name"}
    for batch_id in ("b1", "b2"):
        location = partition_location(table(glue_catalog), batch_id)
        assert location is not None
        assert location.endswith(f"/run=run-{batch_id}/")
