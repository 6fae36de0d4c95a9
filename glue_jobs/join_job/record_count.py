"""The independent record count: how many records the input files hold, found without the parse
that produces the output, so a parse that merges, splits or skips records fails the batch.

- CSV: line breaks outside double-quoted fields, blank lines not counted, one header per file
  (bytes, not decoded text: quotes and line breaks are ASCII in every supported encoding).
- JSON: objects by bracket depth (:func:`join_job.json_records.count_values`).
- Parquet: the row counts in each file's footer (no data read).

Where the counting runs depends on size, not on the result:
- a batch or reference of at most ``DRIVER_BYTES`` in all is counted on the driver (no Spark
  job: most references, small batches);
- otherwise each file of at most ``WHOLE_FILE_BYTES`` (``WHOLE_COMPRESSED_BYTES`` if gzip or
  bzip2) is counted whole and exactly in one of Spark's Python workers;
- a larger CSV file is counted by Spark's line reader in the JVM (split between tasks); if it has
  a line holding an odd number of quotes (a line break may sit inside a quoted field), it is
  counted whole in a Python worker after all. A larger JSON file is counted whole.
Parquet footers are read on the driver.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from pyspark import RDD
from pyspark.sql import SparkSession
from pyspark.sql import functions as sf

from join_job.filesystem import DataFile, HadoopFileSystem, literal_paths
from join_job.json_records import count_values, records
from join_job.pipeline_config import InputSpec

MEGABYTE = 1024 * 1024
# Measured (bench/RESULTS.md, round 2): whole files in Python workers count 2.7-3x faster than
# the line reader's per-line rows and grouping. The limits bound a task's memory: the file's
# bytes in the JVM and again in Python (decompressed there), times the tasks of an executor (4
# on a Glue G.1X worker).
DRIVER_BYTES = 8 * MEGABYTE
WHOLE_FILE_BYTES = 128 * MEGABYTE
WHOLE_COMPRESSED_BYTES = 32 * MEGABYTE
_COMPRESSED_NAMES = (".gz", ".bz2")

METHODS = {
    "csv": "line breaks outside quoted fields, blank lines and one header per file excluded",
    "json": "top-level JSON objects by bracket depth (array elements, concatenated, JSON lines)",
    "parquet": "row counts in the Parquet footers",
}


@dataclass(frozen=True)
class FileCount:
    """Records in one file; for JSON also its field names (first spelling, in order)."""

    uri: str
    records: int
    fields: tuple[str, ...] = ()
    # Two field names of one record that differ only in case, if the file has such a record.
    case_clash: tuple[str, str] | None = None
    # Whether a record of the file may span lines (a quoted field holds a line break, or the
    # file was not looked at that closely). A CSV file whose records each sit on one line reads
    # the same split between tasks, line by line (readers).
    spans_lines: bool = True


def counts_on_driver(files: Sequence[DataFile]) -> bool:
    """Whether ``files`` are few bytes enough to be counted on the driver (no Spark job)."""
    return sum(item.size for item in files) <= DRIVER_BYTES


def count_text_files(
    spark: SparkSession, files: Sequence[DataFile], spec: InputSpec
) -> list[FileCount]:
    """Per-file counts of CSV or JSON ``files`` (sorted by URI)."""
    if counts_on_driver(files):
        return _count_on_driver(spark, files, spec)
    if spec.format == "json":
        return _count_in_python(spark, [item.uri for item in files], spec)
    whole = [item.uri for item in files if _fits_whole(item)]
    by_lines = [item.uri for item in files if not _fits_whole(item)]
    counts = _count_in_python(spark, whole, spec) if whole else []
    if by_lines:
        counts += _count_csv_lines(spark, by_lines, spec)
    return sorted(counts, key=lambda item: item.uri)


def _fits_whole(item: DataFile) -> bool:
    limit = WHOLE_COMPRESSED_BYTES if item.uri.endswith(_COMPRESSED_NAMES) else WHOLE_FILE_BYTES
    return item.size <= limit


def _count_on_driver(
    spark: SparkSession, files: Sequence[DataFile], spec: InputSpec
) -> list[FileCount]:
    """Exact per-file counts of small files, read whole on the driver."""
    fs = HadoopFileSystem(spark)
    counted = (
        _count_file(item.uri, fs.read_bytes(item.uri), spec.format, spec.encoding, spec.delimiter)
        for item in files
    )
    return sorted(counted, key=lambda item: item.uri)


def _count_csv_lines(spark: SparkSession, uris: Sequence[str], spec: InputSpec) -> list[FileCount]:
    """Non-blank lines per file with Spark's line reader (in the JVM, files split between
    tasks), minus the header. A file with a line holding an odd number of quotes may have line
    breaks inside quoted fields (or a quote inside a field): it is counted exactly, whole, in a
    Python worker instead.

    A file whose every line with a quote is whole fields (:func:`closed_fields_pattern`) has
    each record on one line, and is read split between tasks like a file without quotes.
    """
    line = sf.col("value")
    quotes = sf.length(line) - sf.length(sf.translate(line, '"', ""))
    open_field = line.contains('"') & ~line.rlike(closed_fields_pattern(spec.delimiter))
    per_file = (
        spark.read.text(literal_paths(uris))
        .groupBy(sf.input_file_name().alias("file"))
        .agg(
            sf.sum(sf.when(sf.length(line) > 0, 1).otherwise(0)).alias("lines"),
            sf.sum(sf.when(quotes % 2 == 1, 1).otherwise(0)).alias("odd_quotes"),
            sf.sum(sf.when(open_field, 1).otherwise(0)).alias("open_lines"),
        )
        .collect()
    )
    counted = {same_file(str(row["file"])): row for row in per_file}
    counts = {
        # Lines with an even number of quotes: a line that is not whole fields (a quote inside
        # an unquoted field, 5" and 6" screens) may still leave a quoted field open.
        uri: FileCount(uri, max(0, int(row["lines"]) - 1), spans_lines=int(row["open_lines"]) > 0)
        for uri, row in counted.items()
        if int(row["odd_quotes"]) == 0
    }
    quoted = [uri for uri in uris if same_file(uri) in counted and same_file(uri) not in counts]
    if quoted:
        counts.update((item.uri, item) for item in _count_in_python(spark, quoted, spec))
    # A file without a single line is not in the grouping: it holds no records.
    return [counts.get(same_file(uri), FileCount(same_file(uri), 0)) for uri in sorted(uris)]


def closed_fields_pattern(delimiter: str) -> str:
    """A Java regex for a line of whole fields: each free of quotes, or quoted from its first
    character to its last with quotes inside doubled. Spark's parser leaves no field open at the
    end of such a line, so a file of such lines (and lines without quotes) has each record on a
    line of its own: the first line of a quoted field over several lines is not whole fields.
    """
    separator = delimiter if delimiter.isalnum() else "\\" + delimiter
    # Possessive quantifiers: no backtracking, and no stack depth that grows with a field.
    field = f'(?:"(?:[^"]++|"")*+"|[^"{separator}]*+)'
    return f"^{field}(?:{separator}{field})*+$"


def _count_in_python(spark: SparkSession, uris: Sequence[str], spec: InputSpec) -> list[FileCount]:
    """Exact per-file counts in Spark's Python workers, each file whole."""
    ship_to_workers()
    text_format, encoding, delimiter = spec.format, spec.encoding, spec.delimiter
    counted = file_contents(spark, uris).map(
        lambda pair: _count_file(pair[0], pair[1], text_format, encoding, delimiter)
    )
    found = {item.uri: item for item in counted.collect()}
    # A source may skip an empty file: such a file holds no records.
    return [found.get(same_file(uri), FileCount(same_file(uri), 0)) for uri in sorted(uris)]


def file_contents(spark: SparkSession, uris: Sequence[str]) -> RDD[tuple[str, bytes]]:
    """Each file's URI and bytes (as stored: compressed files stay compressed), in the workers.

    ``SparkContext.binaryFiles`` hands the bytes to Python as they are, where the ``binaryFile``
    source pickles them in rows: ten 53 MB files took 5.7 task-seconds instead of 12.0
    (bench/RESULTS.md). Both read through Hadoop's FileSystem (S3 on Glue). ``binaryFiles`` takes
    one string of paths that Hadoop splits at commas outside braces, so a URI holding a comma or
    a brace is read with the ``binaryFile`` source instead.
    """
    if any(mark in uri for uri in uris for mark in _PATH_LIST_MARKS):
        frame = spark.read.format("binaryFile").load(literal_paths(uris))
        return frame.select("path", "content").rdd.map(lambda row: (row[0], row[1]))
    return spark.sparkContext.binaryFiles(",".join(literal_paths(uris)), minPartitions=len(uris))


_PATH_LIST_MARKS = (",", "{", "}")


def ship_to_workers() -> None:
    """Send the functions Python workers run by value, so the workers need only the standard
    library and PySpark (on Glue the package is there too; a local worker may be another
    interpreter than the driver's virtualenv).
    """
    import sys

    from pyspark import cloudpickle

    for name in ("join_job.json_records", "join_job.record_count", "join_job.readers"):
        cloudpickle.register_pickle_by_value(sys.modules[name])  # type: ignore[no-untyped-call]


def count_parquet_files(spark: SparkSession, uris: Sequence[str]) -> list[FileCount]:
    """Per-file row counts from the Parquet footers (read on the driver, no data pages)."""
    from join_job.parquet_footers import footer_row_count

    return [FileCount(same_file(uri), footer_row_count(spark, uri)) for uri in uris]


def same_file(uri: str) -> str:
    """A file URI in one spelling: Spark's input_file_name gives ``file:///x`` and escapes
    spaces (``%20``) where Hadoop's listing gives ``file:/x`` and the plain name.
    """
    uri = unquote(uri)
    return "file:/" + uri[len("file:///") :] if uri.startswith("file:///") else uri


def file_bytes(uri: str, content: bytes) -> bytes:
    """The file's content, decompressed by its extension (gzip and bz2, as Spark reads them)."""
    if uri.endswith(".gz"):
        return gzip.decompress(content)
    if uri.endswith(".bz2"):
        return bz2.decompress(content)
    return content


def csv_records(data: bytes, delimiter: bytes = b",") -> int:
    """Records in CSV ``data``, header included: line breaks outside quoted fields, blank lines
    excluded; -1 if a quoted field is never closed (the rest of the file would be one field).

    As in RFC 4180 and Spark's parser, a quote opens a quoted field only at the start of a field
    (``5" screen`` is literal text); a doubled quote inside a quoted field is part of it.
    """
    if b'"' in data:
        boundary = re.escape(delimiter) + rb"\r\n"
        if re.search(rb"[^" + boundary + rb'"]"[^' + boundary + rb'"]', data):
            # A quote inside an unquoted field is literal text, not an opening quote: take the
            # slower way that opens quoted fields only at a field's start.
            after = rb"(\A|[" + boundary + rb"])"
            data = re.sub(after + rb'"[^"]*(?:""[^"]*)*"', rb"\1Q", data)
            if re.search(after + b'"', data):
                return -1
        else:
            parts = data.split(b'"')
            if len(parts) % 2 == 0:
                return -1
            # Even parts lie outside quotes (a doubled quote toggles twice); each quoted run
            # becomes one byte.
            data = b"Q".join(parts[0::2])
    return non_blank_lines(data)


def non_blank_lines(data: bytes) -> int:
    """Lines of ``data`` that hold anything, lines ending at LF, CRLF or CR (as Spark's line
    reader ends them)."""
    if b"\r" not in data and b"\n\n" not in data:
        # The usual file: LF only, no blank lines. Count line breaks without splitting.
        breaks = data.count(b"\n")
        return breaks + (0 if data.endswith(b"\n") or not data else 1) - data.startswith(b"\n")
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    return len(lines) - lines.count(b"")


def _count_file(
    uri: str, content: bytes, text_format: str, encoding: str, delimiter: str
) -> FileCount:
    data = file_bytes(uri, bytes(content))
    uri = same_file(uri)
    if text_format == "csv":
        found = csv_records(data, delimiter.encode(encoding))
        # Every record on a line of its own (no quoted field holds a line break) when there are
        # as many records as lines: a quoted field over several lines makes more lines.
        spans_lines = b'"' in data and found != non_blank_lines(data)
        return FileCount(uri, found if found < 0 else max(0, found - 1), spans_lines=spans_lines)
    text = codecs.decode(data, encoding, errors="surrogateescape")
    text = text.removeprefix("\ufeff")
    names: dict[str, str] = {}
    clash: tuple[str, str] | None = None
    for record in records(text):
        seen: dict[str, str] = {}
        for key, _ in record.fields or ():
            lowered = key.lower()
            if lowered in seen and seen[lowered] != key and clash is None:
                clash = (seen[lowered], key)
            seen[lowered] = key
            names.setdefault(lowered, key)
    return FileCount(uri, count_values(text), tuple(names.values()), clash)


def describe(counts: Sequence[FileCount], data_format: str) -> dict[str, Any]:
    """The report's account of the count: method, files, records."""
    return {
        "method": METHODS[data_format],
        "files": len(counts),
        "records": sum(item.records for item in counts),
    }


def to_json(counts: Sequence[FileCount]) -> str:
    """Counts per file as JSON (for a log line)."""
    return json.dumps({item.uri: item.records for item in counts}, sort_keys=True)
