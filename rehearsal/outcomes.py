"""What the rehearsal checks on the deployed stage: the four Glue outcomes, and its report."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rehearsal.emulator import Emulator
from rehearsal.emulator_gaps import glue_mock_config

BATCH_ID = "2026-11-20"
WAIT_SECONDS = 60.0


@dataclass
class Report:
    """Each check with its result and what was seen."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append((name, ok, detail))
        print(f"  {'PASS' if ok else 'FAIL'}  {name:<22} {detail}", flush=True)
        return ok

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def summary(
        self, *, elapsed: float, gaps: Sequence[str], not_bridged: Sequence[str], scale: float
    ) -> str:
        failed = [name for name, ok, _ in self.checks if not ok]
        lines = ["", "Rehearsal summary", "-----------------"]
        lines += [
            f"{'PASS' if ok else 'FAIL'}  {name:<22} {detail}" for name, ok, detail in self.checks
        ]
        lines += ["", f"Emulator gaps bridged ({len(gaps)}, all in rehearsal/emulator_gaps.py):"]
        lines += [f"  - {gap}" for gap in gaps]
        lines += ["Not rehearsed (the emulator cannot show it):"]
        lines += [f"  - {item}" for item in not_bridged]
        lines += [
            f"Waits and retry intervals of the definition ran at {scale:g}x their length, but for "
            "the upload check's first settle wait (full length: its uploads arrive while the "
            "batch gates)."
        ]
        verdict = "PASSED" if self.passed else f"FAILED ({', '.join(failed) or 'no checks'})"
        lines += ["", f"Deploy rehearsal {verdict} in {elapsed:.0f} s"]
        return "\n".join(lines)


class AlertInbox:
    """An SQS queue subscribed to the deployed alert topic: what an email subscriber receives."""

    def __init__(self, emulator: Emulator, topic_arn: str) -> None:
        self._sqs = emulator.client("sqs")
        self._sns = emulator.client("sns")
        name = f"rehearsal-alerts-{uuid.uuid4().hex[:8]}"
        self.queue_url: str = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        self._subscription = self._sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
        self._received: list[tuple[str, dict[str, Any]]] = []

    def for_execution(self, execution_arn: str) -> tuple[str, dict[str, Any]] | None:
        """The (subject, message) published about ``execution_arn``, waiting for it a while."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            for subject, message in self._received:
                if message.get("execution_arn") == execution_arn:
                    return subject, message
            for sqs_message in self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                body = json.loads(sqs_message["Body"])
                self._received.append((body.get("Subject") or "", json.loads(body["Message"])))
                self._sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=sqs_message["ReceiptHandle"]
                )
        return None

    def delete(self) -> None:
        """Remove the rehearsal's own queue and subscription (they are not part of the stage)."""
        self._sns.unsubscribe(SubscriptionArn=self._subscription)
        self._sqs.delete_queue(QueueUrl=self.queue_url)


def wait_for(what: str, probe: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise TimeoutError(f"waited {WAIT_SECONDS:.0f} s for {what}")


def finished(emulator: Emulator, execution_arn: str) -> dict[str, Any]:
    sfn = emulator.client("stepfunctions")

    def stopped() -> dict[str, Any] | None:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        return None if described["status"] == "RUNNING" else described

    described: dict[str, Any] = wait_for(f"execution {execution_arn} to stop", stopped)
    return described


def states_entered(emulator: Emulator, execution_arn: str) -> list[str]:
    events = emulator.client("stepfunctions").get_execution_history(
        executionArn=execution_arn, maxResults=1000
    )["events"]
    return [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]


def _failed_run(run_id: str, state: str, error_message: str | None) -> dict[str, Any]:
    """A Glue .sync failure as Step Functions reports it: States.TaskFailed, the JobRun as cause."""
    run: dict[str, Any] = {"Id": run_id, "JobRunState": state, "Attempt": 0}
    if error_message is not None:
        run["ErrorMessage"] = error_message
    return {"Throw": {"Error": "States.TaskFailed", "Cause": json.dumps(run)}}


GLUE_ERROR_MESSAGE = "JobInputError: the batch at s3://landing/incoming/2026-11-20/ is empty"
# Test case -> (RunGlueJob's mocked responses by attempt, expected status, check of the alert).
OUTCOMES: dict[str, tuple[dict[str, Any], str, Callable[[str, dict[str, Any]], bool]]] = {
    "Succeeded": (
        {"0": {"Return": {"Id": "jr_rehearsal_ok", "JobRunState": "SUCCEEDED", "Attempt": 0}}},
        "SUCCEEDED",
        lambda subject, m: (
            subject.startswith("ETL batch succeeded") and m["glue_job_run_id"] == "jr_rehearsal_ok"
        ),
    ),
    "Failed": (
        {"0": _failed_run("jr_rehearsal_failed", "FAILED", GLUE_ERROR_MESSAGE)},
        "FAILED",
        lambda subject, m: (
            subject.startswith("ETL batch FAILED")
            and m["error"] == "Glue job run FAILED"
            and m["cause"] == GLUE_ERROR_MESSAGE
            and m["glue_job_run_id"] == "jr_rehearsal_failed"
        ),
    ),
    "Timeout": (
        {"0": _failed_run("jr_rehearsal_timeout", "TIMEOUT", None)},
        "FAILED",
        lambda subject, m: (
            subject.startswith("ETL batch FAILED")
            and m["error"] == "Glue job run TIMEOUT"
            and m["glue_job_run_id"] == "jr_rehearsal_timeout"
        ),
    ),
    "ConcurrentRunsExceeded": (
        {
            "0-99": {
                "Throw": {
                    "Error": "Glue.ConcurrentRunsExceededException",
                    "Cause": "Concurrent runs exceeded for the join job",
                }
            }
        },
        "FAILED",
        lambda subject, m: (
            subject.startswith("ETL batch FAILED")
            and m["error"] == "Glue.ConcurrentRunsExceededException"
            and m["glue_job_run_id"] == "none"
        ),
    ),
}


def check_glue_outcomes(
    emulator: Emulator,
    outputs: dict[str, str],
    inbox: AlertInbox,
    report: Report,
    execution_input: dict[str, Any],
    *,
    stage: str,
) -> None:
    """Run the uploaded batch once per Glue outcome, mocked per test case (GAP_GLUE_SYNC)."""
    machine = outputs["StateMachineArn"]
    emulator.configure(
        {
            "stepfunctions._sfn_mock_config": glue_mock_config(
                machine.rsplit(":", 1)[1],
                {case: responses for case, (responses, _, _) in OUTCOMES.items()},
            )
        }
    )
    sfn = emulator.client("stepfunctions")
    for case, (_, expected_status, alert_is_right) in OUTCOMES.items():
        started = sfn.start_execution(
            stateMachineArn=f"{machine}#{case}",
            name=f"rehearsal-{case.lower()}",
            input=json.dumps(execution_input),
        )["executionArn"]
        described = finished(emulator, started)
        alert = inbox.for_execution(started)
        attempts = states_entered(emulator, started).count("RunGlueJob")
        seen = (
            f"ended {described['status']}"
            + (f" ({described.get('cause', '')[:90]})" if described["status"] == "FAILED" else "")
            + (f"; alert '{alert[0]}'" if alert else "; no alert")
        )
        report.check(
            f"glue {case}",
            described["status"] == expected_status
            and alert is not None
            and alert_is_right(*alert)
            and alert[1]["batch_id"] == execution_input["batch_id"]
            and f"({stage})" in alert[0],
            seen + (f"; RunGlueJob entered {attempts}x" if attempts > 1 else ""),
        )
