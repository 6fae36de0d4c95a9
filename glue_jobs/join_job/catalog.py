"""The Glue Data Catalog side of the commit: one table per dataset, one partition per batch.

The table ``<dataset>`` (Parquet, partitioned by ``batch_id``) lives in the stage's database.
:func:`prepare_table` creates or extends it before anything becomes visible, refusing a batch
whose column types differ from the table's; :func:`switch_partition` points the batch's
partition at the run's folder, the atomic step that makes the batch visible to Athena, Spark and
Glue readers. Table updates carry the table's ``VersionId`` and are retried on conflict, so two
batches committed at the same time never lose each other's new columns.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from join_job.errors import CatalogConflictError, SchemaDriftError

PARTITION_KEY = "batch_id"
RUN_ID_PARAMETER = "run_id"
_PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    },
}
# The fields of GetTable's answer that UpdateTable accepts back (the rest are read-only).
_TABLE_INPUT_FIELDS = (
    "Name",
    "Description",
    "Owner",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "TableType",
    "Parameters",
)
# Another writer changed the table between our read and our write: read again and retry.
_CONFLICTS = {"ConcurrentModificationException", "VersionMismatchException"}
MAX_ATTEMPTS = 8
Column = dict[str, str]


@dataclass(frozen=True)
class CatalogTable:
    """Where a dataset is registered: a boto3 Glue client, database, table, table location."""

    glue: Any
    database: str
    table: str
    location: str
    sleep: Callable[[float], None] = time.sleep


def prepare_table(target: CatalogTable, columns: Sequence[tuple[str, str]]) -> list[Column]:
    """Create the table or add the batch's new columns; the table's columns afterwards.

    Raises :class:`SchemaDriftError` naming the column when a column the table has comes with
    another type: a partition of that type would fail Athena (HIVE_PARTITION_SCHEMA_MISMATCH).
    The update carries the ``VersionId`` read with the table; a concurrent change makes Glue
    refuse it, and the table is read again (new columns of the other writer kept).
    """
    wanted = [{"Name": name, "Type": type_name} for name, type_name in columns]
    for attempt in range(MAX_ATTEMPTS):
        try:
            existing = target.glue.get_table(DatabaseName=target.database, Name=target.table)
        except target.glue.exceptions.EntityNotFoundException:
            try:
                target.glue.create_table(
                    DatabaseName=target.database, TableInput=_new_table(target, wanted)
                )
                return wanted
            except target.glue.exceptions.AlreadyExistsException:
                _back_off(target, attempt)  # created by a concurrent first batch
                continue
        table = existing["Table"]
        known: list[Column] = table.get("StorageDescriptor", {}).get("Columns", [])
        check_types(target, known, wanted)
        merged = _merge_columns(known, wanted)
        if merged == known:
            return known
        table_input = {key: table[key] for key in _TABLE_INPUT_FIELDS if key in table}
        table_input["StorageDescriptor"] = {**table["StorageDescriptor"], "Columns": merged}
        try:
            target.glue.update_table(
                DatabaseName=target.database,
                TableInput=table_input,
                VersionId=str(table["VersionId"]),
            )
            return merged
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in _CONFLICTS:
                raise
            _back_off(target, attempt)
    raise CatalogConflictError(
        f"table {target.database}.{target.table} kept changing under this run "
        f"({MAX_ATTEMPTS} attempts to add its columns); nothing was committed"
    )


def table_columns(target: CatalogTable) -> list[Column]:
    """The table's columns as the catalog has them now."""
    table = target.glue.get_table(DatabaseName=target.database, Name=target.table)["Table"]
    columns: list[Column] = table.get("StorageDescriptor", {}).get("Columns", [])
    return columns


def partition_location(target: CatalogTable, batch_id: str) -> str | None:
    """Where the catalog's partition ``batch_id`` points now (None: not registered)."""
    try:
        partition = target.glue.get_partition(
            DatabaseName=target.database, TableName=target.table, PartitionValues=[batch_id]
        )["Partition"]
    except target.glue.exceptions.EntityNotFoundException:
        return None
    location: str = partition.get("StorageDescriptor", {}).get("Location", "")
    return location or None


def switch_partition(
    target: CatalogTable,
    *,
    batch_id: str,
    location: str,
    columns: Sequence[Column],
    run_id: str,
) -> None:
    """Point partition ``batch_id`` at ``location`` (created if new): one catalog write.

    The partition's columns are the table's, so Athena never sees a partition schema that
    differs from its table's (columns a batch lacks read as null: Parquet maps by name).
    """
    partition_input = {
        "Values": [batch_id],
        "StorageDescriptor": {
            **_PARQUET,
            "Columns": list(columns),
            "Location": location.rstrip("/") + "/",
        },
        "Parameters": {RUN_ID_PARAMETER: run_id},
    }
    try:
        target.glue.create_partition(
            DatabaseName=target.database, TableName=target.table, PartitionInput=partition_input
        )
    except target.glue.exceptions.AlreadyExistsException:
        target.glue.update_partition(
            DatabaseName=target.database,
            TableName=target.table,
            PartitionValueList=[batch_id],
            PartitionInput=partition_input,
        )


def check_types(target: CatalogTable, known: Sequence[Column], wanted: Sequence[Column]) -> None:
    """Fail naming the first column whose type differs from the table's."""
    table_types = {column["Name"].lower(): column["Type"] for column in known}
    for column in wanted:
        before = table_types.get(column["Name"].lower())
        if before is not None and _normal(before) != _normal(column["Type"]):
            raise SchemaDriftError(
                f"column {column['Name']!r} is {column['Type']} in this batch but {before} in "
                f"table {target.database}.{target.table}: Athena cannot read partitions of both "
                f"types (HIVE_PARTITION_SCHEMA_MISMATCH). Keep the column {before} in the "
                "pipeline config, or give the new type a new column name; nothing was committed"
            )


def _new_table(target: CatalogTable, columns: list[Column]) -> dict[str, Any]:
    return {
        "Name": target.table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": {
            **_PARQUET,
            "Columns": columns,
            "Location": target.location.rstrip("/") + "/",
        },
    }


def _merge_columns(known: list[Column], current: list[Column]) -> list[Column]:
    # Columns of earlier batches stay (their partitions still hold them); new ones are appended.
    names = {column["Name"].lower() for column in known}
    return [*known, *[column for column in current if column["Name"].lower() not in names]]


def _normal(type_name: str) -> str:
    return "".join(type_name.lower().split())


def _back_off(target: CatalogTable, attempt: int) -> None:
    # Full jitter: two committers that collided do not collide again in lock step.
    target.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))  # noqa: S311 (jitter, not crypto)
