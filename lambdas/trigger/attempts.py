"""Attempts of a batch: which execution last worked on it, and what a new upload means for it.

A batch's first execution is named ``<name>``, later ones ``<name>--attempt-<n>``. When an
upload arrives for a batch that already has an execution, the latest attempt decides:

- the same object version is listed in its input: a second delivery, nothing to do;
- its Glue job has not started yet (it is gating, or waiting for the attempt before it): the
  upload joins the batch, since the job reads the batch folder (or the single key's newest
  version) when it starts;
- its job started after the object was created (with a clock margin): the job read it already;
- its job started before this upload and is still running: a second run now would race the
  first one's commit, so the upload is reported (metric and one alert with the rerun command);
- otherwise (the attempt ended, after a job run that did not read this upload or without one):
  a new attempt, which replaces the batch's output through the job's normal commit.

Standard library and the runtime's botocore only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

# The workflow state that runs the Glue job (stacks/workflow.py); entering it is the moment the
# batch's content is fixed for that attempt.
JOB_STATE = "RunGlueJob"
# S3 and Step Functions clocks are separate: an object counts as read by a job only when it was
# created at least this long before the job state was entered. Erring late reprocesses, never
# drops.
CLOCK_MARGIN = timedelta(seconds=2)
# Events from the job state to the end of an execution (retries, failure recording, alerts):
# far fewer than one page, so the newest page shows whether and when the job state was entered.
_HISTORY_PAGE = 200
# Probing stops here: a batch uploaded more often than this is a producer loop, not corrections.
MAX_ATTEMPTS = 500

DUPLICATE = "duplicate"
ALREADY_READ = "already_read"
JOINED = "joined"
WHILE_JOB_RUNS = "while_job_runs"
NEW_ATTEMPT = "new_attempt"


@dataclass(frozen=True)
class Attempt:
    """One execution of a batch, as far as a new upload is concerned."""

    number: int
    name: str
    arn: str
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    identities: frozenset[str]  # objects listed in its input
    job_started_at: datetime | None  # when it entered the Glue job state; None if never


def attempt_suffix(number: int) -> str:
    """``""`` for the first attempt, ``--attempt-<n>`` after it."""
    return "" if number <= 1 else f"--attempt-{number}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of execution ``name`` of the state machine."""
    head, separator, machine = state_machine_arn.partition(":stateMachine:")
    if not separator:
        raise ValueError(f"{state_machine_arn!r} is not a state machine ARN")
    return f"{head}:execution:{machine}:{name}"


def latest_attempt(
    client: Any,
    state_machine_arn: str,
    name_of: Callable[[int], str],
    identities_of: Callable[[dict[str, Any]], frozenset[str]],
) -> Attempt | None:
    """The batch's newest attempt (``name_of(n)`` names attempt n), or None if it has none."""
    found: tuple[int, str, dict[str, Any]] | None = None
    for number in range(1, MAX_ATTEMPTS + 1):
        name = name_of(number)
        try:
            described = client.describe_execution(
                executionArn=execution_arn(state_machine_arn, name)
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                break
            raise
        found = (number, name, described)
    if found is None:
        return None
    number, name, described = found
    arn = described["executionArn"]
    try:
        execution_input = json.loads(described.get("input") or "{}")
    except ValueError:
        execution_input = {}
    return Attempt(
        number=number,
        name=name,
        arn=arn,
        status=described["status"],
        identities=identities_of(execution_input if isinstance(execution_input, dict) else {}),
        job_started_at=_job_started_at(client, arn),
    )


def _job_started_at(client: Any, arn: str) -> datetime | None:
    page = client.get_execution_history(
        executionArn=arn, reverseOrder=True, maxResults=_HISTORY_PAGE
    )
    for event in page.get("events", []):
        details = event.get("stateEnteredEventDetails") or {}
        if details.get("name") == JOB_STATE:
            timestamp: datetime = event["timestamp"]
            return timestamp
    return None


def classify(identity: str, arrived_by: datetime | None, attempt: Attempt) -> str:
    """What an upload means for the batch whose latest attempt is ``attempt``.

    ``identity`` is the object version's identity, ``arrived_by`` the latest instant its event
    time allows (None when unknown: treated as new).
    """
    if identity in attempt.identities:
        return DUPLICATE
    if attempt.job_started_at is None:
        return JOINED if attempt.status == "RUNNING" else NEW_ATTEMPT
    if arrived_by is not None and arrived_by + CLOCK_MARGIN <= attempt.job_started_at:
        return ALREADY_READ
    return WHILE_JOB_RUNS if attempt.status == "RUNNING" else NEW_ATTEMPT
