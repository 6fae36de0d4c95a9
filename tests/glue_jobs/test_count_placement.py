"""The independent count gives the same answer wherever it runs (driver, Python workers, Spark's
line reader), and a batch counted in the background (beside the reference checks and the input
pass) fails and cleans up as one counted up front does.

The size limits that pick the place are lowered here, so small files take every path.
"""

from __future__ import annotations

import bz2
import gzip
import json
import math
import threading
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from join_job import readers, record_count, references, run
from join_job.background import Background
from join_job.errors import InputCountMismatchError, JobInputError
from join_job.filesystem import DataFile
from join_job.pipeline_config import parse_pipeline_config
from join_job.run import MEGABYTE
from tests.glue_jobs import test_corpus
from tests.glue_jobs.test_corpus import CASES, ID_NAME, Case, rows, run_case, several, text

FILES: dict[str, bytes] = {
    "lf.csv": b"id,name\n1,a\n2,b\n",
    "crlf_blank_lines.csv": b"id,name\r\n1,a\r\n\r\n2,b\r\n\r\n",
    "no_final_break.csv": b"id,name\n1,a\n2,b",
    "quoted_line_break.csv": b'id,name\n1,"two\nlines"\n2,"say ""hi"""\n',
    "quote_in_unquoted_field.csv": b'id,name\n1,5" screen\n2,x\n',
    "header_only.csv": b"id,name\n",
    "empty.csv": b"",
    "zipped.csv.gz": gzip.compress(b'id,name\n1,"a\nb"\n2,c\n'),
    "zipped.csv.bz2": bz2.compress(b"id,name\n1,a\n"),
    "never_closed.csv": b'id,name\n1,"never closed\n2,b\n',
}
EXPECTED = {
    "lf.csv": 2,
    "crlf_blank_lines.csv": 2,
    "no_final_break.csv": 2,
    "quoted_line_break.csv": 2,
    "quote_in_unquoted_field.csv": 2,
    "header_only.csv": 0,
    "empty.csv": 0,
    "zipped.csv.gz": 2,
    "zipped.csv.bz2": 1,
    "never_closed.csv": -1,
}
PLACES = {
    "driver": {"DRIVER_BYTES": 1 << 30},
    "python_workers": {"DRIVER_BYTES": 0},
    "line_reader": {"DRIVER_BYTES": 0, "WHOLE_FILE_BYTES": 0, "WHOLE_COMPRESSED_BYTES": 0},
}


def place_count(monkeypatch: pytest.MonkeyPatch, place: str) -> None:
    for name, value in PLACES[place].items():
        monkeypatch.setattr(record_count, name, value)


def count_files(
    tmp_path: Path, spark: SparkSession, contents: dict[str, bytes], input_spec: dict[str, Any]
) -> dict[str, record_count.FileCount]:
    """``contents`` written as files and counted as a batch read with ``input_spec``; the counts
    by file name, in the order the count gives them."""
    files = []
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
        files.append(DataFile((tmp_path / name).as_uri(), len(data)))
    spec = parse_pipeline_config({"dataset": "d", "input": input_spec}).input
    counts = record_count.count_text_files(spark, files, spec)
    return {Path(item.uri.removeprefix("file:")).name: item for item in counts}


@pytest.mark.parametrize("place", PLACES)
def test_csv_counts_agree_wherever_they_run(
    place: str, tmp_path: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    place_count(monkeypatch, place)

    counts = count_files(tmp_path, spark, FILES, ID_NAME)

    assert {name: count.records for name, count in counts.items()} == EXPECTED
    uris = [count.uri for count in counts.values()]
    assert uris == sorted(uris)


ONE_LINE_OR_NOT = {
    # Every line with a quote is whole fields: each record on one line.
    "quoted_fields.csv": (b'id,name\n1,"a, b"\n2,"say ""hi"""\n3,""\n', False),
    "quoted_header_crlf.csv": (b'"id","name"\r\n1,"x"\r\n', False),
    # Excel's "CSV UTF-8": the line reader drops the byte order mark before the first line.
    "bom_quoted_header.csv": (b'\xef\xbb\xbf"id","name"\n1,"x, y"\n', False),
    "no_quote.csv": (b"id,name\n1,a\n", False),
    # Quotes inside unquoted fields, even per line: a quoted field might be left open.
    "literal_quotes.csv": (b'id,name\n1,5" and 6" screens\n', True),
    "space_before_quote.csv": (b'id,name\n1, "a"\n', True),
    "open_after_a_literal_quote.csv": (b'id,name\n1,5",x,"ab\ncd",6"\n', True),
    # An odd number of quotes on a line: counted exactly in a Python worker.
    "quoted_line_break.csv": (b'id,name\n1,"two\nlines"\n', True),
}


def test_the_line_reader_tells_files_whose_records_each_sit_on_one_line(
    tmp_path: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    place_count(monkeypatch, "line_reader")
    contents = {name: data for name, (data, _) in ONE_LINE_OR_NOT.items()}

    counts = count_files(tmp_path, spark, contents, ID_NAME)

    found = {name: count.spans_lines for name, count in counts.items()}
    assert found == {name: spans for name, (_, spans) in ONE_LINE_OR_NOT.items()}


def test_the_line_reader_splits_fields_at_the_configured_delimiter(
    tmp_path: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    place_count(monkeypatch, "line_reader")
    contents = {"pipes.csv": b'id|name\n1|"a|b"\n', "commas.csv": b'id|name\n1,"a"|b\n'}

    counts = count_files(tmp_path, spark, contents, {**ID_NAME, "delimiter": "|"})

    found = {name: count.spans_lines for name, count in counts.items()}
    assert found == {"pipes.csv": False, "commas.csv": True}


@pytest.mark.parametrize("place", ["driver", "python_workers"])
def test_json_counts_and_field_names_agree_wherever_they_run(
    place: str, tmp_path: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    place_count(monkeypatch, place)
    data = b'{"id": 1}{"ID": 2, "name": "b"}\n[{"id": 3}]'
    (tmp_path / "f.json").write_bytes(data)
    spec = parse_pipeline_config({"dataset": "d", "input": {"format": "json"}}).input

    [count] = record_count.count_text_files(
        spark, [DataFile((tmp_path / "f.json").as_uri(), len(data))], spec
    )

    assert (count.records, count.fields) == (3, ("id", "name"))


@pytest.fixture
def counted_in_background(monkeypatch: pytest.MonkeyPatch) -> list[Background[Any]]:
    """The batch counted by Spark's Python workers; the background work started, to inspect."""
    place_count(monkeypatch, "python_workers")
    started: list[Background[Any]] = []
    original = Background.start.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Background[Any]], spark: SparkSession, name: str, work: Any) -> Any:
        running = original(cls, spark, name, work)
        if name == readers.COUNT_POOL:
            started.append(running)
        return running

    monkeypatch.setattr(Background, "start", classmethod(spy))
    return started


QUOTED_AND_PLAIN = Case(
    "files_with_and_without_quoted_line_breaks",
    several(
        text("a.csv", 'id,name\n1,"two\nlines"\n3,c\n'),
        text("b.csv", 'id,name\n2,"b, quoted"\n4\n'),
    ),
    ID_NAME,
)


def test_a_batch_counted_in_the_background_gives_the_same_outcome(
    tmp_path: Path, spark: SparkSession, counted_in_background: list[Background[Any]]
) -> None:
    run_case(QUOTED_AND_PLAIN, tmp_path, spark)

    assert len(counted_in_background) == 1
    assert counted_in_background[0].finished
    curated = tmp_path / "curated" / "corpus"
    [run] = (curated / "batch_id=b").iterdir()
    assert sorted(row["id"] for row in rows(spark, run)) == [1, 2, 3]
    report = json.loads((curated.parent / "_reports" / "corpus" / "b.json").read_text())
    assert report["input_count"]["records"] == 4
    assert report["input_count"]["checked_against_parse"] is True


def test_a_quote_never_closed_still_fails_the_batch_when_counted_in_the_background(
    tmp_path: Path, spark: SparkSession, counted_in_background: list[Background[Any]]
) -> None:
    case = Case("open", text("p.csv", 'id,name\n1,"never closed\n2,b\n'), ID_NAME)

    with pytest.raises(JobInputError, match=r"file .*p\.csv has a quote that is never closed"):
        run_case(case, tmp_path, spark)
    assert len(counted_in_background) == 1
    assert not (tmp_path / "curated" / "corpus").exists()


def test_a_parse_that_splits_records_fails_when_counted_in_the_background(
    tmp_path: Path,
    spark: SparkSession,
    counted_in_background: list[Background[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read the CSV line by line (no multiLine): the quoted line break splits a record in two,
    and the count, still running beside the pass, catches it."""

    def line_by_line(spark: SparkSession, uris: list[str], spec: Any, what: str) -> Any:
        return spark.read.option("header", True).csv(list(uris))

    monkeypatch.setattr(readers, "_read_csv", line_by_line)

    with pytest.raises(
        InputCountMismatchError, match=r"file .*a\.csv holds 2 records .* produced 3 rows"
    ):
        run_case(QUOTED_AND_PLAIN, tmp_path, spark)
    assert not (tmp_path / "curated" / "corpus").exists()


def test_a_failed_run_stops_the_count_still_running(
    tmp_path: Path,
    spark: SparkSession,
    counted_in_background: list[Background[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A reference error ends the run while the batch is being counted: the count's job is
    cancelled and its thread gone before the error reaches the caller."""
    release = record_count.count_text_files

    def slow_count(*args: Any) -> Any:
        spark.sparkContext.parallelize(range(2), 2).map(_sleep).collect()  # cancelled here
        return release(*args)

    monkeypatch.setattr(record_count, "count_text_files", slow_count)
    case = Case(
        "missing_reference",
        text("a.csv", "id,name\n1,a\n"),
        ID_NAME,
        joins=[{"name": "names", "format": "csv", "on": {"id": "id"}, "how": "left"}],
    )

    with pytest.raises(JobInputError, match=r"reference folder .* does not exist"):
        run_case(case, tmp_path, spark)

    [counting] = counted_in_background
    assert counting.finished
    assert spark.sparkContext.statusTracker().getActiveJobsIds() == []


def _sleep(value: int) -> int:
    import time

    time.sleep(60)
    return value


@pytest.fixture
def split_reads(monkeypatch: pytest.MonkeyPatch, spark: SparkSession) -> list[Any]:
    """Every batch of few files has its plain files split for the pass; the frames, to inspect."""
    monkeypatch.setattr(readers, "_SPLIT_FROM_BYTES", 0)
    monkeypatch.setattr(record_count, "DRIVER_BYTES", 0)
    read: list[Any] = []
    original = readers._read_csv_split

    def spy(*args: Any) -> Any:
        frame = original(*args)
        read.append(frame)
        return frame

    monkeypatch.setattr(readers, "_read_csv_split", spy)
    return read


def test_a_large_plain_file_is_split_between_tasks_with_the_same_rows(
    tmp_path: Path, spark: SparkSession, split_reads: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = "".join(f"{i},name {i}\n" for i in range(20_000))
    case = Case("one_export", text("export.csv", "id,name\n" + lines), ID_NAME)
    # As _tune sizes splits for a batch; small here so that this file makes several.
    monkeypatch.setattr(
        "join_job.run._tune",
        lambda spark, config, files: spark.conf.set(
            "spark.sql.files.maxPartitionBytes", str(64 * 1024)
        ),
    )

    run_case(case, tmp_path, spark)

    [frame] = split_reads
    assert frame.rdd.getNumPartitions() > 1
    [run] = (tmp_path / "curated" / "corpus" / "batch_id=b").iterdir()
    assert sorted(row["id"] for row in rows(spark, run)) == list(range(20_000))


def test_the_references_are_read_while_a_batch_to_split_is_counted(
    tmp_path: Path, spark: SparkSession, split_reads: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which files can be split is known once the batch is counted; the job reads and checks
    the references meanwhile and waits for the count only when it plans the pass."""
    gate = threading.Event()
    released: list[bool] = []
    count = record_count.count_text_files

    def count_after_references(spark: SparkSession, files: list[DataFile], spec: Any) -> Any:
        if "/incoming/" in files[0].uri:  # the batch's count, not a reference's
            released.append(gate.wait(timeout=60))  # False: the job waited for it first
        return count(spark, files, spec)

    read = references.read_references

    def read_then_release(*args: Any) -> Any:
        found = read(*args)
        gate.set()
        return found

    monkeypatch.setattr(record_count, "count_text_files", count_after_references)
    monkeypatch.setattr(references, "read_references", read_then_release)
    case = Case(
        "split_with_a_reference",
        text("export.csv", "id,name\n1,a\n2,b\n"),
        ID_NAME,
        joins=[{"name": "codes", "format": "csv", "on": {"id": "code"}, "how": "left"}],
        references=text("codes/c.csv", "code,label\n1,one\n"),
    )

    run_case(case, tmp_path, spark)

    assert released == [True]
    assert len(split_reads) == 1
    [run] = (tmp_path / "curated" / "corpus" / "batch_id=b").iterdir()
    assert [(row["id"], row["codes_label"]) for row in rows(spark, run)] == [(1, "one"), (2, None)]


def test_a_large_file_to_split_makes_one_wave_of_splits_over_the_cores(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each task has its own start and writer: a 53 MB file on 2 cores took 5.1-5.4 s in 8
    splits, 3.9-4.3 s in 2 (bench/RESULTS.md round 6)."""
    monkeypatch.setattr(readers, "_SPLIT_FROM_BYTES", 32 * MEGABYTE)
    cores = spark.sparkContext.defaultParallelism
    config = parse_pipeline_config({"dataset": "d", "input": ID_NAME})
    size = 53 * MEGABYTE

    run._tune(spark, config, [DataFile("file:/batch/export.csv", size)])

    split = int(spark.conf.get("spark.sql.files.maxPartitionBytes"))
    assert math.ceil(size / split) == cores


@pytest.mark.parametrize("place", ["python_workers", "line_reader"])
@pytest.mark.parametrize(
    "name",
    [
        "csv_module_rfc4180_quotes",
        "excel_cp1252_crlf",
        "excel_utf8_with_bom_crlf",
        "quote_inside_an_unquoted_field_is_literal",
        "files_with_and_without_quoted_line_breaks",
    ],
)
def test_exports_with_quoted_fields_on_one_line_are_split_with_the_same_outcome(
    name: str,
    place: str,
    tmp_path: Path,
    spark: SparkSession,
    split_reads: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Excel and pandas quote fields that hold a delimiter far more often than fields that hold
    a line break: such files are split too, in pieces of a few bytes here, and give every row,
    quarantine reason and raw record the corpus expects of a whole-file read. Counted whole in
    Python workers, or by Spark's line reader (files over 128 MB)."""
    place_count(monkeypatch, place)
    monkeypatch.setattr(
        "join_job.run._tune",
        lambda spark, config, files: spark.conf.set("spark.sql.files.maxPartitionBytes", "16"),
    )
    [case] = [case for case in CASES if case.name == name]

    test_corpus.test_corpus_case_has_its_expected_outcome(case, tmp_path, spark)

    [frame] = split_reads
    assert frame is not None  # at least one file of the case was read split

    [split] = split_reads
    assert split is not None  # read split, not whole


def test_quoted_files_are_read_whole_beside_split_plain_ones(
    tmp_path: Path, spark: SparkSession, split_reads: list[Any]
) -> None:
    case = Case(
        "mixed",
        several(
            text("a.csv", 'id,name\n1,"two\nlines"\n3,c\n'),
            text("c.csv", "id,name\n5,e\n6\n"),
            text("bom.csv", "\ufeffid,name\n7,g\n"),
        ),
        ID_NAME,
    )

    run_case(case, tmp_path, spark)

    assert len(split_reads) == 1
    [run] = (tmp_path / "curated" / "corpus" / "batch_id=b").iterdir()
    assert sorted((row["id"], row["name"]) for row in rows(spark, run)) == [
        (1, "two\nlines"),
        (3, "c"),
        (5, "e"),
        (7, "g"),
    ]
    [quarantine] = (tmp_path / "curated" / "_quarantine" / "corpus" / "batch_id=b").iterdir()
    assert [row["raw_record"] for row in rows(spark, quarantine)] == ["6"]


def test_many_small_files_share_tasks_and_output_files(tmp_path: Path, spark: SparkSession) -> None:
    """A batch as Kinesis Data Firehose leaves it, many small files, is read in a few tasks (one
    output file each), not in one task and one output file per input file."""
    files = [text(f"part-{index:03d}.csv", f"id,name\n{index},n{index}\n") for index in range(40)]

    run_case(Case("many_small_files", several(*files), ID_NAME), tmp_path, spark)

    [run] = (tmp_path / "curated" / "corpus" / "batch_id=b").iterdir()
    assert sorted(row["id"] for row in rows(spark, run)) == list(range(40))
    assert len(list(run.glob("part-*.parquet"))) <= 4 * spark.sparkContext.defaultParallelism
