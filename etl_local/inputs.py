"""Checks on what the user hands ``etl-local run``, each failing with a message that says the fix.

These run before anything starts, so a typo costs a second instead of a Spark start-up, and the
message names the flag, the path and what was expected there.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from join_job.pipeline_config import PipelineConfig, PipelineConfigError, load_pipeline_config
from lambdas.trigger.batch_ids import is_valid_batch_id


class UserInputError(ValueError):
    """Something the user passed is wrong; the message names it and says what was expected."""


@dataclass(frozen=True)
class Batch:
    """One batch to upload: its id and each file with its key relative to the batch prefix."""

    batch_id: str
    files: tuple[tuple[Path, str], ...]
    # True when the input was a single file uploaded directly under the landing prefix.
    single_object: bool


def load_config(path: Path) -> PipelineConfig:
    """The pipeline config at ``path``, or a :class:`UserInputError` naming the field at fault."""
    if not path.is_file():
        raise UserInputError(f"--config {path}: no such file (expected the pipeline config JSON)")
    try:
        return load_pipeline_config(path)
    except PipelineConfigError as error:
        raise UserInputError(f"--config {path}: {error}") from None
    except OSError as error:
        raise UserInputError(f"--config {path}: cannot read it ({error.strerror})") from None


def check_reference_dir(reference_dir: Path, config: PipelineConfig) -> None:
    """Every reference data set the config joins must be a non-empty folder ``<dir>/<name>/``."""
    if not reference_dir.is_dir():
        raise UserInputError(
            f"--reference-dir {reference_dir}: no such folder (expected one sub-folder per "
            f"reference data set: {', '.join(j.name + '/' for j in config.joins)})"
        )
    for index, join in enumerate(config.joins):
        folder = reference_dir / join.name
        if not folder.is_dir():
            raise UserInputError(
                f"--reference-dir {reference_dir}: missing folder {join.name}/ for reference "
                f"data set {join.name!r} (joins[{index}] of the config, format {join.format})"
            )
        if not _data_files(folder):
            raise UserInputError(
                f"--reference-dir {reference_dir}: folder {join.name}/ holds no data files "
                f"(expected {join.format} files for reference data set {join.name!r})"
            )


def collect_batch(incoming: Path, batch_id: str | None) -> Batch:
    """The batch to upload from ``--incoming`` (a file or a folder) and ``--batch-id``.

    A folder is one batch (``incoming/<batch id>/<relative path>``, batch id defaulting to the
    folder's name); a file is a batch of its own (``incoming/<file name>``), or goes into
    ``incoming/<batch id>/`` when ``--batch-id`` is given.
    """
    if batch_id is not None and not is_valid_batch_id(batch_id):
        raise UserInputError(
            f"--batch-id {batch_id!r}: use letters, digits and . _ - only, at most 128, "
            "starting with a letter or digit (it becomes an S3 prefix and a partition value)"
        )
    if not incoming.exists():
        raise UserInputError(f"--incoming {incoming}: no such file or folder")
    if incoming.is_file():
        _check_readable(incoming)
        if batch_id is None:
            return Batch(
                _default_id(incoming.name), ((incoming, incoming.name),), single_object=True
            )
        return Batch(batch_id, ((incoming, incoming.name),), single_object=False)
    if not incoming.is_dir():
        raise UserInputError(f"--incoming {incoming}: not a regular file or folder")
    files = _data_files(incoming)
    if not files:
        raise UserInputError(
            f"--incoming {incoming}: the folder holds no data files (hidden files and names "
            "starting with _ are skipped, as Spark skips them)"
        )
    for path in files:
        _check_readable(path)
    chosen_id = batch_id if batch_id is not None else _default_id(incoming.resolve().name)
    return Batch(
        chosen_id,
        tuple((path, path.relative_to(incoming).as_posix()) for path in files),
        single_object=False,
    )


def check_output_outside_incoming(output: Path, incoming: Path) -> None:
    """``--output`` may be neither the ``--incoming`` folder nor inside it.

    Results written there would join the batch: the next run would read its own Parquet as CSV.
    """
    if not incoming.is_dir():
        return
    batch_dir = incoming.resolve()
    if output.resolve().is_relative_to(batch_dir):
        raise UserInputError(
            f"--output {output}: is inside --incoming {incoming} (or the same folder); the "
            "results would become part of the batch and the next run would read them as input. "
            "Choose an output folder outside the batch folder."
        )


def prepare_output_dir(output: Path) -> None:
    """Create ``--output`` if needed and prove it is writable."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=output, prefix=".etl-local-write-check-"):
            pass
    except FileExistsError:
        raise UserInputError(f"--output {output}: exists and is not a folder") from None
    except OSError as error:
        raise UserInputError(
            f"--output {output}: not writable ({error.strerror}); choose a folder you can write"
        ) from None


def _data_files(folder: Path) -> list[Path]:
    """Files under ``folder`` that Spark would read (no hidden or ``_``-prefixed names)."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part.startswith((".", "_")) for part in path.relative_to(folder).parts)
    )


def _check_readable(path: Path) -> None:
    if not os.access(path, os.R_OK):
        raise UserInputError(f"--incoming {path}: not readable (check its permissions)")


def _default_id(name: str) -> str:
    if not is_valid_batch_id(name):
        raise UserInputError(
            f"--incoming: {name!r} cannot be a batch id (letters, digits and . _ - only); "
            "pass --batch-id"
        )
    return name
