"""A corpus of real-world file shapes run through the real entry script (``job.main``).

Every case states its whole outcome: the exact output rows, the quarantined rows with their
reason and raw text, or the failure message. Files come from the tools users export with
(pandas, Python's csv module, pyarrow, duckdb, Spark, Firehose's concatenated JSON) or, where a
checked-in file is more faithful than a generator here (Excel's cp1252 and UTF-8-with-BOM CSV,
a European semicolon export), from ``corpus/``.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from join_job import job
from join_job.errors import JobArgumentError, JobInputError

CORPUS = Path(__file__).parent / "corpus"
JOB_SCRIPT = Path(__file__).resolve().parents[2] / "glue_jobs" / "join_job" / "job.py"

Files = Callable[[Path, SparkSession], None]


@dataclass(frozen=True)
class Case:
    """One file shape and the outcome the job must give."""

    name: str
    files: Files
    input: dict[str, Any]
    output: list[dict[str, Any]] | None = None
    quarantine: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None
    joins: list[dict[str, Any]] = field(default_factory=list)
    references: Files | None = None


def text(name: str, content: str | bytes) -> Files:
    def write(batch: Path, spark: SparkSession) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        path = batch / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return write


def several(*writers: Files) -> Files:
    def write(batch: Path, spark: SparkSession) -> None:
        for writer in writers:
            writer(batch, spark)

    return write


def checked_in(name: str) -> Files:
    return text(name, (CORPUS / name).read_bytes())


def csv_module(name: str, rows: list[list[str]], **options: Any) -> Files:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, **options).writerows(rows)  # Python's csv module: CRLF, minimal quoting
    return text(name, buffer.getvalue())


def pandas_csv(name: str, columns: dict[str, list[Any]], **options: Any) -> Files:
    import pandas as pd

    return text(name, pd.DataFrame(columns).to_csv(index=False, **options))


def firehose(*records: dict[str, Any]) -> str:
    # Kinesis Data Firehose's default delivery: records back to back, no separator.
    return "".join(json.dumps(record) for record in records)


def parquet_writer(kind: str, name: str, columns: dict[str, list[Any]], types: str = "") -> Files:
    def write(batch: Path, spark: SparkSession) -> None:
        path = batch / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind == "pyarrow":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.table(columns), path)
        elif kind == "pandas":
            import pandas as pd

            pd.DataFrame(columns).to_parquet(path, index=False)
        elif kind == "duckdb":
            import duckdb
            import pandas as pd

            frame = pd.DataFrame(columns)  # noqa: F841 - duckdb reads it by name
            duckdb.sql(f"COPY (SELECT * FROM frame) TO '{path}' (FORMAT parquet)")
        else:  # spark
            rows = list(zip(*columns.values(), strict=True))
            spark.createDataFrame(rows, types).coalesce(1).write.parquet(str(path))

    return write


ID_NAME = {"format": "csv", "schema": {"id": "int", "name": "string"}}
PEOPLE = [["id", "name"], ["1", 'say "hi"'], ["2", "Smith, Bob"]]
PEOPLE_OUT = [{"id": 1, "name": 'say "hi"'}, {"id": 2, "name": "Smith, Bob"}]
CITIES_OUT = [
    {"id": 1, "name": "Café Olé", "city": "Zürich", "price": Decimal("4.50")},
    {"id": 2, "name": 'Smith, "Bob"', "city": "Köln", "price": Decimal("12.00")},
    {"id": 3, "name": "na\u00efve \u2013 5\u20ac", "city": "Sevilla", "price": Decimal("0.99")},
]
CITIES = {"id": "int", "name": "string", "city": "string", "price": "decimal(10,2)"}
JSON_ID = {"format": "json", "schema": {"id": "int", "name": "string"}}
PARQUET_ROWS = {"id": [1, 2], "name": ["a", "é"], "score": [1.5, 2.0]}
PARQUET_OUT = [{"id": 1, "name": "a", "score": 1.5}, {"id": 2, "name": "é", "score": 2.0}]
PARQUET_INPUT = {"format": "parquet", "schema": {"id": "bigint"}}

CASES = [
    # --- CSV as exporters write it ------------------------------------------------------------
    Case("csv_module_rfc4180_quotes", csv_module("p.csv", PEOPLE), ID_NAME, PEOPLE_OUT),
    Case(
        "pandas_to_csv_quotes_and_embedded_newline",
        pandas_csv("p.csv", {"id": [1, 2], "name": ['say "hi"', "line one\nline two"]}),
        ID_NAME,
        [{"id": 1, "name": 'say "hi"'}, {"id": 2, "name": "line one\nline two"}],
    ),
    Case(
        "pandas_int_column_with_gaps_is_written_as_float_text",
        pandas_csv("p.csv", {"id": [1, None, 3], "name": ["a", "b", "c"]}),
        ID_NAME,
        [{"id": 1, "name": "a"}, {"id": None, "name": "b"}, {"id": 3, "name": "c"}],
    ),
    Case(
        "excel_cp1252_crlf",
        checked_in("excel_cp1252.csv"),
        {"format": "csv", "encoding": "cp1252", "schema": CITIES},
        CITIES_OUT,
    ),
    Case(
        "excel_cp1252_read_as_utf8_is_malformed_not_replaced",
        checked_in("excel_cp1252.csv"),
        {"format": "csv", "schema": CITIES},
        [],
        quarantine=[
            (
                "malformed_row",
                '{"id":"1","name":"Caf\ufffd Ol\ufffd","city":"Z\ufffdrich","price":"4.50"}',
            ),
            (
                "malformed_row",
                '{"id":"2","name":"Smith, \\"Bob\\"","city":"K\ufffdln","price":"12.00"}',
            ),
            (
                "malformed_row",
                '{"id":"3","name":"na\ufffdve \ufffd 5\ufffd","city":"Sevilla","price":"0.99"}',
            ),
        ],
    ),
    Case(
        "excel_utf8_with_bom_crlf",
        checked_in("excel_utf8_bom.csv"),
        {"format": "csv", "schema": CITIES},
        CITIES_OUT,
    ),
    Case(
        "european_semicolon_decimal_comma_is_rejected_not_guessed",
        checked_in("european_semicolon.csv"),
        {
            "format": "csv",
            "delimiter": ";",
            "encoding": "windows-1252",
            "schema": {"id": "int", "name": "string", "amount": "decimal(10,2)"},
        },
        [{"id": 1, "name": "Müller", "amount": Decimal("2.50")}],
        quarantine=[("schema_mismatch:amount", '{"id":"2","name":"Dupont; fils","amount":"1,50"}')],
    ),
    Case(
        "empty_trailing_lines",
        text("p.csv", "id,name\r\n1,a\r\n\r\n\r\n"),
        ID_NAME,
        [{"id": 1, "name": "a"}],
    ),
    Case(
        # Spreadsheet headers hold anything: SQL quotes, dots, brackets, a backtick.
        "header_names_with_sql_characters",
        text("p.csv", 'id,price,"size (`in`)",it\'s,a.b,"x\\y"\n1,2.5,o\'k,c,d,e\n2,big,f,g,h,i\n'),
        {"format": "csv", "schema": {"id": "int", "price": "double"}},
        [{"id": 1, "price": 2.5, "size (`in`)": "o'k", "it's": "c", "a.b": "d", "x\\y": "e"}],
        quarantine=[
            (
                "schema_mismatch:price",
                '{"id":"2","price":"big","size (`in`)":"f","it\'s":"g","a.b":"h","x\\\\y":"i"}',
            )
        ],
    ),
    Case(
        "header_case_differs_from_schema",
        text("p.csv", "ID,Name\n1,a\n"),
        ID_NAME,
        [{"id": 1, "name": "a"}],
    ),
    Case(
        "wrong_field_count_keeps_raw_line",
        text("p.csv", "id,name\n1,a\n2\n3,c,extra\n"),
        ID_NAME,
        [{"id": 1, "name": "a"}],
        quarantine=[("malformed_row", "2"), ("malformed_row", "3,c,extra")],
    ),
    Case(
        "gzip_and_bz2_files",
        several(
            text("a.csv.gz", gzip.compress(b"id,name\n1,a\n")),
            text("b.csv.bz2", bz2.compress(b"id,name\n2,b\n")),
        ),
        ID_NAME,
        [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    ),
    Case(
        "duplicate_header_names",
        text("p.csv", "id,name,id\n1,a,2\n"),
        ID_NAME,
        error=r"the header of .*p\.csv repeats column 'id'",
    ),
    Case(
        "header_with_trailing_comma",
        text("p.csv", "id,name,\n1,a,\n"),
        ID_NAME,
        error=r"the header of .*p\.csv: column 3 has no name \(a header ending in a delimiter",
    ),
    Case(
        "header_names_differing_only_in_case",
        text("p.csv", "id,Name,name\n1,a,b\n"),
        ID_NAME,
        error=r"has columns 'Name' and 'name', which differ only in case",
    ),
    Case(
        "reserved_column_name_in_header",
        text("p.csv", "id,name,reject_reason\n1,a,b\n"),
        ID_NAME,
        error=r"column 'reject_reason' uses a name the job reserves",
    ),
    Case(
        "second_file_with_other_header_order",
        several(text("a.csv", "id,name\n1,a\n"), text("b.csv", "name,id\nb,2\n")),
        ID_NAME,
        error=r"mixes CSV headers: .*Header: name, id",
    ),
    Case(
        # One batch: a.csv has a quoted line break, b.csv none (a file the count checks by lines).
        "files_with_and_without_quoted_line_breaks",
        several(
            text("a.csv", 'id,name\n1,"two\nlines"\n3,c\n'),
            text("b.csv", 'id,name\n2,"b, quoted"\n4\n'),
        ),
        ID_NAME,
        [
            {"id": 1, "name": "two\nlines"},
            {"id": 3, "name": "c"},
            {"id": 2, "name": "b, quoted"},
        ],
        [("malformed_row", "4")],
    ),
    Case(
        "quote_inside_an_unquoted_field_is_literal",
        text("p.csv", 'id,name\n1,5" screen\n2,"12"" board"\n'),
        ID_NAME,
        [{"id": 1, "name": '5" screen'}, {"id": 2, "name": '12" board'}],
    ),
    Case(
        "unclosed_quote_fails_instead_of_swallowing_the_rest_of_the_file",
        text("p.csv", 'id,name\n1,"never closed\n2,b\n'),
        ID_NAME,
        error=r"file .*p\.csv has a quote that is never closed",
    ),
    # --- strict casts ------------------------------------------------------------------------
    Case(
        "lossy_or_invented_values_are_schema_mismatches",
        text(
            "p.csv",
            "id,amount,day,ratio\n"
            "1,1.00,2026-01-02,1.5\n"
            "2,1.005,2026-01-02,1\n"
            "3,1,2026,1\n"
            "4,1,2026-01-02 garbage,1\n"
            "5,1,2026-01-02,1e400\n"
            "6.5,1,2026-01-02,1\n"
            "7,1,2026-01-02,Infinity\n",
        ),
        {
            "format": "csv",
            "schema": {"id": "int", "amount": "decimal(5,2)", "day": "date", "ratio": "double"},
        },
        [
            {"id": 1, "amount": Decimal("1.00"), "day": "2026-01-02", "ratio": 1.5},
            {"id": 7, "amount": Decimal("1.00"), "day": "2026-01-02", "ratio": math.inf},
        ],
        quarantine=[
            (
                "schema_mismatch:amount",
                '{"id":"2","amount":"1.005","day":"2026-01-02","ratio":"1"}',
            ),
            ("schema_mismatch:day", '{"id":"3","amount":"1","day":"2026","ratio":"1"}'),
            (
                "schema_mismatch:day",
                '{"id":"4","amount":"1","day":"2026-01-02 garbage","ratio":"1"}',
            ),
            ("schema_mismatch:ratio", '{"id":"5","amount":"1","day":"2026-01-02","ratio":"1e400"}'),
            ("schema_mismatch:id", '{"id":"6.5","amount":"1","day":"2026-01-02","ratio":"1"}'),
        ],
    ),
    # --- JSON ----------------------------------------------------------------------------------
    Case(
        "firehose_concatenated_objects",
        text(
            "firehose-1",
            firehose({"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"})
            + "\n"
            + firehose({"id": 4, "name": "d"}, {"id": 5, "name": "}{"}),
        ),
        JSON_ID,
        [{"id": i, "name": n} for i, n in [(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "}{")]],
    ),
    Case(
        "firehose_gzip",
        text("f.gz", gzip.compress(firehose({"id": 1, "name": "a"}, {"id": 2}).encode())),
        JSON_ID,
        [{"id": 1, "name": "a"}, {"id": 2, "name": None}],
    ),
    Case(
        "top_level_array_pretty_printed",
        text("a.json", json.dumps([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], indent=2)),
        JSON_ID,
        [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    ),
    Case(
        "json_unknown_fields_are_kept_as_text_columns",
        text("l.json", '{"id": 1, "name": "a", "extra": 2.50, "tags": ["x"]}\n{"id": 2}\n'),
        JSON_ID,
        [
            {"id": 1, "name": "a", "extra": "2.50", "tags": '["x"]'},
            {"id": 2, "name": None, "extra": None, "tags": None},
        ],
    ),
    Case(
        "json_field_case_differs_from_schema",
        text("l.json", '{"ID": 7, "Name": "a"}\n'),
        JSON_ID,
        [{"id": 7, "name": "a"}],
    ),
    Case(
        "json_fields_differing_only_in_case",
        text("l.json", '{"id": 7, "ID": 8}\n'),
        JSON_ID,
        error=r"a record of .*l\.json has fields 'id' and 'ID', which differ only in case",
    ),
    Case(
        "json_nan_and_infinity_tokens",
        text("l.json", json.dumps({"id": 1, "x": float("nan")}) + "\n" + '{"id": NaN}\n'),
        {"format": "json", "schema": {"id": "int", "x": "double"}},
        [{"id": 1, "x": math.nan}],
        quarantine=[("schema_mismatch:id", '{"id":"NaN"}')],
    ),
    Case(
        "nested_object_under_a_string_column",
        text("l.json", '{"id": 1, "name": {"first": "A", "n": [1, 2.50]}}\n'),
        JSON_ID,
        [{"id": 1, "name": '{"first":"A","n":[1,2.50]}'}],
    ),
    Case(
        "json_broken_line_and_non_object",
        text("l.json", '{"id": 1, "name": "a"}\n{"id": 2, "name":\n[1, 2]\n{"id": 3}\n'),
        JSON_ID,
        [{"id": 1, "name": "a"}, {"id": 3, "name": None}],
        quarantine=[("malformed_row", '{"id": 2, "name":'), ("malformed_row", "[1, 2]")],
    ),
    Case(
        "json_latin1_byte_under_utf8",
        text("l.json", b'{"id": 1, "name": "caf\xe9"}\n{"id": 2, "name": "ok"}\n'),
        JSON_ID,
        [{"id": 2, "name": "ok"}],
        quarantine=[("malformed_row", '{"id": 1, "name": "caf\\xe9"}')],
    ),
    # --- Parquet from several writers ------------------------------------------------------------
    *[
        Case(
            f"parquet_from_{kind}",
            parquet_writer(kind, "p.parquet", PARQUET_ROWS, "id bigint, name string, score double"),
            PARQUET_INPUT,
            PARQUET_OUT,
        )
        for kind in ("pyarrow", "pandas", "duckdb", "spark")
    ],
    Case(
        "parquet_column_in_only_some_files",
        several(
            parquet_writer("pyarrow", "a.parquet", {"id": [1], "name": ["a"]}),
            parquet_writer("pandas", "b.parquet", {"id": [2], "name": ["b"], "extra": ["x"]}),
        ),
        PARQUET_INPUT,
        [{"id": 1, "name": "a", "extra": None}, {"id": 2, "name": "b", "extra": "x"}],
    ),
    Case(
        "parquet_double_to_int_only_when_exact",
        parquet_writer("pyarrow", "a.parquet", {"id": [1.0, 1.5], "name": ["a", "b"]}),
        {"format": "parquet", "schema": {"id": "int"}},
        [{"id": 1, "name": "a"}],
        quarantine=[("schema_mismatch:id", '{"id":1.5,"name":"b"}')],
    ),
    Case(
        "parquet_conflicting_types",
        several(
            parquet_writer("pyarrow", "a.parquet", {"id": [1]}),
            parquet_writer("pyarrow", "b.parquet", {"id": [1.5]}),
        ),
        PARQUET_INPUT,
        error=r"column 'id' is bigint in .*a\.parquet but double in .*b\.parquet",
    ),
    Case(
        "parquet_columns_differing_only_in_case",
        several(
            parquet_writer("pyarrow", "a.parquet", {"id": [1]}),
            parquet_writer("pyarrow", "b.parquet", {"ID": [2]}),
        ),
        PARQUET_INPUT,
        error=r"column 'id' in .*a\.parquet is 'ID' in .*b\.parquet",
    ),
    # --- references get the batch's checks --------------------------------------------------------
    Case(
        "reference_key_is_cast_strictly",
        text("p.csv", "id,name\n7,a\n"),
        ID_NAME,
        error=r"join 'codes': reference .*codes: file .*c\.csv has key 'code' = '7\.9', which is "
        r"not an exact value",
        joins=[{"name": "codes", "format": "csv", "on": {"id": "code"}}],
        references=text("codes/c.csv", "code,label\n7.9,seven\n"),
    ),
    Case(
        "reference_key_not_a_number",
        text("p.csv", "id,name\n8,a\n"),
        ID_NAME,
        error=r"has key 'code' = '8abc'",
        joins=[{"name": "codes", "format": "csv", "on": {"id": "code"}}],
        references=text("codes/c.csv", "code,label\n8abc,eight\n"),
    ),
    Case(
        "reference_second_file_with_other_header_order",
        text("p.csv", "id,name\n7,a\n"),
        ID_NAME,
        error=r"join 'codes': reference .*codes mixes CSV headers",
        joins=[{"name": "codes", "format": "csv", "on": {"id": "code"}}],
        references=several(
            text("codes/a.csv", "code,label\n7,seven\n"), text("codes/b.csv", "label,code\nx,8\n")
        ),
    ),
    Case(
        "reference_parquet_file_naming_its_key_differently",
        text("p.csv", "id,name\n7,a\n"),
        ID_NAME,
        error=r"join 'codes': reference .*codes: file .*b\.parquet has no key column 'code'",
        joins=[{"name": "codes", "format": "parquet", "on": {"id": "code"}}],
        references=several(
            parquet_writer("pyarrow", "codes/a.parquet", {"code": [7], "label": ["x"]}),
            parquet_writer("pyarrow", "codes/b.parquet", {"key": [8], "label": ["y"]}),
        ),
    ),
    Case(
        "reference_malformed_row",
        text("p.csv", "id,name\n7,a\n"),
        ID_NAME,
        error=r"join 'codes': reference .*codes: file .*c\.csv has a malformed row: '8'",
        joins=[{"name": "codes", "format": "csv", "on": {"id": "code"}}],
        references=text("codes/c.csv", "code,label\n7,seven\n8\n"),
    ),
    Case(
        "reference_key_matches_exact_values_only",
        text("p.csv", "id,name\n7,a\n8,b\n"),
        ID_NAME,
        [
            {"id": 7, "name": "a", "codes_label": "seven"},
            {"id": 8, "name": "b", "codes_label": None},
        ],
        joins=[{"name": "codes", "format": "csv", "on": {"id": "code"}}],
        references=text("codes/c.csv", "code,label\n7.0,seven\n"),
    ),
]


def run_case(case: Case, root: Path, spark: SparkSession) -> None:
    batch = root / "incoming" / "b"
    case.files(batch, spark)
    if case.references is not None:
        case.references(root / "reference", spark)
    config = {"dataset": "corpus", "input": case.input, "joins": case.joins}
    argv = [
        "--pipeline_config",
        json.dumps(config),
        "--input_path",
        f"{batch}/",
        "--batch_id",
        "b",
        "--output_path",
        str(root / "curated"),
        "--reference_path",
        str(root / "reference"),
    ]
    assert job.main(argv) == 0


def rows(spark: SparkSession, folder: Path) -> list[dict[str, Any]]:
    found = [row.asDict() for row in spark.read.parquet(str(folder)).collect()]
    for row in found:
        for key, value in row.items():
            if hasattr(value, "isoformat"):
                row[key] = value.isoformat()
    return sorted(found, key=lambda row: json.dumps(row, sort_keys=True, default=str))


def same(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    def normal(value: Any) -> Any:
        return "NaN" if isinstance(value, float) and math.isnan(value) else value

    def key(row: dict[str, Any]) -> str:
        return json.dumps({k: normal(v) for k, v in row.items()}, sort_keys=True, default=str)

    return sorted(map(key, actual)) == sorted(map(key, expected))


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_case_has_its_expected_outcome(
    case: Case, tmp_path: Path, spark: SparkSession
) -> None:
    if case.error is not None:
        with pytest.raises(JobInputError, match=case.error):
            run_case(case, tmp_path, spark)
        assert not (tmp_path / "curated" / "corpus").exists()
        return
    run_case(case, tmp_path, spark)
    # Read the current run as a path reader does: through the report.
    report = json.loads((tmp_path / "curated" / "_reports" / "corpus" / "b.json").read_text())
    output = rows(spark, Path(report["output_path"]))
    assert same(output, case.output or []), output
    quarantine = spark.read.parquet(report["quarantine_path"])
    found = sorted((row["reject_reason"], row["raw_record"]) for row in quarantine.collect())
    assert found == sorted(case.quarantine)
    assert report["input_rows"] == len(output) + len(case.quarantine)
    assert report["input_count"]["records"] == report["input_rows"]
    assert report["input_count"]["checked_against_parse"] is True


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"schema": {"amount": "decimal(40,2)"}}, r"decimal\(40,2\) is out of bounds"),
        ({"schema": {"amount": "decimal(5,6)"}}, r"decimal\(5,6\) is out of bounds"),
        ({"schema": {"raw_record": "string"}}, r"'raw_record'\]: the name is reserved"),
        ({"schema": {"__matched_x": "string"}}, r"'__matched_x'\]: the name is reserved"),
        ({"schema": {"id": "int", "ID": "int"}}, r"differs from column 'id' only in case"),
        ({"schema": {"tags": "array<string>"}}, r"unknown type 'array<string>'"),
        ({"encoding": "utf-16"}, r"input\.encoding: unsupported encoding 'utf-16'"),
        ({"delimiter": ";;"}, r"input\.delimiter: must be one character"),
    ],
)
def test_config_refuses_what_spark_would_refuse(config: dict[str, Any], message: str) -> None:
    text_config = json.dumps({"dataset": "corpus", "input": {"format": "csv", **config}})
    argv = ["--pipeline_config", text_config, "--input_path", "x", "--batch_id", "b"]
    with pytest.raises(JobArgumentError, match=message):
        job.parse_arguments([*argv, "--output_path", "out"])


def test_config_file_in_a_bad_encoding_exits_2_with_a_message(tmp_path: Path) -> None:
    config = tmp_path / "pipeline.json"
    config.write_bytes('{"dataset": "caf\u00e9"}'.encode("cp1252"))
    done = subprocess.run(
        [
            sys.executable,
            str(JOB_SCRIPT),
            "--pipeline_config",
            str(config),
            "--input_path",
            "x",
            "--batch_id",
            "b",
            "--output_path",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "is not UTF-8 text: byte 0xe9 at offset 16" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_parse_that_loses_records_fails_the_batch_naming_the_file(
    tmp_path: Path, spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count is independent of the parse: put back Spark's own JSON reader, which keeps
    only the first object of a line (the bug this count exists for), and the batch fails."""
    from join_job import readers

    def spark_json_reader(spark: SparkSession, uris: list[str], spec: Any, columns: Any) -> Any:
        return spark.read.json(uris)

    monkeypatch.setattr(readers, "_read_json", spark_json_reader)
    firehose_file = text(
        "firehose-1",
        firehose(*({"id": i} for i in range(3))) + "\n" + firehose({"id": 3}, {"id": 4}),
    )
    case = Case("lossy", firehose_file, {"format": "json", "schema": {"id": "int"}})

    with pytest.raises(
        JobInputError, match=r"file .*/firehose-1 holds 5 records .* but the reader produced 2 rows"
    ):
        run_case(case, tmp_path, spark)
    assert not (tmp_path / "curated" / "corpus").exists()
