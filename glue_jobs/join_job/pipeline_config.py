"""The pipeline config: what the dataset looks like and how it joins with reference data.

One JSON file the user edits (``config/pipeline.json``). This module is the only place that
parses and validates it, for all three of its readers: the CDK stack (at synth time), the local
runner, and the Glue job (which receives the file's JSON text as ``--pipeline_config``).

It lives inside the Glue job's package because that package is what ships to Glue; it is pure
standard library so the stack and the local runner can import it without Spark.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from join_job import config_fields as fields

# Re-exported: the stack, the local runner and the job import them from here.
from join_job.config_fields import TEXT_ENCODINGS as TEXT_ENCODINGS
from join_job.config_fields import InputFormat as InputFormat
from join_job.config_fields import PipelineConfigError as PipelineConfigError

JoinType = Literal["left", "inner"]

INPUT_FORMATS: tuple[str, ...] = ("csv", "json", "parquet")
OUTPUT_FORMATS: tuple[str, ...] = ("parquet",)
JOIN_TYPES: tuple[str, ...] = ("left", "inner")

# Columns the job adds (quarantine, Spark's corrupt-record column) or uses internally (``__``).
RESERVED_COLUMNS: tuple[str, ...] = ("reject_reason", "raw_record", "_corrupt_record")
RESERVED_PREFIX = "__"
DEFAULT_ENCODING = "utf-8"


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
    top = fields.json_object(raw, "pipeline config")
    fields.no_unknown_keys(
        top, {"dataset", "input", "joins", "output", "tuning"}, "pipeline config"
    )
    dataset = fields.name(fields.required(top, "dataset", "pipeline config"), "dataset")

    input_raw = fields.json_object(fields.required(top, "input", "pipeline config"), "input")
    fields.no_unknown_keys(input_raw, {"format", "schema", "encoding", "delimiter"}, "input")
    input_spec = InputSpec(
        format=fields.data_format(
            fields.required(input_raw, "format", "input"), "input.format", INPUT_FORMATS
        ),
        schema=_schema(input_raw["schema"]) if "schema" in input_raw else None,
        encoding=fields.encoding(input_raw.get("encoding", DEFAULT_ENCODING), "input.encoding"),
        delimiter=fields.delimiter(input_raw.get("delimiter", ","), "input.delimiter"),
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

    output_raw = fields.json_object(top.get("output", {"format": "parquet"}), "output")
    fields.no_unknown_keys(output_raw, {"format"}, "output")
    output_format = fields.data_format(
        output_raw.get("format", "parquet"), "output.format", OUTPUT_FORMATS
    )

    tuning_raw = fields.json_object(top.get("tuning", {}), "tuning")
    fields.no_unknown_keys(tuning_raw, {"broadcast_threshold_mb", "target_partition_mb"}, "tuning")
    tuning = TuningSpec(
        broadcast_threshold_mb=fields.non_negative_int(
            tuning_raw.get("broadcast_threshold_mb", TuningSpec.broadcast_threshold_mb),
            "tuning.broadcast_threshold_mb",
        ),
        target_partition_mb=fields.positive_int(
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
    item = fields.json_object(raw, where)
    fields.no_unknown_keys(item, {"name", "format", "on", "how", "encoding", "delimiter"}, where)
    name = fields.name(fields.required(item, "name", where), f"{where}.name")
    on_raw = fields.required(item, "on", where)
    if not isinstance(on_raw, dict) or not on_raw:
        raise PipelineConfigError(
            f"{where}.on: a join needs at least one key, as an object "
            '{"<column of the data>": "<column of the reference>"}'
        )
    on = tuple(
        (fields.column(left, f"{where}.on key"), fields.column(right, f"{where}.on[{left!r}]"))
        for left, right in on_raw.items()
    )
    how = item.get("how", "left")
    if how not in JOIN_TYPES:
        raise PipelineConfigError(
            f"{where}.how: unknown join type {how!r}; expected one of {', '.join(JOIN_TYPES)}"
        )
    return JoinSpec(
        name=name,
        format=fields.data_format(
            fields.required(item, "format", where), f"{where}.format", INPUT_FORMATS
        ),
        on=on,
        how=cast(JoinType, how),
        encoding=fields.encoding(item.get("encoding", DEFAULT_ENCODING), f"{where}.encoding"),
        delimiter=fields.delimiter(item.get("delimiter", ","), f"{where}.delimiter"),
    )


def _schema(raw: object) -> tuple[tuple[str, str], ...]:
    schema = fields.json_object(raw, "input.schema")
    if not schema:
        raise PipelineConfigError("input.schema: must name at least one column, or be left out")
    columns: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for column, type_name in schema.items():
        fields.column(column, "input.schema column")
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
        columns.append((column, fields.spark_type(type_name.strip().lower(), column)))
    return tuple(columns)


def is_reserved_column(name: str) -> bool:
    """Whether ``name`` collides with a column the job adds or uses internally (any case)."""
    return name.lower() in RESERVED_COLUMNS or name.startswith(RESERVED_PREFIX)
