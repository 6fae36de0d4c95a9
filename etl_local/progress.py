"""Console output of the local runner: one timestamped line per step, and the summary table."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import TextIO


class Progress:
    """Prints ``[  3.1s] upload    message`` lines, seconds counted from construction."""

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._quiet = quiet
        self._start = time.monotonic()
        # The Glue hook reports from moto's execution thread while the main thread reports
        # states: one write per line under a lock keeps lines whole.
        self._lock = threading.Lock()

    def step(self, kind: str, message: str) -> None:
        """One progress line (nothing when quiet)."""
        if self._quiet:
            return
        elapsed = time.monotonic() - self._start
        self._write(f"[{elapsed:6.1f}s] {kind:<9} {message}")

    def text(self, message: str = "") -> None:
        """A plain line (a heading, a table row), nothing when quiet."""
        if not self._quiet:
            self._write(message)

    def _write(self, line: str) -> None:
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table; numbers (cells starting with a digit) are right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(w) if cell[:1].isdigit() else cell.ljust(w)
            for cell, w in zip(cells, widths, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])
