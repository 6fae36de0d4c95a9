"""Generated sample data for the demo and the benchmarks: flights joined with airlines, planes and
airports (the shipped ``config/pipeline.json``).

Deterministic for a seed, streamed to disk (memory stays flat at any row count), and small in the
repository: only this generator is committed, never its output.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

DEFAULT_SEED = 20261120
BATCH_HEADER = (
    "flight_id",
    "flight_date",
    "carrier",
    "flight_number",
    "tailnum",
    "origin",
    "dest",
    "dep_delay",
    "arr_delay",
    "distance",
)
AIRLINES = {
    "AA": "American Airlines",
    "AS": "Alaska Airlines",
    "B6": "JetBlue Airways",
    "DL": "Delta Air Lines",
    "F9": "Frontier Airlines",
    "HA": "Hawaiian Airlines",
    "NK": "Spirit Airlines",
    "UA": "United Air Lines",
    "WN": "Southwest Airlines",
}
# Flown in the batches but absent from the airlines reference: left-joined with empty names.
UNLISTED_CARRIERS = ("XE", "9E")
PLANE_COUNT = 4000
AIRPORT_COUNT = 300
MANUFACTURERS = ("BOEING", "AIRBUS", "EMBRAER", "BOMBARDIER")
# One in this many rows of a batch with defects is bad, cycling through the kinds below.
DEFECT_EVERY = 50
DEFECT_KINDS = ("malformed", "bad_number", "no_destination", "unknown_airport", "bad_date")


def airport_codes(count: int = AIRPORT_COUNT) -> list[str]:
    """Three-letter codes, deterministic (``AAA``, ``AAB``, ...)."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return [letters[i // 676 % 26] + letters[i // 26 % 26] + letters[i % 26] for i in range(count)]


def tail_numbers(count: int = PLANE_COUNT) -> list[str]:
    return [f"N{100 + i}{'ABCDEFGHJK'[i % 10]}" for i in range(count)]


def write_reference(reference_dir: Path, *, seed: int = DEFAULT_SEED) -> None:
    """``airlines/`` (CSV), ``planes/`` (Parquet, written with local Spark), ``airports/`` (CSV)."""
    rng = random.Random(seed)  # noqa: S311  (sample data, not secrets)
    _write_csv(
        reference_dir / "airlines" / "airlines.csv",
        ("carrier", "name"),
        sorted(AIRLINES.items()),
    )
    _write_csv(
        reference_dir / "airports" / "airports.csv",
        ("faa", "name", "lat", "lon", "tz"),
        (
            (
                code,
                f"{code.title()} Regional Airport",
                f"{rng.uniform(25, 49):.4f}",
                f"{rng.uniform(-124, -67):.4f}",
                str(rng.choice((-5, -6, -7, -8))),
            )
            for code in airport_codes()
        ),
    )
    planes = [
        (tail, rng.randint(1985, 2025), rng.choice(MANUFACTURERS), rng.choice((76, 150, 180, 220)))
        for tail in tail_numbers()
    ]
    _write_planes_parquet(reference_dir / "planes", planes)


def write_batch(
    incoming_dir: Path,
    batch_id: str,
    *,
    rows: int,
    seed: int = DEFAULT_SEED,
    defects: bool = False,
    files: int = 1,
) -> Path:
    """``incoming/<batch_id>/part-NNNNN.csv``: ``rows`` flights split over ``files`` files.

    Without ``defects`` every row is valid and matches every inner join. With ``defects`` one
    row in :data:`DEFECT_EVERY` is bad in one of :data:`DEFECT_KINDS` ways, so the quarantine
    has every reason.
    """
    batch_dir = incoming_dir / batch_id
    batch_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"{seed}:{batch_id}")  # noqa: S311
    lines = _flight_lines(rng, rows, defects=defects, first_day=_first_day(batch_id))
    per_file = -(-rows // files)
    for part in range(files):
        count = min(per_file, rows - part * per_file)
        with (batch_dir / f"part-{part:05d}.csv").open("w", encoding="utf-8") as handle:
            handle.write(",".join(BATCH_HEADER) + "\n")
            handle.writelines(next(lines) for _ in range(max(count, 0)))
    return batch_dir


def _flight_lines(
    rng: random.Random, rows: int, *, defects: bool, first_day: date
) -> Iterator[str]:
    carriers = [*AIRLINES, *UNLISTED_CARRIERS]
    # Tail numbers outside the planes reference exist too (left join, empty plane columns).
    tails = [*tail_numbers(), "N0000X", "N0001X"]
    airports = airport_codes()
    day = first_day.isoformat()
    for index in range(rows):
        origin, dest = rng.sample(airports, 2)
        dep_delay = round(rng.gauss(8, 25), 1)
        fields = [
            str(index + 1),
            day,
            rng.choice(carriers),
            str(rng.randint(1, 6999)),
            rng.choice(tails),
            origin,
            dest,
            str(dep_delay),
            str(round(dep_delay + rng.gauss(-3, 12), 1)),
            str(rng.randint(80, 2700)),
        ]
        if defects and index % DEFECT_EVERY == DEFECT_EVERY - 1:
            kind = DEFECT_KINDS[(index // DEFECT_EVERY) % len(DEFECT_KINDS)]
            fields = _defect(kind, fields)
        yield ",".join(fields) + "\n"


def _defect(kind: str, fields: list[str]) -> list[str]:
    bad = list(fields)
    if kind == "malformed":
        return bad[:4]  # a truncated line
    if kind == "bad_number":
        bad[7] = "N/A"
    elif kind == "no_destination":
        bad[6] = ""
    elif kind == "unknown_airport":
        bad[6] = "ZZZ"
    elif kind == "bad_date":
        bad[1] = "2026-13-45"
    return bad


def _first_day(batch_id: str) -> date:
    try:
        return date.fromisoformat(batch_id[:10])
    except ValueError:
        return date(2026, 11, 20)


def _write_csv(path: Path, header: tuple[str, ...], rows: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)  # type: ignore[arg-type]


def _write_planes_parquet(folder: Path, planes: list[tuple[str, int, str, int]]) -> None:
    from pyspark.sql import SparkSession

    from etl_local.spark import local_spark_session

    existing = SparkSession.getActiveSession()
    spark = existing or local_spark_session()
    try:
        frame = spark.createDataFrame(
            planes, "tailnum string, year int, manufacturer string, seats int"
        )
        frame.coalesce(1).write.mode("overwrite").parquet(str(folder))
        # Keep only the data file, as a reference uploaded by hand would be: other engines
        # (the DuckDB baseline) do not skip Spark's _SUCCESS and .crc files.
        for path in folder.iterdir():
            if path.name.startswith(("_", ".")):
                path.unlink()
    finally:
        if existing is None:
            spark.stop()
