"""Registers each batch's output in the Glue Data Catalog, so Athena sees it without a crawler.

One table per dataset (``<dataset>``) in the stage's database, Parquet, partitioned by
``batch_id``; each run upserts the table (new columns from a changed schema are added) and the
run's partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PARTITION_KEY = "batch_id"
_PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    },
}


def register_batch(
    glue: Any,
    *,
    database: str,
    table: str,
    table_location: str,
    batch_id: str,
    columns: Sequence[tuple[str, str]],
) -> None:
    """Create or update ``database.table`` and its partition ``batch_id=<batch_id>``.

    ``glue`` is a boto3 Glue client. ``table_location`` is the dataset's output folder (the
    parent of the ``batch_id=`` partitions).
    """
    location = table_location.rstrip("/") + "/"
    column_list = [{"Name": name, "Type": type_name} for name, type_name in columns]
    descriptor: dict[str, Any] = {**_PARQUET, "Columns": column_list, "Location": location}
    table_input: dict[str, Any] = {
        "Name": table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": descriptor,
    }
    try:
        existing = glue.get_table(DatabaseName=database, Name=table)["Table"]
    except glue.exceptions.EntityNotFoundException:
        glue.create_table(DatabaseName=database, TableInput=table_input)
    else:
        known = existing.get("StorageDescriptor", {}).get("Columns", [])
        merged = _merge_columns(known, column_list)
        if merged != known:
            table_input["StorageDescriptor"] = {**descriptor, "Columns": merged}
            glue.update_table(DatabaseName=database, TableInput=table_input)

    partition_input = {
        "Values": [batch_id],
        "StorageDescriptor": {**descriptor, "Location": f"{location}{PARTITION_KEY}={batch_id}/"},
    }
    try:
        glue.create_partition(
            DatabaseName=database, TableName=table, PartitionInput=partition_input
        )
    except glue.exceptions.AlreadyExistsException:
        glue.update_partition(
            DatabaseName=database,
            TableName=table,
            PartitionValueList=[batch_id],
            PartitionInput=partition_input,
        )


def _merge_columns(
    known: list[dict[str, str]], current: list[dict[str, str]]
) -> list[dict[str, str]]:
    # Columns of earlier batches stay (their partitions still hold them); new ones are appended.
    names = {column["Name"] for column in known}
    return [*known, *[column for column in current if column["Name"] not in names]]
