"""Commits a batch without renaming or copying its data: the run's files stay where Spark wrote
them and readers are switched to them.

Order of effects, each a step a reader can see only once it is done (``layout`` has the paths):

1. the run's data: results and quarantine in the run's own folders (written by ``run``);
   the table is created or extended (new columns only; a changed type fails here);
2. the run's report, ``_reports/<dataset>/<batch_id>.json``, written in one step: path readers
   find the current run's folders and files in it (this is their switch);
3. the switch: the catalog partition ``batch_id`` is pointed at the run's results folder;
4. clean-up: the folders of the runs this one superseded, abandoned runs older than a day, and
   this run's in-flight marker.

A failure before the switch leaves what readers saw: the report is put back and the run's folders
deleted, and the run fails. A failure in clean-up leaves a consistent new batch: the run succeeds,
logs what it left, and a later run removes it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from join_job import catalog
from join_job.errors import CommitError
from join_job.filesystem import HadoopFileSystem
from join_job.layout import RUN_FOLDER_PREFIX, RunLayout, is_valid_batch_id

LOG = logging.getLogger("join_job")
# An uncommitted run folder younger than this may belong to a run still writing (a rerun of the
# same batch started meanwhile); older ones are abandoned. Glue's job timeout stays below it.
ABANDONED_AFTER_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Commit:
    """One run's commit: its file system, layout, and catalog table (None: no catalog)."""

    fs: HadoopFileSystem
    layout: RunLayout
    table: catalog.CatalogTable | None = None
    now: Callable[[], float] = field(default=time.time)


def begin_run(commit: Commit, started_at: str) -> None:
    """Record the run as in flight before it writes anything, so a later run can find and
    delete what a killed one left (``_runs/<dataset>/<run_id>.json``)."""
    layout = commit.layout
    marker = {"batch_id": layout.batch_id, "run_id": layout.run_id, "started_at": started_at}
    commit.fs.write_text(layout.run_marker, json.dumps(marker, sort_keys=True) + "\n")


def discard_run(commit: Commit) -> None:
    """Delete what a failed, uncommitted run wrote: its folders, then its marker."""
    layout = commit.layout
    _delete_all(commit.fs, [layout.output_folder, layout.quarantine_folder, layout.run_marker])
    _delete_empty_parents(commit.fs, layout)


def commit_run(
    commit: Commit, report: dict[str, Any], columns: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    """Make the run's output the batch's current one (steps 1-4 above); the report written.

    ``columns`` are the results' (name, Hive type) pairs, for the catalog table.
    """
    fs, layout, table = commit.fs, commit.layout, commit.table
    try:
        previous_text = _read_text(fs, layout.report_path)
        superseded = {_run_of_report(previous_text)}
        table_columns: list[catalog.Column] = []
        if table is not None:
            table_columns = catalog.prepare_table(table, columns)
            superseded.add(_run_of_location(catalog.partition_location(table, layout.batch_id)))
        report = {
            **report,
            "output_files": _file_names(fs, layout.output_folder),
            "quarantine_files": _file_names(fs, layout.quarantine_folder),
        }
        fs.write_text(layout.report_path, json.dumps(report, indent=2, sort_keys=True) + "\n")
    except Exception:
        discard_run(commit)
        raise
    if table is not None:
        try:
            catalog.switch_partition(
                table,
                batch_id=layout.batch_id,
                location=layout.output_folder,
                columns=table_columns,
                run_id=layout.run_id,
            )
        except Exception as error:
            if _run_of_report(_read_text(fs, layout.report_path)) == layout.run_id:
                _put_back(fs, layout.report_path, previous_text)  # not a later run's report
            discard_run(commit)
            raise CommitError(
                f"batch {layout.batch_id}: the catalog partition could not be switched to run "
                f"{layout.run_id} ({type(error).__name__}: {error}); the report was put back "
                "and the run's files deleted, readers still see the previous run"
            ) from error
        _follow_a_later_run(commit, table_columns)
    try:
        clean_up(commit, superseded - {None, layout.run_id})
    except Exception as error:  # committed: what is left is removed by a later run
        LOG.warning(
            "batch %s committed (run %s) but clean-up failed: %s; a later run of the dataset "
            "deletes what is left",
            layout.batch_id,
            layout.run_id,
            error,
        )
    return report


def clean_up(commit: Commit, superseded: Iterable[str | None]) -> None:
    """After the switch: delete superseded and abandoned runs of this batch, abandoned runs of
    other batches (by their markers), and this run's marker."""
    layout = commit.layout
    _sweep_batch(
        commit,
        layout,
        keep={layout.run_id},
        superseded={run_id for run_id in superseded if run_id},
        switched=True,
    )
    _sweep_abandoned_markers(commit)
    _delete_all(commit.fs, [layout.run_marker])
    _delete_empty_parents(commit.fs, layout)


def _follow_a_later_run(commit: Commit, columns: list[catalog.Column]) -> None:
    """Two runs of one batch committing at once: the report written last names the winner.

    If it is not this run, the partition this run just switched is pointed at the winner's
    folder (it may not have switched yet, or did so before this run) and this run fails.
    """
    fs, layout, table = commit.fs, commit.layout, commit.table
    assert table is not None
    winner = _run_of_report(_read_text(fs, layout.report_path))
    if winner in (None, layout.run_id):
        return
    other = layout.for_run(layout.batch_id, winner)
    catalog.switch_partition(
        table,
        batch_id=layout.batch_id,
        location=other.output_folder,
        columns=columns,
        run_id=winner,
    )
    _delete_all(fs, [layout.output_folder, layout.quarantine_folder, layout.run_marker])
    raise CommitError(
        f"batch {layout.batch_id}: run {winner} committed the batch while this run "
        f"({layout.run_id}) was committing it; run {winner}'s output is current and this "
        "run's was deleted"
    )


def _sweep_batch(
    commit: Commit, layout: RunLayout, *, keep: set[str], superseded: set[str], switched: bool
) -> None:
    """Delete the batch's run folders that are superseded or abandoned; ``keep`` is never
    touched. ``switched``: this run just switched the batch, so files of the pre-run layout
    (parts written straight into ``batch_id=<id>/`` by older versions) are superseded too."""
    fs = commit.fs
    cutoff_ms = (commit.now() - ABANDONED_AFTER_SECONDS) * 1000
    doomed: list[str] = []
    for folder in (layout.batch_folder, layout.quarantine_batch_folder):
        for entry in fs.children(folder):
            if not entry.is_folder:
                if switched:
                    doomed.append(entry.uri)  # the pre-run layout's parts and _SUCCESS
                continue
            if not entry.name.startswith(RUN_FOLDER_PREFIX):
                continue
            run_id = entry.name[len(RUN_FOLDER_PREFIX) :]
            if run_id in keep:
                continue
            if run_id in superseded or fs.newest_modification_ms(entry.uri) < cutoff_ms:
                doomed.append(entry.uri)
    _delete_all(fs, doomed)


def _sweep_abandoned_markers(commit: Commit) -> None:
    """Runs of any batch whose marker is older than a day were killed: delete what they wrote
    unless they are current (for path or catalog readers)."""
    fs, layout = commit.fs, commit.layout
    cutoff_ms = (commit.now() - ABANDONED_AFTER_SECONDS) * 1000
    for entry in fs.children(layout.runs_folder):
        if entry.is_folder or entry.modified_ms >= cutoff_ms or entry.uri == layout.run_marker:
            continue
        marker = _parse(_read_text(fs, entry.uri))
        batch_id, run_id = str(marker.get("batch_id", "")), str(marker.get("run_id", ""))
        if not (is_valid_batch_id(batch_id) and is_valid_batch_id(run_id)):
            _delete_all(fs, [entry.uri])
            continue
        other = layout.for_run(batch_id, run_id)
        keep = {_run_of_report(_read_text(fs, other.report_path))}
        if commit.table is not None:
            keep.add(_roll_forward(commit.table, other, next(iter(keep))))
        _sweep_batch(
            commit, other, keep={run for run in keep if run}, superseded=set(), switched=False
        )
        _delete_all(fs, [entry.uri])


def _roll_forward(
    table: catalog.CatalogTable, layout: RunLayout, reported: str | None
) -> str | None:
    """A run killed between its report and its catalog switch: finish the switch, so both
    readers see the reported run. The run the catalog pointed at before, when kept."""
    located = _run_of_location(catalog.partition_location(table, layout.batch_id))
    if reported is None or reported == located:
        return located
    current = layout.for_run(layout.batch_id, reported)
    LOG.warning(
        "batch %s: switching the catalog to run %s, as its report says", layout.batch_id, reported
    )
    catalog.switch_partition(
        table,
        batch_id=layout.batch_id,
        location=current.output_folder,
        columns=catalog.table_columns(table),
        run_id=reported,
    )
    return None


def _delete_empty_parents(fs: HadoopFileSystem, layout: RunLayout) -> None:
    # Local disks keep empty folders; nothing of a run may accumulate, its folders included:
    # from each of the run's folders up to (not including) the output root, while empty.
    for leaf in (layout.batch_folder, layout.quarantine_batch_folder, layout.runs_folder):
        folder = leaf
        while folder.startswith(layout.output_root.rstrip("/") + "/"):
            fs.delete_if_empty(folder)
            folder = folder.rsplit("/", 1)[0]


def _put_back(fs: HadoopFileSystem, uri: str, text: str | None) -> None:
    if text is None:
        fs.delete(uri)
    else:
        fs.write_text(uri, text if text.endswith("\n") else text + "\n")


def _delete_all(fs: HadoopFileSystem, uris: Iterable[str]) -> None:
    for uri in uris:
        LOG.info("deleting %s", uri)
        fs.delete(uri)


def _file_names(fs: HadoopFileSystem, folder: str) -> list[str]:
    return sorted(item.uri.rstrip("/").rsplit("/", 1)[-1] for item in fs.data_files(folder))


def _read_text(fs: HadoopFileSystem, uri: str) -> str | None:
    return fs.read_text(uri) if fs.is_file(uri) else None


def _parse(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _run_of_report(text: str | None) -> str | None:
    run_id = _parse(text).get("run_id")
    return str(run_id) if run_id else None


def _run_of_location(location: str | None) -> str | None:
    """``.../run=<id>/`` → ``<id>``; None for the pre-run layout or no partition."""
    last = (location or "").rstrip("/").rsplit("/", 1)[-1]
    return last[len(RUN_FOLDER_PREFIX) :] if last.startswith(RUN_FOLDER_PREFIX) else None
