"""The Data Catalog registration, against moto's Glue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from join_job.catalog import register_batch

DATABASE = "flights_dev"


@pytest.fixture
def glue() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("glue", region_name="us-east-1")
        client.create_database(DatabaseInput={"Name": DATABASE})
        yield client


def register(glue: Any, batch_id: str, columns: list[tuple[str, str]]) -> None:
    register_batch(
        glue,
        database=DATABASE,
        table="flights",
        table_location="s3://curated/flights",
        batch_id=batch_id,
        columns=columns,
    )


def test_first_batch_creates_a_partitioned_parquet_table(glue: Any) -> None:
    register(glue, "2026-11-20", [("flight_id", "bigint"), ("airlines_name", "string")])

    table = glue.get_table(DatabaseName=DATABASE, Name="flights")["Table"]
    assert table["PartitionKeys"] == [{"Name": "batch_id", "Type": "string"}]
    assert table["StorageDescriptor"]["Location"] == "s3://curated/flights/"
    assert table["StorageDescriptor"]["Columns"][0] == {"Name": "flight_id", "Type": "bigint"}
    assert "Parquet" in table["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    partition = glue.get_partition(
        DatabaseName=DATABASE, TableName="flights", PartitionValues=["2026-11-20"]
    )["Partition"]
    assert partition["StorageDescriptor"]["Location"] == "s3://curated/flights/batch_id=2026-11-20/"


def test_rerun_updates_its_partition_and_new_columns_are_added(glue: Any) -> None:
    register(glue, "b1", [("flight_id", "bigint")])
    register(glue, "b1", [("flight_id", "bigint")])
    register(glue, "b2", [("flight_id", "bigint"), ("planes_year", "int")])

    partitions = glue.get_partitions(DatabaseName=DATABASE, TableName="flights")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == ["b1", "b2"]
    columns = glue.get_table(DatabaseName=DATABASE, Name="flights")["Table"]["StorageDescriptor"][
        "Columns"
    ]
    assert [column["Name"] for column in columns] == ["flight_id", "planes_year"]


def test_job_registers_the_batch_it_wrote(glue: Any, flights: Any) -> None:
    from join_job import job

    flights.batch("2026-11-20", ["1,AA,N1,JFK,5.0"])
    argv = [*flights.argv("2026-11-20"), "--catalog_database", DATABASE]
    assert job.main(argv) == 0

    table = glue.get_table(DatabaseName=DATABASE, Name="flights")["Table"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert columns["flight_id"] == "bigint"
    assert columns["planes_year"] == "int"
    partition = glue.get_partition(
        DatabaseName=DATABASE, TableName="flights", PartitionValues=["2026-11-20"]
    )["Partition"]
    assert partition["StorageDescriptor"]["Location"].endswith("/flights/batch_id=2026-11-20/")
