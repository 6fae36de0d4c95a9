"""Checks of single pipeline-config fields (:mod:`join_job.pipeline_config` composes them).

Each takes the raw JSON value and ``where`` (the field's path, for the message) and returns the
value as the job uses it, or raises :class:`PipelineConfigError` naming the field. Pure standard
library, like the config module.
"""

from __future__ import annotations

import codecs
import re
from typing import Any, Literal, cast

InputFormat = Literal["csv", "json", "parquet"]

# Spark SQL type names accepted in ``input.schema`` (a DDL type string per column).
_SIMPLE_TYPES = (
    "string",
    "boolean",
    "tinyint",
    "smallint",
    "int",
    "integer",
    "bigint",
    "long",
    "float",
    "double",
    "date",
    "timestamp",
)
_SPARK_NAMES = {"integer": "int", "long": "bigint"}
_DECIMAL_TYPE = re.compile(r"^decimal\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$")
# Spark's DecimalType: precision 1..38, scale 0..precision.
MAX_DECIMAL_PRECISION = 38
# Text encodings the readers support: byte-oriented, ASCII-compatible ones, where a line break
# is the byte 0x0A (UTF-16/32 would need a different record split). Python codec name -> the
# Java charset name Spark uses.
TEXT_ENCODINGS: dict[str, str] = {
    "utf-8": "UTF-8",
    "ascii": "US-ASCII",
    "latin-1": "ISO-8859-1",
    "iso8859-15": "ISO-8859-15",
    "cp1250": "windows-1250",
    "cp1251": "windows-1251",
    "cp1252": "windows-1252",
}
# Names end up in S3 prefixes, Glue table names and Spark column names.
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class PipelineConfigError(ValueError):
    """The pipeline config is invalid; the message names the field at fault."""


def spark_type(type_name: str, column: str) -> str:
    """``type_name`` if every value can be cast to it from text, else a PipelineConfigError."""
    if type_name in _SIMPLE_TYPES:
        # As Spark names the type (DataFrame.dtypes), which the parse's types are compared with.
        return _SPARK_NAMES.get(type_name, type_name)
    decimal = _DECIMAL_TYPE.match(type_name)
    if decimal is None:
        raise PipelineConfigError(
            f"input.schema[{column!r}]: unknown type {type_name!r}; expected one of "
            f"{', '.join(_SIMPLE_TYPES)} or decimal(p,s)"
        )
    precision, scale = int(decimal.group(1)), int(decimal.group(2))
    if not 1 <= precision <= MAX_DECIMAL_PRECISION or scale > precision:
        raise PipelineConfigError(
            f"input.schema[{column!r}]: {type_name} is out of bounds: Spark decimals have a "
            f"precision of 1 to {MAX_DECIMAL_PRECISION} and a scale of 0 to the precision"
        )
    return f"decimal({precision},{scale})"


def encoding(raw: object, where: str) -> str:
    if not isinstance(raw, str):
        raise PipelineConfigError(f"{where}: must be a string such as 'utf-8'")
    try:
        name = codecs.lookup(raw).name
    except LookupError:
        name = ""
    # Aliases of supported encodings (a UTF-8 BOM is skipped by the readers either way).
    name = {"iso8859-1": "latin-1", "utf-8-sig": "utf-8"}.get(name, name)
    if name not in TEXT_ENCODINGS:
        raise PipelineConfigError(
            f"{where}: unsupported encoding {raw!r}; expected one of "
            f"{', '.join(TEXT_ENCODINGS)} (UTF-16/32 files: convert them to UTF-8)"
        )
    return name


def delimiter(raw: object, where: str) -> str:
    if not isinstance(raw, str) or len(raw) != 1 or raw in '"\r\n':
        raise PipelineConfigError(
            f"{where}: must be one character other than a quote or a line break, got {raw!r}"
        )
    return raw


def json_object(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise PipelineConfigError(f"{where} must be a JSON object, got {type(raw).__name__}")
    return cast(dict[str, Any], raw)


def required(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw:
        raise PipelineConfigError(f"{where}: missing required field {key!r}")
    return raw[key]


def no_unknown_keys(raw: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise PipelineConfigError(
            f"{where}: unknown field {unknown[0]!r}; expected only {', '.join(sorted(allowed))}"
        )


def name(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not _NAME.match(raw):
        raise PipelineConfigError(
            f"{where}: {raw!r} is not a valid name (lower-case letters, digits and _, "
            "starting with a letter, at most 63 characters)"
        )
    return raw


def column(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not _COLUMN.match(raw):
        raise PipelineConfigError(f"{where}: {raw!r} is not a valid column name")
    return raw


def data_format(raw: object, where: str, allowed: tuple[str, ...]) -> InputFormat:
    if raw not in allowed:
        raise PipelineConfigError(
            f"{where}: unknown format {raw!r}; expected one of {', '.join(allowed)}"
        )
    return cast(InputFormat, raw)


def non_negative_int(raw: object, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise PipelineConfigError(f"{where}: must be a whole number >= 0, got {raw!r}")
    return raw


def positive_int(raw: object, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise PipelineConfigError(f"{where}: must be a whole number > 0, got {raw!r}")
    return raw
