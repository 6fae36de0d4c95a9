"""File names as people and tools give them: commas, spaces, brackets, braces, ``*`` and ``?``.

Spark's file readers expand Hadoop glob patterns in every path, and ``SparkContext.binaryFiles``
takes one comma-separated string of paths; a batch must be read and counted all the same,
wherever the count runs, and no pattern may match a neighbour (``x{1}.csv`` would match
``x1.csv``, ``z*.csv`` would match ``zz.csv``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from join_job.filesystem import literal_paths
from tests.glue_jobs.test_corpus import ID_NAME, JSON_ID, Case, rows, run_case, several, text
from tests.glue_jobs.test_count_placement import PLACES, place_count

# Names Hadoop's path list would split or group (commas, braces): read with the binaryFile
# source; the others with binaryFiles, escaped. Each batch also holds the neighbours an
# unescaped pattern would match.
NAMES = {
    "commas_and_braces": ["sales, march.csv", "x{1}.csv", "x1.csv", "report (1).csv"],
    "patterns": ["y[1].csv", "y1.csv", "z*.csv", "zz.csv", "q?.csv", "qq.csv", "a b.csv"],
}


def _batch(names: list[str], suffix: str = ".csv") -> tuple[Any, list[int]]:
    files = []
    for number, name in enumerate(names, start=1):
        name = name.removesuffix(".csv") + suffix
        if suffix == ".csv":
            files.append(text(name, f"id,name\n{number},{name.replace(',', ' ')}\n"))
        else:
            files.append(text(name, json.dumps({"id": number, "name": name}) + "\n"))
    return several(*files), list(range(1, len(names) + 1))


def _output_ids(spark: SparkSession, root: Path) -> list[int]:
    [run] = (root / "curated" / "corpus" / "batch_id=b").iterdir()
    return sorted(row["id"] for row in rows(spark, run))


def _report(root: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(
        (root / "curated" / "_reports" / "corpus" / "b.json").read_text()
    )
    return report


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("names", NAMES)
def test_csv_files_with_any_name_are_read_and_counted_once(
    names: str, place: str, tmp_path: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    place_count(monkeypatch, place)
    files, ids = _batch(NAMES[names])

    run_case(Case(names, files, ID_NAME), tmp_path, spark)

    assert _output_ids(spark, tmp_path) == ids
    assert _report(tmp_path)["input_count"]["records"] == len(ids)


@pytest.mark.parametrize("names", NAMES)
def test_json_files_with_any_name_are_read_and_counted_once(
    names: str, tmp_path: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    place_count(monkeypatch, "python_workers")
    files, ids = _batch(NAMES[names], ".json")

    run_case(Case(names, files, JSON_ID), tmp_path, spark)

    assert _output_ids(spark, tmp_path) == ids
    assert _report(tmp_path)["input_count"]["records"] == len(ids)


def test_a_parquet_reference_with_a_pattern_in_its_name_is_joined(
    tmp_path: Path, spark: SparkSession
) -> None:
    def reference(folder: Path, spark: SparkSession) -> None:
        (folder / "names").mkdir(parents=True)
        for name, key, label in [("part[1].parquet", 1, "one"), ("part1.parquet", 2, "two")]:
            table = pa.table({"id": pa.array([key], pa.int32()), "label": [label]})
            pq.write_table(table, folder / "names" / name)

    case = Case(
        "reference",
        text("a.csv", "id,name\n1,a\n2,b\n"),
        ID_NAME,
        joins=[{"name": "names", "format": "parquet", "on": {"id": "id"}, "how": "inner"}],
        references=reference,
    )

    run_case(case, tmp_path, spark)

    [run] = (tmp_path / "curated" / "corpus" / "batch_id=b").iterdir()
    assert sorted((row["id"], row["names_label"]) for row in rows(spark, run)) == [
        (1, "one"),
        (2, "two"),
    ]


@pytest.mark.parametrize(
    ("names", "uses_binary_files"), [("patterns", True), ("commas_and_braces", False)]
)
def test_the_count_hands_files_to_python_with_binary_files_unless_a_name_forbids(
    names: str,
    uses_binary_files: bool,
    tmp_path: Path,
    spark: SparkSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """binaryFiles is the fast way (no pickled rows); the binaryFile source is the fallback."""
    place_count(monkeypatch, "python_workers")
    called: list[str] = []
    original = spark.sparkContext.binaryFiles

    def spy(path: str, minPartitions: int | None = None) -> Any:  # noqa: N803 (Spark's name)
        called.append(path)
        return original(path, minPartitions)

    monkeypatch.setattr(spark.sparkContext, "binaryFiles", spy)
    files, ids = _batch(NAMES[names])

    run_case(Case(names, files, ID_NAME), tmp_path, spark)

    assert bool(called) is uses_binary_files
    assert _output_ids(spark, tmp_path) == ids


def test_literal_paths_escape_every_glob_character() -> None:
    assert literal_paths(["s3://b/in/x{1}[2]*?\\.csv", "file:/a b, (1).csv"]) == [
        "s3://b/in/x\\{1\\}\\[2\\]\\*\\?\\\\.csv",
        "file:/a b, (1).csv",
    ]
