"""The pipeline config: what the dataset looks like and how it joins with reference data.

One JSON file the user edits (``config/pipeline.json``). This module is the only place that
parses and validates it, for all three of its readers: the CDK stack (at synth time), the local
runner, and the Glue job (which receives the file's JSON text as ``--pipeline_config``).

It lives inside the Glue job's package because that package is what ships to Glue; it is pure
standard library so the stack and the local runner can import it without Spark.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

InputFormat = Literal["csv", "json", "parquet"]
JoinType = Literal["left", "inner"]

INPUT_FORMATS: tuple[str, ...] = ("csv", "json", "parquet")
OUTPUT_FORMATS: tuple[str, ...] = ("parquet",)
JOIN_TYPES: tuple[str, ...] = ("left", "inner")

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
# Columns the job adds (quarantine, Spark's corrupt-record column) or uses internally (``__``).
RESERVED_COLUMNS: tuple[str, ...] = ("reject_reason", "raw_record", "_corrupt_record")
RESERVED_PREFIX = "__"
DEFAULT_ENCODING = "utf-8"
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


@dataclass(frozen=True)
class InputSpec:
    """How new batches are read. ``schema`` maps column name to Spark SQL type, in order.

    ``encoding`` is a Python codec name from :data:`TEXT_ENCODINGS` (CSV and JSON);
    ``delimiter`` the CSV field separator.
    """

    format: InputFormat
    schema: tuple[tuple[str, str], ...] | None = None
    encoding: str = DEFAULT_ENCODING
    delimiter: str = ","

    @property
    def java_encoding(self) -> str:
        """The charset name Spark's readers take for :attr:`encoding`."""
        return TEXT_ENCODINGS[self.encoding]


@dataclass(frozen=True)
class JoinSpec:
    """One join of the data so far with reference data set ``name``.

    ``on`` pairs (column of the data so far, column of the reference), in order.
    """

    name: str
    format: InputFormat
    on: tuple[tuple[str, str], ...]
    how: JoinType = "left"
    encoding: str = DEFAULT_ENCODING
    delimiter: str = ","

    @property
    def read_spec(self) -> InputSpec:
        """How the reference files are read: same options, same checks as a batch."""
        return InputSpec(format=self.format, encoding=self.encoding, delimiter=self.delimiter)

    @property
    def prefix(self) -> str:
        """Prefix of every column this join adds to the output."""
        return f"{self.name}_"


@dataclass(frozen=True)
class TuningSpec:
    """Spark tuning knobs; defaults suit batches from megabytes to tens of gigabytes."""

    broadcast_threshold_mb: int = 64
    target_partition_mb: int = 128


@dataclass(frozen=True)
class PipelineConfig:
    """The validated pipeline config."""

    dataset: str
    input: InputSpec
    joins: tuple[JoinSpec, ...]
    output_format: str = "parquet"
    tuning: TuningSpec = field(default_factory=TuningSpec)

    def to_json(self) -> str:
        """Compact JSON text of this config (schema column order kept), as passed to Glue."""
        return json.dumps(to_dict(self), separators=(",", ":"))


def to_dict(config: PipelineConfig) -> dict[str, Any]:
    """The config in its file form (``parse_pipeline_config(to_dict(c)) == c``)."""
    input_section: dict[str, Any] = {"format": config.input.format, **_text_options(config.input)}
    if config.input.schema is not None:
        input_section["schema"] = dict(config.input.schema)
    return {
        "dataset": config.dataset,
        "input": input_section,
        "joins": [
            {
                "name": j.name,
                "format": j.format,
                "on": dict(j.on),
                "how": j.how,
                **_text_options(j.read_spec),
            }
            for j in config.joins
        ],
        "output": {"format": config.output_format},
        "tuning": {
            "broadcast_threshold_mb": config.tuning.broadcast_threshold_mb,
            "target_partition_mb": config.tuning.target_partition_mb,
        },
    }


def _text_options(spec: InputSpec) -> dict[str, str]:
    # Only options that differ from the defaults, so a default config round-trips unchanged.
    options = {}
    if spec.encoding != DEFAULT_ENCODING:
        options["encoding"] = spec.encoding
    if spec.delimiter != ",":
        options["delimiter"] = spec.delimiter
    return options


def load_pipeline_config(path: str | Path) -> PipelineConfig:
    """Read and validate the pipeline config file at ``path`` (UTF-8 JSON)."""
    config_path = Path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except OSError as error:
        raise PipelineConfigError(
            f"cannot read pipeline config {config_path}: {error.strerror}"
        ) from error
    except UnicodeDecodeError as error:
        raise PipelineConfigError(
            f"pipeline config {config_path} is not UTF-8 text: byte "
            f"0x{error.object[error.start]:02x} at offset {error.start} does not decode; save "
            "it as UTF-8"
        ) from None
    return parse_pipeline_config_json(text, source=str(config_path))


def parse_pipeline_config_json(text: str, *, source: str = "pipeline config") -> PipelineConfig:
    """Validate the JSON text of a pipeline config (the Glue job's ``--pipeline_config``)."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise PipelineConfigError(
            f"{source} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error
    return parse_pipeline_config(raw)


def parse_pipeline_config(raw: object) -> PipelineConfig:
    """Validate a decoded pipeline config; raise PipelineConfigError naming the bad field."""
    top = _object(raw, "pipeline config")
    _no_unknown_keys(top, {"dataset", "input", "joins", "output", "tuning"}, "pipeline config")
    dataset = _name(_required(top, "dataset", "pipeline config"), "dataset")

    input_raw = _object(_required(top, "input", "pipeline config"), "input")
    _no_unknown_keys(input_raw, {"format", "schema", "encoding", "delimiter"}, "input")
    input_spec = InputSpec(
        format=_format(_required(input_raw, "format", "input"), "input.format", INPUT_FORMATS),
        schema=_schema(input_raw["schema"]) if "schema" in input_raw else None,
        encoding=_encoding(input_raw.get("encoding", DEFAULT_ENCODING), "input.encoding"),
        delimiter=_delimiter(input_raw.get("delimiter", ","), "input.delimiter"),
    )

    joins_raw = top.get("joins", [])
    if not isinstance(joins_raw, list):
        raise PipelineConfigError("joins must be a list of join objects")
    joins = tuple(_join(item, f"joins[{index}]") for index, item in enumerate(joins_raw))
    seen: set[str] = set()
    for index, join in enumerate(joins):
        if join.name in seen:
            raise PipelineConfigError(
                f"joins[{index}].name: duplicate reference name {join.name!r}"
            )
        seen.add(join.name)

    output_raw = _object(top.get("output", {"format": "parquet"}), "output")
    _no_unknown_keys(output_raw, {"format"}, "output")
    output_format = _format(output_raw.get("format", "parquet"), "output.format", OUTPUT_FORMATS)

    tuning_raw = _object(top.get("tuning", {}), "tuning")
    _no_unknown_keys(tuning_raw, {"broadcast_threshold_mb", "target_partition_mb"}, "tuning")
    tuning = TuningSpec(
        broadcast_threshold_mb=_non_negative_int(
            tuning_raw.get("broadcast_threshold_mb", TuningSpec.broadcast_threshold_mb),
            "tuning.broadcast_threshold_mb",
        ),
        target_partition_mb=_positive_int(
            tuning_raw.get("target_partition_mb", TuningSpec.target_partition_mb),
            "tuning.target_partition_mb",
        ),
    )
    return PipelineConfig(
        dataset=dataset,
        input=input_spec,
        joins=joins,
        output_format=output_format,
        tuning=tuning,
    )


def _join(raw: object, where: str) -> JoinSpec:
    item = _object(raw, where)
    _no_unknown_keys(item, {"name", "format", "on", "how", "encoding", "delimiter"}, where)
    name = _name(_required(item, "name", where), f"{where}.name")
    on_raw = _required(item, "on", where)
    if not isinstance(on_raw, dict) or not on_raw:
        raise PipelineConfigError(
            f"{where}.on: a join needs at least one key, as an object "
            '{"<column of the data>": "<column of the reference>"}'
        )
    on = tuple(
        (_column(left, f"{where}.on key"), _column(right, f"{where}.on[{left!r}]"))
        for left, right in on_raw.items()
    )
    how = item.get("how", "left")
    if how not in JOIN_TYPES:
        raise PipelineConfigError(
            f"{where}.how: unknown join type {how!r}; expected one of {', '.join(JOIN_TYPES)}"
        )
    return JoinSpec(
        name=name,
        format=_format(_required(item, "format", where), f"{where}.format", INPUT_FORMATS),
        on=on,
        how=cast(JoinType, how),
        encoding=_encoding(item.get("encoding", DEFAULT_ENCODING), f"{where}.encoding"),
        delimiter=_delimiter(item.get("delimiter", ","), f"{where}.delimiter"),
    )


def _schema(raw: object) -> tuple[tuple[str, str], ...]:
    schema = _object(raw, "input.schema")
    if not schema:
        raise PipelineConfigError("input.schema: must name at least one column, or be left out")
    columns: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for column, type_name in schema.items():
        _column(column, "input.schema column")
        if is_reserved_column(column):
            raise PipelineConfigError(
                f"input.schema[{column!r}]: the name is reserved for the job's own columns "
                f"({', '.join(RESERVED_COLUMNS)}, {RESERVED_PREFIX}*); rename the column"
            )
        if column.lower() in seen:
            raise PipelineConfigError(
                f"input.schema[{column!r}]: differs from column {seen[column.lower()]!r} only "
                "in case; columns are matched to the data ignoring case"
            )
        seen[column.lower()] = column
        if not isinstance(type_name, str):
            raise PipelineConfigError(f"input.schema[{column!r}]: type must be a string")
        columns.append((column, _spark_type(type_name.strip().lower(), column)))
    return tuple(columns)


def is_reserved_column(name: str) -> bool:
    """Whether ``name`` collides with a column the job adds or uses internally (any case)."""
    return name.lower() in RESERVED_COLUMNS or name.startswith(RESERVED_PREFIX)


def _spark_type(type_name: str, column: str) -> str:
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


def _encoding(raw: object, where: str) -> str:
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


def _delimiter(raw: object, where: str) -> str:
    if not isinstance(raw, str) or len(raw) != 1 or raw in '"\r\n':
        raise PipelineConfigError(
            f"{where}: must be one character other than a quote or a line break, got {raw!r}"
        )
    return raw


def _object(raw: object, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise PipelineConfigError(f"{where} must be a JSON object, got {type(raw).__name__}")
    return cast(dict[str, Any], raw)


def _required(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw:
        raise PipelineConfigError(f"{where}: missing required field {key!r}")
    return raw[key]


def _no_unknown_keys(raw: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise PipelineConfigError(
            f"{where}: unknown field {unknown[0]!r}; expected only {', '.join(sorted(allowed))}"
        )


def _name(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not _NAME.match(raw):
        raise PipelineConfigError(
            f"{where}: {raw!r} is not a valid name (lower-case letters, digits and _, "
            "starting with a letter, at most 63 characters)"
        )
    return raw


def _column(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not _COLUMN.match(raw):
        raise PipelineConfigError(f"{where}: {raw!r} is not a valid column name")
    return raw


def _format(raw: object, where: str, allowed: tuple[str, ...]) -> InputFormat:
    if raw not in allowed:
        raise PipelineConfigError(
            f"{where}: unknown format {raw!r}; expected one of {', '.join(allowed)}"
        )
    return cast(InputFormat, raw)


def _non_negative_int(raw: object, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise PipelineConfigError(f"{where}: must be a whole number >= 0, got {raw!r}")
    return raw


def _positive_int(raw: object, where: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0:
        raise PipelineConfigError(f"{where}: must be a whole number > 0, got {raw!r}")
    return raw
