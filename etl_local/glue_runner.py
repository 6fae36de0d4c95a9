"""Runs the real Glue job script when the workflow starts a Glue job run offline.

Hooked into moto's Glue through :func:`etl_local.offline_aws.glue_job_runs`: the run's arguments
(the job's default arguments from the synthesized template overlaid with the workflow's
``--input_path`` and ``--batch_id``) are passed to the script with every ``s3://`` URI of a
pipeline bucket rewritten to the local folder that stands in for that bucket. The batch is
copied out of the in-memory landing bucket first, so the script reads exactly what was uploaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import boto3

from etl_local.offline_aws import DEFAULT_REGION, GlueJobRun, GlueRunOutcome

# Arguments Glue itself consumes; the script never sees them as its own on a laptop.
_GLUE_ONLY_ARGUMENTS = (
    "--extra-py-files",
    "--job-language",
    "--TempDir",
    "--spark-event-logs-path",
)

JobScript = Callable[[list[str]], None]


class GlueScriptError(RuntimeError):
    """The job script failed; the message is what Glue would show as the run's ErrorMessage."""


@dataclass(frozen=True)
class BucketFolders:
    """Local folders standing in for buckets, by bucket name."""

    folders: Mapping[str, Path]

    def to_local(self, value: str) -> str:
        """``s3://<bucket>/<key>`` as a local path when the bucket has a folder; else unchanged."""
        if not value.startswith("s3://"):
            return value
        parsed = urlparse(value)
        folder = self.folders.get(parsed.netloc)
        if folder is None:
            return value
        local = folder / parsed.path.lstrip("/")
        return f"{local}/" if value.endswith("/") else str(local)


@dataclass(frozen=True)
class LocalGlueRun:
    """What one offline run did: its arguments as the script saw them, outcome and duration."""

    run_id: str
    arguments: Mapping[str, str]
    outcome: GlueRunOutcome
    seconds: float


@dataclass
class LocalGlueJob:
    """The handler moto's Glue calls for each started run (see module docstring)."""

    folders: BucketFolders
    landing_bucket: str
    script: JobScript
    on_progress: Callable[[str, str], None] = lambda kind, message: None
    region: str = DEFAULT_REGION
    runs: list[LocalGlueRun] = field(default_factory=list)

    def __call__(self, run: GlueJobRun) -> GlueRunOutcome:
        started = time.monotonic()
        arguments = self.script_arguments(run.arguments)
        self.on_progress(
            "glue",
            f"run {run.run_id[:16]}… started: --input_path {run.arguments.get('--input_path')}",
        )
        try:
            self._copy_batch_out_of_landing(run.arguments.get("--input_path", ""))
            self.script(_argv(arguments))
            outcome = GlueRunOutcome.succeeded()
        except Exception as error:  # every script failure ends the run FAILED, as on Glue
            outcome = GlueRunOutcome.failed(_error_message(error))
        seconds = time.monotonic() - started
        self.runs.append(LocalGlueRun(run.run_id, arguments, outcome, seconds))
        detail = f": {outcome.error_message}" if outcome.error_message else ""
        self.on_progress(
            "glue", f"run {run.run_id[:16]}… {outcome.state} in {seconds:.1f} s{detail}"
        )
        return outcome

    def script_arguments(self, arguments: Mapping[str, str]) -> dict[str, str]:
        """The run's arguments with bucket URIs mapped to folders and Glue-only ones dropped."""
        return {
            name: self.folders.to_local(value)
            for name, value in arguments.items()
            if name not in _GLUE_ONLY_ARGUMENTS
        }

    def _copy_batch_out_of_landing(self, input_path: str) -> None:
        """Download the batch's objects from the in-memory landing bucket into its folder."""
        parsed = urlparse(input_path)
        if parsed.scheme != "s3" or parsed.netloc != self.landing_bucket:
            return  # not a landing URI: the script reports what is wrong with it
        s3 = boto3.client("s3", region_name=self.region)
        prefix = parsed.path.lstrip("/")
        paginator = s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.landing_bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                key: str = item["Key"]
                # A single-object batch's prefix is the key itself; don't pick up its neighbours.
                if not prefix.endswith("/") and key != prefix:
                    continue
                target = Path(self.folders.to_local(f"s3://{self.landing_bucket}/{key}"))
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(self.landing_bucket, key, str(target))


def _argv(arguments: Mapping[str, str]) -> list[str]:
    argv: list[str] = []
    for name, value in arguments.items():
        argv.extend([name, value])
    return argv


def _error_message(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text if isinstance(error, GlueScriptError) else f"{type(error).__name__}: {text}"
