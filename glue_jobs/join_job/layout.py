"""Where one run of the job writes, and the rule that keeps batch ids safe as paths.

Each run writes its results and quarantine once, to folders unique to the run::

    <output>/<dataset>/batch_id=<batch_id>/run=<run_id>/              results
    <output>/_quarantine/<dataset>/batch_id=<batch_id>/run=<run_id>/  rejected rows
    <output>/_reports/<dataset>/<batch_id>.json                       report of the current run
    <output>/_runs/<dataset>/<run_id>.json                            run in flight (until clean-up)

Nothing is renamed or copied afterwards: the batch is switched to the new run by rewriting the
report (path readers) and the catalog partition's location (catalog readers), see ``commit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from join_job.errors import JobInputError
from join_job.filesystem import join_uri

# The contract with the trigger (lambdas/trigger): a batch id is a path segment and a Hive
# partition value as it is, on S3, in the Data Catalog, on a laptop. No '/', ':', '=', spaces,
# '%' or other characters that need escaping; no leading '.', '_' or '-' (hidden or option-like).
BATCH_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
BATCH_ID_RULE = (
    "1 to 128 characters, letters, digits, '.', '_' and '-', starting with a letter or digit "
    f"(^{BATCH_ID_PATTERN.pattern}$)"
)
RUN_FOLDER_PREFIX = "run="


def is_valid_batch_id(batch_id: str) -> bool:
    """Whether ``batch_id`` can name a folder and a partition value without escaping."""
    return BATCH_ID_PATTERN.fullmatch(batch_id) is not None


def check_batch_id(batch_id: str, *, what: str = "batch id") -> str:
    """``batch_id`` itself, or :class:`JobInputError` naming it and the rule it breaks."""
    if not is_valid_batch_id(batch_id):
        raise JobInputError(
            f"{what} {batch_id!r} cannot name a partition: a batch id must be {BATCH_ID_RULE}; "
            "nothing was written"
        )
    return batch_id


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run of one batch (local paths or ``s3://`` URIs)."""

    output_root: str
    dataset: str
    batch_id: str
    run_id: str

    def __post_init__(self) -> None:
        check_batch_id(self.batch_id)
        check_batch_id(self.run_id, what="run id")

    @property
    def table_location(self) -> str:
        """``<output>/<dataset>``: the catalog table's location, parent of every batch."""
        return join_uri(self.output_root, self.dataset)

    @property
    def batch_folder(self) -> str:
        """``<output>/<dataset>/batch_id=<batch_id>``: every run of the batch, under it."""
        return join_uri(self.table_location, f"batch_id={self.batch_id}")

    @property
    def quarantine_batch_folder(self) -> str:
        """``<output>/_quarantine/<dataset>/batch_id=<batch_id>``."""
        return join_uri(self.output_root, "_quarantine", self.dataset, f"batch_id={self.batch_id}")

    @property
    def output_folder(self) -> str:
        """This run's results: ``<batch_folder>/run=<run_id>``."""
        return join_uri(self.batch_folder, f"{RUN_FOLDER_PREFIX}{self.run_id}")

    @property
    def quarantine_folder(self) -> str:
        """This run's rejected rows: ``<quarantine_batch_folder>/run=<run_id>``."""
        return join_uri(self.quarantine_batch_folder, f"{RUN_FOLDER_PREFIX}{self.run_id}")

    @property
    def report_path(self) -> str:
        """``<output>/_reports/<dataset>/<batch_id>.json``: the batch's current run."""
        return join_uri(self.output_root, "_reports", self.dataset, f"{self.batch_id}.json")

    @property
    def runs_folder(self) -> str:
        """``<output>/_runs/<dataset>``: one small file per run not yet cleaned up."""
        return join_uri(self.output_root, "_runs", self.dataset)

    @property
    def run_marker(self) -> str:
        """``<output>/_runs/<dataset>/<run_id>.json``: this run, while it is in flight."""
        return join_uri(self.runs_folder, f"{self.run_id}.json")

    def for_run(self, batch_id: str, run_id: str) -> RunLayout:
        """The layout of another run of the same dataset."""
        return RunLayout(self.output_root, self.dataset, batch_id, run_id)
