"""Strict conversions to the configured column types: a value converts only when it is exact.

Spark's own casts are lenient: ``'1.005'`` becomes ``1.01`` in ``decimal(5,2)``, ``'2026'`` the
date 2026-01-01, ``'2026-01-02 garbage'`` 2026-01-02, ``'1e400'`` infinity, and a double 1.5
becomes the int 1. :func:`strict_cast` gives null instead (the caller turns that into
``schema_mismatch:<column>``), so nothing is truncated, rounded or invented:

- text to an integer type: an integer, optionally with a zero fraction (``1.0``, as pandas
  writes integers of a column with gaps), within the type's range;
- text to a decimal: plain notation, no significant digit beyond the scale, within precision;
- text to ``float``/``double``: a number (``1.5``, ``-2e-3``) or ``NaN``/``Infinity``; finite
  text that overflows to infinity or underflows to zero is rejected;
- text to ``date``: ``yyyy-MM-dd``, the whole string; to ``timestamp``: ``yyyy-MM-dd``
  optionally followed by ``[T ]HH:mm[:ss[.ffffff]]`` and a zone (``Z``, ``+hh:mm``), nothing more
  (more than 6 fractional digits would be truncated to microseconds);
- a typed value (Parquet) to another type: only when converting back gives the same value.

Surrounding spaces are allowed around numbers (Spark trims them), nowhere else.
"""

from __future__ import annotations

import re

from pyspark.sql import Column
from pyspark.sql import functions as sf

_INTEGRAL = ("tinyint", "smallint", "int", "integer", "bigint", "long")
_FLOATING = ("float", "double")
_DECIMAL = re.compile(r"^decimal\((\d+),(\d+)\)$")
_COMPLEX = ("struct<", "array<", "map<")

_INTEGER_TEXT = r"^\s*[+-]?\d+(\.0*)?\s*$"
_ZERO_FRACTION = r"\.0*$"
_DECIMAL_TEXT = r"^\s*[+-]?(\d+\.?\d*|\.\d+)\s*$"
_FLOAT_TEXT = r"(?i)^\s*[+-]?((\d+\.?\d*|\.\d+)(e[+-]?\d+)?|inf|infinity|nan)\s*$"
_INFINITY_TEXT = r"(?i)^\s*[+-]?(inf|infinity)\s*$"
_NONZERO_MANTISSA = r"(?i)^\s*[+-]?[0-9.]*[1-9]"
_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"
_TIMESTAMP_TEXT = (
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)


def strict_cast(column: str, source_type: str, target_type: str) -> Column:
    """Column ``column`` (of Spark SQL type ``source_type``) as ``target_type``, or null if not
    exact. A null value gives null too; callers tell the two apart with ``isNotNull()``.
    """
    return sf.expr(strict_cast_sql(column, source_type, target_type))


def strict_cast_sql(column: str, source_type: str, target_type: str) -> str:
    """:func:`strict_cast` as SQL text, so that a projection of many conversions reaches the JVM
    in one call (``selectExpr``) instead of a Py4J round trip per function (about 150 for ten
    columns). Planning it is the JVM's own work, slow only while the JVM is cold
    (bench/RESULTS.md, round 6).
    """
    value = quoted(column)
    if source_type == target_type:
        return value
    if source_type.startswith(_COMPLEX) and target_type == "string":
        # A nested JSON or Parquet value under a string column: its JSON text, not Spark's
        # "{1, a}" rendering.
        return f"to_json({value})"
    if source_type != "string":
        converted = _try_cast(value, target_type)
        back = _try_cast(converted, source_type)
        return f"CASE WHEN ({back}) <=> {value} THEN {converted} END"
    return _from_text(value, target_type)


def quoted(name: str) -> str:
    """``name`` as a SQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def literal(text: str) -> str:
    """``text`` as a SQL string literal (Spark unescapes backslashes in literals)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _from_text(text: str, target_type: str) -> str:
    if target_type == "string":
        return text
    checked = _checked_from_text(text, target_type)
    if target_type not in _INTEGRAL + _FLOATING:
        # Booleans, decimals, dates and timestamps take the pattern check alone. For dates and
        # timestamps, formatting the value to compare it with its text cost more than the
        # pattern check (bench/RESULTS.md, round 4: a date column over 3M rows 3.01 s against
        # 2.86 s; R's "2013-01-01T10:00:00Z", which never matches Spark's own text, 2.8 s
        # against 2.1 s).
        return checked
    # The usual number is written as Spark itself writes the type ("42", "-9.2"): such text
    # converts exactly, and comparing it with the value's own text is cheaper than the pattern
    # checks, which then run only for the other spellings (bench/RESULTS.md: bigint over 3M rows
    # 2.5 s against 3.1 s).
    value = _try_cast(text, target_type)
    canonical = f"(CAST({value} AS STRING) = {text})"
    if target_type in _FLOATING:
        # An integral number in a floating column ("2317"): the value's text is "2317.0".
        whole = f"(abs({value}) < 1.0E15D AND {value} = floor({value}))"
        integral_text = f"CAST(CAST({value} AS BIGINT) AS STRING) = {text}"
        canonical = f"({canonical} OR ({whole} AND {integral_text}))"
    return f"CASE WHEN {canonical} THEN {value} ELSE {checked} END"


def _checked_from_text(text: str, target_type: str) -> str:
    if target_type in _INTEGRAL:
        digits = f"regexp_replace(trim({text}), {literal(_ZERO_FRACTION)}, '')"
        converted = _try_cast(digits, target_type)
        return f"CASE WHEN {_matches(text, _INTEGER_TEXT)} THEN {converted} END"
    if target_type in _FLOATING:
        number = _try_cast(text, target_type)
        overflow = f"(NOT isnan({number}) AND abs({number}) = CAST('Infinity' AS DOUBLE))"
        underflow = f"({number} = 0.0D AND {_matches(text, _NONZERO_MANTISSA)})"
        invented = f"(({overflow} AND NOT {_matches(text, _INFINITY_TEXT)}) OR {underflow})"
        return f"CASE WHEN {_matches(text, _FLOAT_TEXT)} AND NOT {invented} THEN {number} END"
    decimal = _DECIMAL.match(target_type)
    if decimal is not None:
        scale = int(decimal.group(2))
        # A non-zero digit after the first ``scale`` fractional digits would be rounded away.
        rounded = _matches(text, rf"\.\d{{{scale}}}\d*[1-9]")
        converted = _try_cast(text, target_type)
        return f"CASE WHEN {_matches(text, _DECIMAL_TEXT)} AND NOT {rounded} THEN {converted} END"
    if target_type == "date":
        return f"CASE WHEN {_matches(text, _DATE_TEXT)} THEN {_try_cast(text, target_type)} END"
    if target_type == "timestamp":
        pattern = _matches(text, _TIMESTAMP_TEXT)
        return f"CASE WHEN {pattern} THEN {_try_cast(text, target_type)} END"
    # boolean: Spark's accepted spellings (true/false, t/f, yes/no, y/n, 1/0) are all exact.
    return _try_cast(text, target_type)


def _matches(text: str, pattern: str) -> str:
    return f"({text} RLIKE {literal(pattern)})"


def _try_cast(sql: str, type_name: str) -> str:
    # try_cast gives null for a value that does not convert, whatever spark.sql.ansi.enabled
    # says (Column.try_cast only arrives with Spark 4, hence SQL text).
    return f"try_cast({sql} AS {type_name})"
