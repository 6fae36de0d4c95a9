"""No code path renames or copies output data: a spy on the file-system wrapper (every method)
and on Python's own move and copy functions, through a first run, a rerun and a failed run."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from typing import Any

import pytest

from join_job import catalog, job
from join_job.filesystem import HadoopFileSystem
from tests.glue_jobs.conftest import CATALOG_DATABASE, FlightsLayout

_MOVES = ("rename", "replace", "move", "copy", "copy2", "copyfile", "copytree")


def spy(calls: list[tuple[str, tuple[str, ...]]], name: str, method: Callable[..., Any]) -> Any:
    @functools.wraps(method)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        paths = tuple(str(arg) for arg in args if isinstance(arg, (str, os.PathLike)))
        calls.append((name, paths))
        return method(*args, **kwargs)

    return recorded


def test_commit_never_renames_or_copies_output_data(
    flights: FlightsLayout, glue_catalog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, tuple[str, ...]]] = []
    wrapper_methods = [name for name in vars(HadoopFileSystem) if not name.startswith("__")]
    for name in wrapper_methods:
        monkeypatch.setattr(
            HadoopFileSystem, name, spy(calls, f"fs.{name}", getattr(HadoopFileSystem, name))
        )
    for module in (os, shutil):
        for name in _MOVES:
            if hasattr(module, name):
                monkeypatch.setattr(
                    module, name, spy(calls, f"{module.__name__}.{name}", getattr(module, name))
                )
    argv = [*flights.argv("b"), "--catalog_database", CATALOG_DATABASE]

    flights.batch("b", ["1,AA,N1,JFK,1", "2,AA,N1,SFO,2"])
    assert job.main(argv) == 0
    first_run = flights.report("b")["run_id"]
    flights.batch("b", ["3,AA,N1,JFK,1"])
    assert job.main(argv) == 0
    with monkeypatch.context() as failing:
        failing.setattr(catalog, "switch_partition", _refuse)
        with pytest.raises(Exception, match="refused"):
            job.main(argv)

    # The wrapper offers no way to move or copy ...
    assert not [name for name in wrapper_methods if any(m in name.lower() for m in _MOVES)]
    data_roots = (str(flights.output / "flights"), str(flights.output / "_quarantine"))
    moves = [(name, paths) for name, paths in calls if name.split(".")[-1] in _MOVES]
    # ... and the only moves are of small metadata files (report, run marker), each written
    # beside itself then put in place: the local form of a one-step write.
    assert moves, "the spy saw the report's local one-step write"
    metadata = (
        str(flights.output / "_reports" / "flights"),
        str(flights.output / "_runs" / "flights"),
    )
    for name, paths in moves:
        assert all(path.startswith(metadata) for path in paths), (name, paths)
        assert not any(path.startswith(data_roots) for path in paths), (name, paths)
    # Output data is only ever written by Spark, listed, and deleted once superseded.
    deleted = [paths[-1] for name, paths in calls if name == "fs.delete"]
    data_deletes = [path for path in deleted if path.startswith(data_roots)]
    assert any(path.endswith(f"/run={first_run}") for path in data_deletes)
    current = flights.report("b")["run_id"]
    assert not any(path.endswith(f"/run={current}") for path in data_deletes)


def _refuse(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("catalog refused")
