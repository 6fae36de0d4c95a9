"""The synthesized definition and the state machine's permissions, read without executing."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl_local.offline_aws import StateMachineDefinition
from stacks.app_builder import PROJECT_ROOT
from stacks.config import StageConfigError, WorkflowSettings
from stacks.workflow import GLUE_TRANSIENT_ERRORS, describe_duration, plan_gate
from tests.workflow.conftest import (
    GATE_CHECKS,
    NOTIFY,
    QUIET,
    TEST_STAGES,
    project_node_path,
    write_json,
)

ASL_VALIDATOR = PROJECT_ROOT / "node_modules" / ".bin" / "asl-validator"


def _transitions(state: dict[str, Any]) -> Iterator[str]:
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for rule in state.get("Choices", []):
        yield rule["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def _reachable(definition: StateMachineDefinition, start: str) -> set[str]:
    seen: set[str] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(_transitions(definition["States"][name]))
    return seen


def _run_validator(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": project_node_path()},
    )


@pytest.mark.parametrize("stage", [QUIET, NOTIFY])
def test_definition_passes_the_independent_asl_validator(
    definitions: dict[str, StateMachineDefinition], stage: str, tmp_path: Path
) -> None:
    result = _run_validator(write_json(tmp_path / "definition.json", definitions[stage]))
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_broken_definition(
    definitions: dict[str, StateMachineDefinition], tmp_path: Path
) -> None:
    """Guard for the test above: a transition to a missing state must be reported."""
    broken = {**definitions[QUIET], "StartAt": "NoSuchState"}
    result = _run_validator(write_json(tmp_path / "broken.json", broken))
    assert result.returncode != 0


def test_glue_task_retries_only_transient_errors_with_backoff_and_jitter(
    definitions: dict[str, StateMachineDefinition],
) -> None:
    settings = TEST_STAGES[QUIET]["workflow"]
    (retrier,) = definitions[QUIET]["States"]["RunGlueJob"]["Retry"]
    assert retrier == {
        "ErrorEquals": list(GLUE_TRANSIENT_ERRORS),
        "IntervalSeconds": settings["glue_retry_interval_seconds"],
        "MaxAttempts": settings["glue_retry_attempts"],
        "BackoffRate": 2,
        "JitterStrategy": "FULL",
    }


def test_glue_task_and_execution_timeouts_come_from_the_config(
    definitions: dict[str, StateMachineDefinition],
) -> None:
    settings = TEST_STAGES[QUIET]["workflow"]
    definition = definitions[QUIET]
    assert definition["TimeoutSeconds"] == settings["execution_timeout_minutes"] * 60
    run_job = definition["States"]["RunGlueJob"]
    assert run_job["TimeoutSeconds"] == settings["glue_task_timeout_minutes"] * 60
    # Glue keeps the job's own timeout: the run is not given another one.
    assert "Timeout" not in run_job["Parameters"]


def test_every_failure_path_publishes_before_failing(
    definitions: dict[str, StateMachineDefinition],
) -> None:
    states = definitions[NOTIFY]["States"]
    tasks = [name for name, state in states.items() if state["Type"] == "Task"]
    publishers = {name for name in tasks if states[name]["Resource"].endswith(":sns:publish")}
    assert publishers == {"NotifyFailure", "NotifyBatchIncomplete", "NotifySuccess"}
    for name in set(tasks) - publishers:
        assert "States.ALL" in states[name]["Catch"][-1]["ErrorEquals"], name
    fail_states = {name for name, state in states.items() if state["Type"] == "Fail"}
    assert fail_states == {"BatchFailed", "BatchIncomplete"}
    for name, state in states.items():
        for target in _transitions(state):
            if target in fail_states:
                assert name in ("NotifyFailure", "NotifyBatchIncomplete"), name


def test_success_notification_exists_only_when_configured(
    definitions: dict[str, StateMachineDefinition],
) -> None:
    assert "NotifySuccess" in definitions[NOTIFY]["States"]
    assert "NotifySuccess" not in definitions[QUIET]["States"]
    assert definitions[QUIET]["States"]["RunGlueJob"]["Next"] == "BatchSucceeded"


def test_run_capacity_is_selected_only_for_the_success_message(
    definitions: dict[str, StateMachineDefinition],
) -> None:
    # An absent path in a ResultSelector fails the execution beyond any Catch: select no more
    # of the JobRun than the stage uses.
    def selected(stage: str) -> dict[str, str]:
        selector: dict[str, str] = definitions[stage]["States"]["RunGlueJob"]["ResultSelector"]
        return selector

    assert selected(QUIET) == {"run_id.$": "$.Id", "state.$": "$.JobRunState"}
    assert selected(NOTIFY) == {
        "run_id.$": "$.Id",
        "state.$": "$.JobRunState",
        "execution_seconds.$": "$.ExecutionTime",
        "worker_type.$": "$.WorkerType",
        "workers.$": "$.NumberOfWorkers",
    }


def test_every_state_is_reachable(definitions: dict[str, StateMachineDefinition]) -> None:
    for definition in definitions.values():
        assert _reachable(definition, definition["StartAt"]) == set(definition["States"])


def test_gate_gives_up_after_the_planned_number_of_checks(
    definitions: dict[str, StateMachineDefinition],
) -> None:
    choices = definitions[QUIET]["States"]["IsBatchStable"]["Choices"]
    give_up = next(rule for rule in choices if rule["Next"] == "NotifyBatchIncomplete")
    assert give_up == {
        "Variable": "$.gate.checks",
        "NumericGreaterThanEquals": GATE_CHECKS,
        "Next": "NotifyBatchIncomplete",
        "Comment": "max wait reached",
    }


@pytest.mark.parametrize(
    ("settings", "checks", "waited"),
    [
        # cdk.json dev: checks at 30 s, 60 s, ..., 1800 s.
        (
            WorkflowSettings(settle_seconds=30, poll_interval_seconds=30, max_wait_minutes=30),
            60,
            1800,
        ),
        # cdk.json prod.
        (
            WorkflowSettings(settle_seconds=120, poll_interval_seconds=120, max_wait_minutes=180),
            90,
            10800,
        ),
        # A wait that is not a multiple of the poll interval: the last check is at or after it.
        (WorkflowSettings(settle_seconds=60, poll_interval_seconds=50, max_wait_minutes=2), 3, 160),
        # A max wait shorter than the settle time still leaves two checks to compare.
        (WorkflowSettings(settle_seconds=90, poll_interval_seconds=10, max_wait_minutes=1), 2, 100),
        (WorkflowSettings(settle_seconds=1, poll_interval_seconds=1, max_wait_seconds=4), 4, 4),
    ],
)
def test_gate_plan_counts_checks_up_to_the_max_wait(
    settings: WorkflowSettings, checks: int, waited: int
) -> None:
    plan = plan_gate(settings)
    assert (plan.checks, plan.waited_seconds) == (checks, waited)


def test_gate_plan_refuses_polls_that_would_overflow_the_history() -> None:
    with pytest.raises(StageConfigError, match=r"workflow\.poll_interval_seconds: 1 s .* 3600"):
        plan_gate(WorkflowSettings(poll_interval_seconds=1, max_wait_minutes=60))
    with pytest.raises(StageConfigError, match=r"workflow\.poll_interval_seconds: must be >= 1"):
        plan_gate(WorkflowSettings(poll_interval_seconds=0))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (4, "4 seconds"),
        (60, "1 minute"),
        (90, "1 minute 30 seconds"),
        (10800, "180 minutes"),
    ],
)
def test_durations_read_as_words(seconds: int, text: str) -> None:
    assert describe_duration(seconds) == text
