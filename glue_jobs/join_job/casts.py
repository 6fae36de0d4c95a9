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

    Text is converted with ``Column.cast``, which gives null for text that does not convert only
    while ``spark.sql.ansi.enabled`` is false (the job sets it: ``join_job.run._tune``); in ANSI
    mode such text would fail the run. Built from ``Column`` functions rather than SQL text:
    parsing SQL text kept the JIT compiling Spark's parser, which cost a 1e6-row run 0.9 s
    (bench/RESULTS.md, round 7).
    """
    value = sf.col(quoted(column))
    if source_type == target_type:
        return value
    if source_type.startswith(_COMPLEX) and target_type == "string":
        # A nested JSON or Parquet value under a string column: its JSON text, not Spark's
        # "{1, a}" rendering.
        return sf.to_json(value)
    if source_type != "string":
        # A typed value (Parquet): Spark's lenient casts between types truncate or wrap, so
        # try_cast (SQL text; Column.try_cast only arrives with Spark 4), kept when it converts
        # back to the same value.
        converted_sql = _try_cast_sql(quoted(column), target_type)
        back = sf.expr(_try_cast_sql(converted_sql, source_type))
        return sf.when(back.eqNullSafe(value), sf.expr(converted_sql))
    return _from_text(value, target_type)


def quoted(name: str) -> str:
    """``name`` as a SQL identifier."""
    return "`" + name.replace("`", "``") + "`"


def _from_text(text: Column, target_type: str) -> Column:
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
    value = text.cast(target_type)
    canonical = value.cast("string") == text
    if target_type in _FLOATING:
        # An integral number in a floating column ("2317"): the value's text is "2317.0".
        whole = (sf.abs(value) < sf.lit(1e15)) & (value == sf.floor(value))
        canonical = canonical | (whole & (value.cast("bigint").cast("string") == text))
    return sf.when(canonical, value).otherwise(checked)


def _checked_from_text(text: Column, target_type: str) -> Column:
    if target_type in _INTEGRAL:
        digits = sf.regexp_replace(sf.trim(text), _ZERO_FRACTION, "")
        return sf.when(text.rlike(_INTEGER_TEXT), digits.cast(target_type))
    if target_type in _FLOATING:
        number = text.cast(target_type)
        overflow = ~sf.isnan(number) & (sf.abs(number) == sf.lit(float("inf")))
        underflow = (number == sf.lit(0.0)) & text.rlike(_NONZERO_MANTISSA)
        invented = (overflow & ~text.rlike(_INFINITY_TEXT)) | underflow
        return sf.when(text.rlike(_FLOAT_TEXT) & ~invented, number)
    decimal = _DECIMAL.match(target_type)
    if decimal is not None:
        scale = int(decimal.group(2))
        # A non-zero digit after the first ``scale`` fractional digits would be rounded away.
        rounded = text.rlike(rf"\.\d{{{scale}}}\d*[1-9]")
        return sf.when(text.rlike(_DECIMAL_TEXT) & ~rounded, text.cast(target_type))
    if target_type == "date":
        return sf.when(text.rlike(_DATE_TEXT), text.cast(target_type))
    if target_type == "timestamp":
        return sf.when(text.rlike(_TIMESTAMP_TEXT), text.cast(target_type))
    # boolean: Spark's accepted spellings (true/false, t/f, yes/no, y/n, 1/0) are all exact.
    return text.cast(target_type)


def _try_cast_sql(sql: str, type_name: str) -> str:
    # try_cast gives null for a value that does not convert, whatever spark.sql.ansi.enabled
    # says (Column.try_cast only arrives with Spark 4, hence SQL text).
    return f"try_cast({sql} AS {type_name})"
