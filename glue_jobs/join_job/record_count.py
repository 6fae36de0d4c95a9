"""The independent record count: how many records the input files hold, found without the parse
that produces the output, so a parse that merges, splits or skips records fails the batch.

- CSV: line breaks outside double-quoted fields, blank lines not counted, one header per file
  (bytes, not decoded text: quotes and line breaks are ASCII in every supported encoding).
- JSON: objects by bracket depth (:func:`join_job.json_records.count_values`).
- Parquet: the row counts in each file's footer (no data read).

CSV files are counted by Spark's line reader in the JVM (split between tasks, gzip and bz2 read
as Spark reads them); a file with a line holding an odd number of quotes, and every JSON file,
is counted whole by Spark's Python workers (``binaryFile`` source: such a file must be under
2 GB). Parquet footers are read on the driver.
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

from pyspark.sql import SparkSession
from pyspark.sql import functions as sf

from join_job.json_records import count_values, records
from join_job.pipeline_config import InputSpec

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


def count_text_files(spark: SparkSession, uris: Sequence[str], spec: InputSpec) -> list[FileCount]:
    """Per-file counts of CSV or JSON files."""
    if spec.format == "csv":
        return _count_csv_files(spark, uris, spec)
    return _count_in_python(spark, uris, spec)


def _count_csv_files(spark: SparkSession, uris: Sequence[str], spec: InputSpec) -> list[FileCount]:
    """Non-blank lines per file with Spark's line reader (in the JVM, files split between
    tasks), minus the header. A file with a line holding an odd number of quotes may have line
    breaks inside quoted fields (or a quote inside a field): it is counted exactly, whole, in a
    Python worker instead.
    """
    line = sf.col("value")
    quotes = sf.length(line) - sf.length(sf.translate(line, '"', ""))
    per_file = (
        spark.read.text(list(uris))
        .groupBy(sf.input_file_name().alias("file"))
        .agg(
            sf.sum(sf.when(sf.length(line) > 0, 1).otherwise(0)).alias("lines"),
            sf.sum(sf.when(quotes % 2 == 1, 1).otherwise(0)).alias("odd_quotes"),
        )
        .collect()
    )
    counted = {same_file(str(row["file"])): row for row in per_file}
    counts = {
        uri: FileCount(uri, max(0, int(row["lines"]) - 1))
        for uri, row in counted.items()
        if int(row["odd_quotes"]) == 0
    }
    quoted = [uri for uri in uris if same_file(uri) in counted and same_file(uri) not in counts]
    if quoted:
        counts.update((item.uri, item) for item in _count_in_python(spark, quoted, spec))
    # A file without a single line is not in the grouping: it holds no records.
    return [counts.get(same_file(uri), FileCount(same_file(uri), 0)) for uri in sorted(uris)]


def _count_in_python(spark: SparkSession, uris: Sequence[str], spec: InputSpec) -> list[FileCount]:
    """Exact per-file counts in Spark's Python workers, each file whole (``binaryFile``)."""
    ship_to_workers()
    frame = spark.read.format("binaryFile").load(list(uris))
    text_format, encoding, delimiter = spec.format, spec.encoding, spec.delimiter
    counted = frame.select("path", "content").rdd.map(
        lambda row: _count_file(row[0], row[1], text_format, encoding, delimiter)
    )
    return sorted(
        (
            FileCount(uri, records, fields, clash)
            for uri, records, fields, clash in counted.collect()
        ),
        key=lambda item: item.uri,
    )


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
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    return len(lines) - lines.count(b"")


def _count_file(
    uri: str, content: bytes, text_format: str, encoding: str, delimiter: str
) -> tuple[str, int, tuple[str, ...], tuple[str, str] | None]:
    data = file_bytes(uri, bytes(content))
    uri = same_file(uri)
    if text_format == "csv":
        found = csv_records(data, delimiter.encode(encoding))
        return uri, found if found < 0 else max(0, found - 1), (), None
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
    return uri, count_values(text), tuple(names.values()), clash


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
