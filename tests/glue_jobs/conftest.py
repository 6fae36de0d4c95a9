"""One local SparkSession for every Glue job test, and helpers to lay out batches and references."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from pyspark.sql import SparkSession

FLIGHTS_CONFIG: dict[str, Any] = {
    "dataset": "flights",
    "input": {
        "format": "csv",
        "schema": {
            "flight_id": "bigint",
            "carrier": "string",
            "tailnum": "string",
            "dest": "string",
            "dep_delay": "double",
        },
    },
    "joins": [
        {"name": "airlines", "format": "csv", "on": {"carrier": "carrier"}, "how": "left"},
        {"name": "planes", "format": "parquet", "on": {"tailnum": "tailnum"}, "how": "left"},
        {"name": "airports", "format": "csv", "on": {"dest": "faa"}, "how": "inner"},
    ],
    "output": {"format": "parquet"},
}

FLIGHTS_HEADER = "flight_id,carrier,tailnum,dest,dep_delay"


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """``local[2]``, few shuffle partitions, no UI: shared by the whole run to keep it fast."""
    session = (
        SparkSession.builder.master("local[2]")
        .appName("join-job-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def write_lines(path: Path, lines: Sequence[str]) -> Path:
    """A text file with ``lines``, its folders created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


class FlightsLayout:
    """A reference root with airlines (csv), planes (parquet), airports (csv), and batches."""

    def __init__(self, root: Path, spark: SparkSession) -> None:
        self.root = root
        self.reference = root / "reference"
        self.incoming = root / "incoming"
        self.output = root / "curated"
        write_lines(
            self.reference / "airlines" / "airlines.csv",
            ["carrier,name", "AA,American Airlines", "DL,Delta Air Lines"],
        )
        planes = spark.createDataFrame(
            [("N1", 1999, "BOEING"), ("N2", 2012, "AIRBUS")],
            "tailnum string, year int, manufacturer string",
        )
        planes.coalesce(1).write.parquet(str(self.reference / "planes"))
        write_lines(
            self.reference / "airports" / "airports.csv",
            ["faa,name,tz", "JFK,John F Kennedy Intl,-5", "LAX,Los Angeles Intl,-8"],
        )

    def batch(self, batch_id: str, rows: Sequence[str], *, header: str = FLIGHTS_HEADER) -> Path:
        """``incoming/<batch_id>/part-1.csv`` with ``header`` and ``rows``."""
        folder = self.incoming / batch_id
        write_lines(folder / "part-1.csv", [header, *rows])
        return folder

    def argv(
        self,
        batch_id: str,
        *,
        config: Mapping[str, Any] = FLIGHTS_CONFIG,
        input_path: Path | str | None = None,
    ) -> list[str]:
        """Job arguments as the stack and the workflow pass them, with local paths."""
        return [
            "--pipeline_config",
            json.dumps(config),
            "--input_path",
            str(input_path) if input_path is not None else f"{self.incoming / batch_id}/",
            "--batch_id",
            batch_id,
            "--reference_path",
            str(self.reference),
            "--output_path",
            str(self.output),
        ]

    def report(self, batch_id: str, dataset: str = "flights") -> dict[str, Any]:
        """The run report of ``batch_id``."""
        path = self.output / "_reports" / dataset / f"{batch_id}.json"
        report: dict[str, Any] = json.loads(path.read_text())
        return report

    def output_partition(self, batch_id: str, dataset: str = "flights") -> Path:
        """The batch's current results, found as a path reader does: through its report
        (the batch's folder when it has no report yet)."""
        return self._current(batch_id, dataset, "output_path", self.output / dataset)

    def quarantine_partition(self, batch_id: str, dataset: str = "flights") -> Path:
        """The batch's current rejected rows, through its report."""
        folder = self.output / "_quarantine" / dataset
        return self._current(batch_id, dataset, "quarantine_path", folder)

    def _current(self, batch_id: str, dataset: str, key: str, parent: Path) -> Path:
        path = self.output / "_reports" / dataset / f"{batch_id}.json"
        if not path.is_file():
            return parent / f"batch_id={batch_id}"
        return Path(json.loads(path.read_text())[key])


@pytest.fixture
def flights(tmp_path: Path, spark: SparkSession) -> FlightsLayout:
    """The flights reference data in ``tmp_path``, ready for batches."""
    return FlightsLayout(tmp_path, spark)


@pytest.fixture
def glue_catalog() -> Iterator[Any]:
    """moto's Glue with database ``flights_dev``, and UpdateTable's ``VersionId`` enforced.

    moto accepts any ``VersionId``; Glue refuses a stale one with
    ConcurrentModificationException. The shim restores that check, which the commit relies on.
    """
    from moto import mock_aws
    from moto.core.exceptions import JsonRESTError
    from moto.glue.responses import GlueResponse

    real_update_table = GlueResponse.update_table

    def update_table(self: GlueResponse) -> Any:
        version = self.parameters.get("VersionId")
        if version is not None:
            table_input: Any = self.parameters.get("TableInput")
            table = self.glue_backend.get_table(
                str(self.parameters.get("DatabaseName")), str(table_input.get("Name"))
            )
            current = table.as_dict()["VersionId"]
            if str(version) != str(current):
                raise JsonRESTError(
                    "ConcurrentModificationException",
                    f"VersionId {version} is not the table's latest version {current}",
                )
        return real_update_table(self)

    with mock_aws(), mock.patch.object(GlueResponse, "update_table", update_table):
        import boto3

        client = boto3.client("glue", region_name="us-east-1")
        client.create_database(DatabaseInput={"Name": CATALOG_DATABASE})
        yield client


CATALOG_DATABASE = "flights_dev"
