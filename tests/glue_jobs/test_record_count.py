"""The independent count and the JSON record splitter as pure functions (no Spark)."""

from __future__ import annotations

import json

import pytest

from join_job.json_records import count_values, records
from join_job.record_count import _count_file, csv_records


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"id,name\n1,a\n2,b\n", 3),
        (b"id,name\r\n1,a\r\n\r\n\r\n", 2),  # blank lines are not records
        (b"id,name\n1,a", 2),  # no line break after the last record
        (b'id,name\n1,"say ""hi"""\n2,"two\nlines"\n', 3),  # doubled quotes, embedded newline
        (b'id,name\n1,"a\r\n\r\nb"\n', 2),  # a blank line inside a quoted field
        (b'id,name\n1,5" screen\n2,x\n', 3),  # a quote inside an unquoted field is text
        (b'"id","name"\n"1","2"\n', 2),
        (b'id,name\n1,"never closed\n2,b\n', -1),
    ],
)
def test_csv_records_counts_line_breaks_outside_quoted_fields(data: bytes, expected: int) -> None:
    assert csv_records(data) == expected


def test_csv_records_uses_the_configured_delimiter() -> None:
    assert csv_records(b'a;b\r\n1;"x;\r\ny"\r\n', b";") == 2


@pytest.mark.parametrize(
    ("data", "spans_lines"),
    [
        (b"id,name\n1,a\n", False),
        (b'id,name\n1,"a, b"\n2,"say ""hi"""\n', False),  # Excel and pandas quote like this
        (b'id,name\r\n1,"a, b"\r\n\r\n', False),  # CRLF and a blank line
        (b'id,name\n1,5" screen\n2,x\n', False),  # a quote inside an unquoted field is text
        (b'id,name\n1,"two\nlines"\n', True),
        (b'id,name\n1,"a\r"\n', True),  # Spark's line reader ends a line at a lone CR too
        (b'id,name\n1,"\n"\n', True),
    ],
)
def test_the_count_tells_whether_a_record_spans_lines(data: bytes, spans_lines: bool) -> None:
    """A file whose records each sit on one line may be split between tasks (readers)."""
    assert _count_file("f.csv", data, "csv", "utf-8", ",").spans_lines is spans_lines


@pytest.mark.parametrize(
    ("text", "raws"),
    [
        ('{"a":1}{"a":2}\n{"a":3}', ['{"a":1}', '{"a":2}', '{"a":3}']),  # Firehose
        ('[{"a":1},\n {"a":2}]', ['{"a":1}', '{"a":2}']),  # a top-level array
        ('{\n  "a": 1\n}\n{\n  "a": 2\n}\n', ['{\n  "a": 1\n}', '{\n  "a": 2\n}']),
        ('{"a":1}\n{"a": 2,\n{"a":3}\n', ['{"a":1}', '{"a": 2,', '{"a":3}']),  # broken line
        ('{"a":1}\nhello\n[1, 2]\n', ['{"a":1}', "hello", "[1, 2]"]),  # not objects
        ('{"a":"}{"}', ['{"a":"}{"}']),  # brackets inside strings
    ],
)
def test_json_records_and_the_independent_count_agree(text: str, raws: list[str]) -> None:
    found = list(records(text))
    assert [record.raw for record in found] == raws
    assert count_values(text) == len(raws)


def test_json_values_keep_their_exact_text() -> None:
    text = '{"n": 1.50, "big": 1e400, "nan": NaN, "t": true, "z": null, "o": {"x": [1, 2.0]}}'
    [record] = records(text)
    assert dict(record.fields or ()) == {
        "n": "1.50",
        "big": "1e400",
        "nan": "NaN",
        "t": "true",
        "z": None,
        "o": '{"x":[1,2.0]}',
    }


def test_json_record_with_an_undecodable_byte_is_malformed() -> None:
    text = b'{"name": "caf\xe9"}'.decode("utf-8", errors="surrogateescape")
    [record] = records(text)
    assert record.fields is None
    assert json.loads(json.dumps(record.raw)) == record.raw
