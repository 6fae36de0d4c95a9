"""Splitting JSON files into records: JSON lines, concatenated objects, a top-level array.

Kinesis Data Firehose writes records back to back with no separator (``{...}{...}``), exporters
write one object per line or one array; Spark's JSON reader keeps only the first object of a
line. These pure functions run in Spark's Python workers, one file at a time (see
:mod:`join_job.readers`). Values keep their exact text: numbers are not parsed into floats,
nested objects and arrays become compact JSON text, so the typed cast that follows decides
exactness (:mod:`join_job.casts`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

# Python's decoder also accepts NaN, Infinity and -Infinity; their text is kept like a number's.
_WHITESPACE = re.compile(r"[ \t\r\n]*")


class _Object(list[tuple[str, object]]):
    """An object's (key, value) pairs in file order (duplicates kept, so they can be seen)."""


class _Number(str):
    """A JSON number (or NaN/Infinity) as its literal text."""


def _decoder() -> json.JSONDecoder:
    # Built per file, not at import: a decoder holds a C scanner, which cannot be pickled for
    # Spark's workers.
    return json.JSONDecoder(
        object_pairs_hook=_Object, parse_float=_Number, parse_int=_Number, parse_constant=_Number
    )


@dataclass(frozen=True)
class JsonRecord:
    """One record of a file: its raw text and, if it is a JSON object, its fields as text."""

    raw: str
    fields: tuple[tuple[str, str | None], ...] | None


def records(text: str) -> Iterator[JsonRecord]:
    """The records in ``text`` (a whole file, decoded with ``errors="surrogateescape"``).

    A record that is not a JSON object, or does not parse, or holds bytes the encoding could not
    decode, comes back with ``fields=None`` and its raw text up to the end of its line; reading
    continues on the next line.
    """
    decoder = _decoder()
    position = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text.startswith("[", position):
        yield from _array(decoder, text, position + 1)
        return
    while position < len(text):
        record, position = _one(decoder, text, position)
        yield record
        position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]


def _one(decoder: json.JSONDecoder, text: str, position: int) -> tuple[JsonRecord, int]:
    try:
        value, end = decoder.raw_decode(text, position)
    except json.JSONDecodeError:
        end = text.find("\n", position)
        end = len(text) if end < 0 else end
        return JsonRecord(raw=text[position:end], fields=None), end
    raw = text[position:end]
    if not isinstance(value, _Object) or _has_undecodable(raw):
        return JsonRecord(raw=raw, fields=None), end
    return JsonRecord(raw=raw, fields=tuple((key, as_text(item)) for key, item in value)), end


def _array(decoder: json.JSONDecoder, text: str, position: int) -> Iterator[JsonRecord]:
    while True:
        position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
        if text.startswith("]", position) or position >= len(text):
            return
        record, position = _one(decoder, text, position)
        yield record
        position = _WHITESPACE.match(text, position).end()  # type: ignore[union-attr]
        if text.startswith(",", position):
            position += 1


def _has_undecodable(raw: str) -> bool:
    # surrogateescape turns each byte the encoding could not decode into U+DC80..U+DCFF.
    return any("\udc80" <= char <= "\udcff" for char in raw)


def as_text(value: object) -> str | None:
    """A field's value as text: strings as they are, numbers as written, the rest as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return str(value)
    return compact_json(value)


def compact_json(value: object) -> str:
    """``value`` as compact JSON, numbers exactly as they were written."""
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, _Object):
        return "{" + ",".join(f"{_string(k)}:{compact_json(v)}" for k, v in value) + "}"
    if isinstance(value, list):
        return "[" + ",".join(compact_json(item) for item in value) + "]"
    if isinstance(value, str):
        return _string(value)
    return json.dumps(value)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]]')


def count_values(text: str) -> int:
    """Records in ``text`` counted by bracket depth, line by line, without parsing values.

    Objects opened at the top level (or directly inside a top-level array) count one each; a
    line that starts a new top-level object at its first column while an earlier one is still
    open ends the broken one (JSON lines with a truncated line); a top-level line that does not
    start with a bracket is one (malformed) record. This is the job's independent count: it
    agrees with :func:`records` on well-formed files and on JSON lines with broken lines, and
    disagrees (failing the batch) where the parse would merge or split records.
    """
    depth = 0
    count = 0
    top = 0  # depth of the records: 1 inside a top-level array
    first_line = True
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if first_line and stripped.startswith("["):
            top = 1
        elif line.startswith(("{", "[")) and depth > top:
            depth = top  # the previous record never closed: it ended with its line
        elif depth == top and stripped[0] not in "{[]," and not (top and stripped[0] == "]"):
            count += 1  # not JSON at all: one malformed record, as the parse sees it
            first_line = False
            continue
        first_line = False
        for match in _STRUCTURE.finditer(line):
            bracket = match.group()
            if bracket[0] == '"':
                continue  # a string: brackets inside it do not count
            if bracket in "{[":
                if depth == top:
                    count += 1  # an object, or an array where an object belongs (malformed)
                depth += 1
            else:
                depth = max(0, depth - 1)
    return count
