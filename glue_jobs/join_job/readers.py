"""Reading batch and reference files as they arrived, with the checks both get alike.

One function per format turns a list of files into a DataFrame; :func:`read_source` adds the
checks on column names and the independent record count (:mod:`join_job.record_count`) that
:func:`check_parse_count` later compares with what the parse produced.

- CSV: RFC 4180 (a doubled quote inside a quoted field is one quote, as Excel, pandas and
  Python's csv module write it), any one-character delimiter, a UTF-8 BOM skipped, CRLF or LF,
  quoted fields may hold line breaks. Every column is read as text; a row with the wrong number
  of fields keeps its raw text in the corrupt-record column. Files are read whole by one task
  each (``multiLine``), which is what lets a record span lines; in a batch of fewer files than
  twice the cores, the large files whose records the count finds each on one line (no quoted
  field holds a line break) are read split between tasks instead (:meth:`Source.split_frame`),
  so one large export does not keep a single core busy.
- JSON: JSON lines, concatenated objects (Kinesis Data Firehose) and a top-level array, split
  into records by :mod:`join_job.json_records` in Spark's Python workers; every field is kept
  (fields no schema names become extra text columns).
- Parquet: the files' schemas are merged (a column missing from a file is null for its rows);
  a column whose type differs between files fails the batch, naming both files.
"""

from __future__ import annotations

import codecs
import csv
import functools
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf
from pyspark.sql import types as st

from join_job import record_count
from join_job.background import Background
from join_job.errors import InputCountMismatchError, JobInputError
from join_job.filesystem import DataFile, HadoopFileSystem, literal_paths
from join_job.json_records import records
from join_job.parquet_footers import footer_schema
from join_job.pipeline_config import InputSpec, is_reserved_column
from join_job.record_count import file_bytes, same_file
from join_job.transforms import CORRUPT_RECORD, text_schema

SOURCE_FILE = "__source_file"
COUNT_POOL = "independent-record-count"
_COMPRESSED = (".deflate", ".snappy", ".lz4", ".zst", ".zstd", ".xz", ".lzo", ".br", ".zip")


@dataclass(frozen=True)
class Source:
    """Files as read (``frame``) and the records they hold, counted apart from the read.

    A CSV batch is counted while the job goes on (``counting``, :mod:`join_job.background`):
    beside the reference checks and the input pass; :attr:`counts` waits for it.
    """

    frame: DataFrame
    counting: Background[list[record_count.FileCount]]
    data_format: str
    what: str
    splitting: Callable[[], DataFrame | None] | None = None

    def split_frame(self) -> DataFrame | None:
        """The same files with those whose records each sit on one line split between tasks,
        or None when that would not change the read (many files, small ones, records over
        several lines in every one).

        It waits for the count, which is what tells the files apart: call it as late as
        possible (the job does, after reading the references).
        """
        return None if self.splitting is None else self.splitting()

    @property
    def counts(self) -> list[record_count.FileCount]:
        """Records per file; raises :class:`JobInputError` for a quote never closed."""
        return _closed_quotes(self.counting.result(), self.what)

    @property
    def records(self) -> int:
        return sum(item.records for item in self.counts)

    @property
    def count_seconds(self) -> float:
        return self.counting.seconds


def read_source(
    spark: SparkSession,
    files: Sequence[DataFile],
    spec: InputSpec,
    what: str,
    schema_columns: Sequence[str] | None = None,
    required_columns: Sequence[str] = (),
    *,
    count_in_background: bool = False,
) -> Source:
    """Data ``files`` read as ``spec`` says; ``what`` names them in errors ("the batch at …").

    ``required_columns`` (a reference's keys) must be in every Parquet file: a file that names
    its key differently would otherwise add rows with null keys. With ``count_in_background``,
    CSV files are counted in a thread of their own (the caller cancels it if the run fails).
    """
    started = time.monotonic()
    files = sorted(files, key=lambda item: item.uri)
    uris = [item.uri for item in files]
    for uri in uris:
        if uri.lower().endswith(_COMPRESSED):
            raise JobInputError(
                f"{what}: file {uri} is compressed in a way the job does not read; use gzip "
                "(.gz) or bzip2 (.bz2)"
            )
    if spec.format == "parquet":
        counts = record_count.count_parquet_files(spark, uris)
        counted = Background.ready(counts, started)
        return Source(_read_parquet(spark, uris, what, required_columns), counted, "parquet", what)
    if spec.format == "csv":
        if not count_in_background:
            counts = _closed_quotes(record_count.count_text_files(spark, files, spec), what)
            counted = Background.ready(counts, started)
            return Source(_read_csv(spark, uris, spec, what), counted, "csv", what)
        counting = Background.start(
            spark, COUNT_POOL, lambda: record_count.count_text_files(spark, files, spec)
        )
        splitting = None
        if worth_splitting(spark, files):
            splitting = functools.partial(_split_once_counted, spark, files, counting, spec, what)
        return Source(_read_csv(spark, uris, spec, what), counting, "csv", what, splitting)
    # JSON: counted first, because the count also finds the field names the read needs.
    counts = _closed_quotes(record_count.count_text_files(spark, files, spec), what)
    columns = _json_columns(counts, schema_columns, what)
    frame = _read_json(spark, uris, spec, columns)
    return Source(frame, Background.ready(counts, started), "json", what)


def _closed_quotes(counts: list[record_count.FileCount], what: str) -> list[record_count.FileCount]:
    """``counts``, unless a file has a quote that is never closed (a count of -1)."""
    for item in counts:
        if item.records < 0:
            raise JobInputError(
                f"{what}: file {item.uri} has a quote that is never closed: from it to the end "
                "of the file would be one field, so its records cannot be told apart"
            )
    return counts


def check_parse_count(source: Source, parsed_rows: int) -> None:
    """Fail, naming the first file whose count differs, if the parse saw another number of
    records than the files hold. Only a mismatch costs a pass (rows per file of the parse).
    """
    if parsed_rows == source.records:
        return
    column = sf.col(SOURCE_FILE) if SOURCE_FILE in source.frame.columns else sf.input_file_name()
    per_file = {
        record_count.same_file(str(row["file"])): int(row["rows"])
        for row in source.frame.groupBy(column.alias("file"))
        .count()
        .withColumnRenamed("count", "rows")
        .collect()
    }
    for item in source.counts:
        parsed = per_file.get(item.uri, 0)
        if parsed != item.records:
            raise InputCountMismatchError(
                f"{source.what}: file {item.uri} holds {item.records} records "
                f"({record_count.METHODS[source.data_format]}) but the reader produced {parsed} "
                "rows; nothing was committed. Check its quoting and line breaks."
            )
    raise InputCountMismatchError(
        f"{source.what}: the files hold {source.records} records but the reader produced "
        f"{parsed_rows} rows; nothing was committed"
    )


def clear_read_error(error: Exception, what: str) -> Exception:
    """``error`` from a read, as a :class:`JobInputError` naming the files when it is Spark's
    CSV header check (a file whose header differs from the first file's); else unchanged.
    """
    text = str(error)
    marker = "CSV header does not conform to the schema."
    if marker not in text:
        return error
    # Spark's message lists the header, the expected columns and the file; keep just those.
    details = text[text.index(marker) + len(marker) :].splitlines()
    kept = [line.strip() for line in details if line.strip().startswith(_HEADER_DETAILS)]
    return JobInputError(
        f"{what} mixes CSV headers: a file's header differs from the first file's "
        f"({'; '.join(kept[:4])})"
    )


_HEADER_DETAILS = ("Header:", "Schema:", "Expected:", "CSV file:")


def check_column_names(names: Sequence[str], where: str) -> None:
    """Fail on names a table cannot hold: empty, repeated, equal but for case, or reserved."""
    seen: dict[str, str] = {}
    for position, name in enumerate(names, start=1):
        if not name.strip():
            raise JobInputError(
                f"{where}: column {position} has no name (a header ending in a delimiter, or an "
                "empty name); every column needs a name"
            )
        if name.lower() in seen:
            other = seen[name.lower()]
            problem = (
                f"repeats column {name!r}"
                if other == name
                else (
                    f"has columns {other!r} and {name!r}, which differ only in case (columns are "
                    "matched ignoring case)"
                )
            )
            raise JobInputError(f"{where} {problem}")
        if is_reserved_column(name) or name.lower().startswith("__matched_"):
            raise JobInputError(
                f"{where}: column {name!r} uses a name the job reserves for its own columns "
                "(reject_reason, raw_record, _corrupt_record, __*); rename it"
            )
        seen[name.lower()] = name


def _read_csv(
    spark: SparkSession, uris: Sequence[str], spec: InputSpec, what: str, *, multi_line: bool = True
) -> DataFrame:
    header = _csv_header(spark, uris[0], spec)
    check_column_names(header, f"{what}: the header of {uris[0]}")
    # enforceSchema off: a file whose header differs from the first file's fails the read
    # instead of having its columns silently assigned by position.
    return (
        spark.read.schema(text_schema(header))
        .option("header", True)
        .option("enforceSchema", False)
        .option("multiLine", multi_line)
        .option("sep", spec.delimiter)
        .option("quote", '"')
        .option("escape", '"')
        .option("encoding", spec.java_encoding)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
        .csv(literal_paths(uris))
    )


def worth_splitting(spark: SparkSession, files: Sequence[DataFile]) -> bool:
    """Whether a CSV batch is so few and large files that reading each whole would leave cores
    idle (one 50 MB export: one task on one core); its files with one-line records are then
    split between tasks for the input pass (:meth:`Source.split_frame`).
    """
    cores = spark.sparkContext.defaultParallelism
    return len(files) < 2 * cores and max(item.size for item in files) >= _SPLIT_FROM_BYTES


def _split_once_counted(
    spark: SparkSession,
    files: Sequence[DataFile],
    counting: Background[list[record_count.FileCount]],
    spec: InputSpec,
    what: str,
) -> DataFrame | None:
    return _read_csv_split(spark, files, _closed_quotes(counting.result(), what), spec, what)


def _read_csv_split(
    spark: SparkSession,
    files: Sequence[DataFile],
    counts: Sequence[record_count.FileCount],
    spec: InputSpec,
    what: str,
) -> DataFrame | None:
    """The CSV ``files``, those that may span records over lines read whole (as
    :func:`_read_csv` does), the others split between tasks; None if every file may.

    Read line by line, a file whose records each sit on one line gives the same rows, raw text
    of malformed ones included (quoted fields, doubled quotes, CRLF: tests/glue_jobs), in splits
    (a gzip file is one split all the same).
    """
    spanning = {item.uri for item in counts if item.spans_lines}
    plain = [item.uri for item in files if record_count.same_file(item.uri) not in spanning]
    whole = [item.uri for item in files if item.uri not in plain]
    if not plain:
        return None
    split = _read_csv(spark, plain, spec, what, multi_line=False)
    if not whole:
        return split
    return _read_csv(spark, whole, spec, what).unionByName(split)


def _csv_header(spark: SparkSession, uri: str, spec: InputSpec) -> list[str]:
    """Column names from the first line of ``uri``, split as the CSV reader splits them."""
    # The file's start, read on the driver (no Spark job); lines end at LF, CR or CRLF, as in
    # Spark's line reader.
    head = HadoopFileSystem(spark).read_bytes(uri, _HEADER_BYTES, decompress=True)
    first = re.split(rb"\r\n|\r|\n", head, maxsplit=1)
    if len(first) == 1 and len(head) == _HEADER_BYTES:
        row = spark.read.text(literal_paths([uri])).select(sf.col("value").cast("binary")).first()
        first = [b"" if row is None else bytes(row[0])]
    if not first[0].strip():
        raise JobInputError(f"the CSV file {uri} has no header line")
    line = codecs.decode(first[0], spec.encoding, errors="replace").removeprefix("\ufeff")
    return next(csv.reader([line], delimiter=spec.delimiter, quotechar='"', doublequote=True))


# A header longer than this (thousands of columns) is read by a Spark job instead.
_HEADER_BYTES = 1024 * 1024
# A batch whose largest file is smaller is read whole however few its files are. The split
# waits for the count, which by then has run beside the session's start and the reference reads
# (bench/RESULTS.md round 6: a 53 MB file on 2 cores, pass 4.9-5.3 s whole, 4.3-4.5 s split).
_SPLIT_FROM_BYTES = 32 * 1024 * 1024


def _read_parquet(
    spark: SparkSession, uris: Sequence[str], what: str, required_columns: Sequence[str]
) -> DataFrame:
    merged: dict[str, tuple[str, str, str]] = {}
    fields: list[st.StructField] = []
    for uri in uris:
        schema = footer_schema(spark, uri)
        check_column_names(schema.names, f"{what}: file {uri}")
        names = {name.lower() for name in schema.names}
        absent = [name for name in required_columns if name.lower() not in names]
        if absent:
            raise JobInputError(
                f"{what}: file {uri} has no key column {absent[0]!r} (its columns: "
                f"{', '.join(schema.names)})"
            )
        for field in schema.fields:
            type_name = field.dataType.simpleString()
            if field.name.lower() not in merged:
                fields.append(st.StructField(field.name, field.dataType, True))
            known = merged.setdefault(field.name.lower(), (field.name, type_name, uri))
            if known[0] != field.name:
                raise JobInputError(
                    f"{what}: column {known[0]!r} in {known[2]} is {field.name!r} in {uri}; "
                    "columns that differ only in case are not merged"
                )
            if known[1] != type_name:
                raise JobInputError(
                    f"{what}: column {field.name!r} is {known[1]} in {known[2]} but {type_name} "
                    f"in {uri}; write every file with the same type"
                )
    # The schema merged from the footers already: given to the reader, Spark skips its own
    # schema-merging job (a column missing from a file still reads as null).
    return spark.read.schema(st.StructType(fields)).parquet(*literal_paths(uris))


def _json_columns(
    counts: Sequence[record_count.FileCount], schema_columns: Sequence[str] | None, what: str
) -> list[str]:
    columns = {name.lower(): name for name in schema_columns or ()}
    for item in counts:
        if item.case_clash is not None:
            first, second = item.case_clash
            raise JobInputError(
                f"{what}: a record of {item.uri} has fields {first!r} and {second!r}, which "
                "differ only in case (fields are matched to columns ignoring case)"
            )
        for name in item.fields:
            columns.setdefault(name.lower(), name)
    names = list(columns.values())
    check_column_names(names, f"{what}: the JSON fields")
    return names


def _read_json(
    spark: SparkSession, uris: Sequence[str], spec: InputSpec, columns: Sequence[str]
) -> DataFrame:
    record_count.ship_to_workers()
    lowered = [name.lower() for name in columns]
    encoding = spec.encoding
    files = record_count.file_contents(spark, uris)
    rows = files.flatMap(lambda pair: _json_rows(pair[0], pair[1], encoding, lowered))
    schema = text_schema(columns).add(st.StructField(SOURCE_FILE, st.StringType(), False))
    return spark.createDataFrame(rows, schema)


def _json_rows(
    uri: str, content: bytes, encoding: str, columns: Sequence[str]
) -> Iterator[tuple[str | None, ...]]:
    data = file_bytes(uri, bytes(content))
    text = codecs.decode(data, encoding, errors="surrogateescape").removeprefix("\ufeff")
    uri = same_file(uri)
    index = {name: position for position, name in enumerate(columns)}
    empty: list[str | None] = [None] * len(columns)
    for record in records(text):
        values = list(empty)
        malformed = record.fields is None
        seen: set[str] = set()
        for key, value in record.fields or ():
            position = index.get(key.lower())
            if position is None or key.lower() in seen:
                malformed = True  # a repeated field: keeping either value would drop the other
                break
            seen.add(key.lower())
            values[position] = value
        if malformed:
            raw = record.raw.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            yield (*empty, raw, uri)
        else:
            yield (*values, None, uri)
