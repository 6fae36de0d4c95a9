"""Whole-process measurements: wall time and peak resident memory of a command's process tree.

Spark runs in a JVM that the Python driver starts as a child, so the peak is taken over the
whole tree (sampled from /proc every 50 ms), not from the first process alone.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_SAMPLE_SECONDS = 0.05


class CommandFailedError(RuntimeError):
    """A benchmarked command exited non-zero; the message carries its stderr tail."""


@dataclass(frozen=True)
class Measurement:
    """One run of one command."""

    seconds: float
    peak_rss_mb: float


def measure(
    command: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Measurement:
    """Run ``command`` to completion; its wall time and the peak RSS of its process tree."""
    # stderr to a file, not a pipe: Spark logs enough to fill a pipe and stall the child.
    with tempfile.TemporaryFile(mode="w+") as errors:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            text=True,
        )
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, tree_rss_kb(process.pid))
            time.sleep(_SAMPLE_SECONDS)
        seconds = time.perf_counter() - started
        errors.seek(0)
        stderr = errors.read()
    if process.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        raise CommandFailedError(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    return Measurement(seconds=seconds, peak_rss_mb=peak_kb / 1024)


def tree_rss_kb(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in KiB (0 once it is gone)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        total += _rss_kb(current)
        pending.extend(_children(current))
    return total


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return 0


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            children.extend(int(child) for child in text.split())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return children
    return children
