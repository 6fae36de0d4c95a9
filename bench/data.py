"""Benchmark data: the demo's flights generator at benchmark sizes, cached between runs.

Deterministic (fixed seed), written under ``bench/.data/`` (git-ignored) and reused when the
same size was generated before; nothing large is committed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from etl_local.sample_data import write_batch, write_reference

SEED = 20261124
# About one input file per million rows, as a daily export split in parts would be.
ROWS_PER_FILE = 1_000_000
_STAMP = ".complete"


@dataclass(frozen=True)
class BenchData:
    """One generated batch and the reference data it joins with."""

    rows: int
    batch_id: str
    batch_dir: Path
    reference_dir: Path

    @property
    def input_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.batch_dir.rglob("*") if path.is_file())


def prepare(root: Path, rows: int, *, batch_id: str = "2026-11-24") -> BenchData:
    """The batch of ``rows`` rows under ``root`` (generated unless already there)."""
    size_dir = root / f"rows-{rows}"
    data = BenchData(
        rows=rows,
        batch_id=batch_id,
        batch_dir=size_dir / "incoming" / batch_id,
        reference_dir=size_dir / "reference",
    )
    stamp = size_dir / _STAMP
    expected = f"seed={SEED} rows={rows} batch={batch_id}\n"
    if stamp.is_file() and stamp.read_text() == expected:
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
    stamp.write_text(expected)
    return data
