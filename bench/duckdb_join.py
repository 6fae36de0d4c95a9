"""The floor: the same joins in DuckDB, in-process, on the same files (2 threads).

Reads the input with the config's schema (no inference), joins the references with the same
``<name>_`` column naming and writes one snappy Parquet partition, as the job's output.

    python -m bench.duckdb_join --config C --input DIR --reference DIR --output DIR --batch-id ID
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import duckdb

from join_job.pipeline_config import load_pipeline_config

_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "long": "BIGINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for name in ("--config", "--input", "--reference", "--output", "--batch-id"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    config = load_pipeline_config(args.config)
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    source = _scan(config.input.format, f"{args.input}/*", config.input.schema)
    select = ["d.*"]
    joins = []
    for index, join in enumerate(config.joins):
        alias = f"r{index}"
        table = _scan(join.format, f"{args.reference}/{join.name}/*", None)
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {table}").fetchall()]
        keys = dict(join.on)
        select += [f'{alias}."{c}" AS "{join.name}_{c}"' for c in columns if c not in keys.values()]
        condition = " AND ".join(f'd."{left}" = {alias}."{right}"' for left, right in keys.items())
        joins.append(f"{join.how.upper()} JOIN {table} {alias} ON {condition}")
    target = Path(args.output) / config.dataset / f"batch_id={args.batch_id}"
    target.mkdir(parents=True, exist_ok=True)
    query = f"SELECT {', '.join(select)} FROM {source} d {' '.join(joins)}"
    con.execute(
        f"COPY ({query}) TO '{target / 'part-0.parquet'}' (FORMAT parquet, COMPRESSION snappy)"
    )


def _scan(data_format: str, pattern: str, schema: tuple[tuple[str, str], ...] | None) -> str:
    if data_format == "parquet":
        return f"read_parquet('{pattern}')"
    if data_format == "json":
        return f"read_json_auto('{pattern}', format='newline_delimited')"
    if schema is None:
        return f"read_csv_auto('{pattern}', header=true)"
    columns = ", ".join(f"'{name}': '{_TYPES.get(kind, 'VARCHAR')}'" for name, kind in schema)
    # ignore_errors: the job quarantines bad rows; DuckDB skips them, the nearest equivalent.
    return f"read_csv('{pattern}', header=true, columns={{{columns}}}, ignore_errors=true)"


if __name__ == "__main__":
    main()
