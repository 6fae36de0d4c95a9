"""The synthesized definition, executed in moto: gate, Glue job, retries and every alert."""

from __future__ import annotations

import threading
import time
from functools import partial

from etl_local.offline_aws import (
    DEFAULT_REGION,
    GlueJobRun,
    GlueRunOutcome,
    start_execution,
    wait_for_execution,
)
from stacks.workflow import STABILITY_LISTING_MAX_KEYS
from tests.workflow.conftest import (
    GATE_CHECKS,
    LANDING_BUCKET,
    NOTIFY,
    QUIET,
    TEST_STAGES,
    WorkflowFactory,
    after_each_entry,
    folder_batch,
    single_file_batch,
)

GATE_STATES = ("InitGate", "WaitForUploadsToSettle", "LookForMarker", "ListBatch")


def console_url(execution_arn: str) -> str:
    return (
        f"https://{DEFAULT_REGION}.console.aws.amazon.com/states/home?region={DEFAULT_REGION}"
        f"#/v2/executions/details/{execution_arn}"
    )


def test_batch_with_marker_runs_the_glue_job_with_its_path_and_id(
    offline_workflow: WorkflowFactory,
) -> None:
    workflow = offline_workflow()
    workflow.upload("incoming/b-marker/part-1.csv")
    workflow.upload("incoming/b-marker/_SUCCESS", b"")

    result = workflow.run(folder_batch("b-marker"), name="b-marker")

    assert result.status == "SUCCEEDED"
    assert result.entered("LookForMarker") == 1
    assert result.entered("ListBatch") == 0  # the marker settles it: no listing needed
    (run,) = workflow.glue_runs.runs
    assert run.arguments["--input_path"] == f"s3://{LANDING_BUCKET}/incoming/b-marker/"
    assert run.arguments["--batch_id"] == "b-marker"
    assert run.arguments["--catalog_database"] == ""  # the job's default arguments stay
    # Without a success message to write, the task keeps only the run's id and state.
    assert result.output["glue"] == {"run_id": run.run_id, "state": "SUCCEEDED"}
    assert workflow.inbox.alerts() == []  # wf-quiet: no success message


def test_marker_arriving_late_makes_the_gate_loop_then_run(
    offline_workflow: WorkflowFactory,
) -> None:
    workflow = offline_workflow()
    workflow.upload("incoming/b-late/part-1.csv")
    # The batch keeps changing until the marker arrives, so only the marker can complete it.
    uploads = after_each_entry(
        "RecordCheck",
        [
            partial(workflow.upload, "incoming/b-late/part-2.csv"),
            partial(workflow.upload, "incoming/b-late/_SUCCESS", b""),
        ],
    )

    result = workflow.run(folder_batch("b-late"), name="b-late", on_event=uploads)

    assert result.status == "SUCCEEDED"
    assert result.entered("LookForMarker") == 3
    assert result.entered("RecordCheck") == 2
    assert result.entered("WaitBeforeNextCheck") == 2
    assert result.entered("RunGlueJob") == 1
    assert len(workflow.glue_runs.runs) == 1


def test_batch_without_marker_runs_once_two_checks_see_the_same_objects(
    offline_workflow: WorkflowFactory,
) -> None:
    workflow = offline_workflow()
    workflow.upload("incoming/b-stable/part-1.csv")
    grows_once = after_each_entry(
        "RecordCheck", [partial(workflow.upload, "incoming/b-stable/part-2.csv")]
    )

    result = workflow.run(folder_batch("b-stable"), name="b-stable", on_event=grows_once)

    assert result.status == "SUCCEEDED"
    # Check 1 sees one object, check 2 two (changed), check 3 two again (stable).
    assert result.entered("RecordCheck") == 3
    assert result.entered("RunGlueJob") == 1


def test_batch_that_never_completes_alerts_incomplete_and_fails(
    offline_workflow: WorkflowFactory,
) -> None:
    workflow = offline_workflow()
    workflow.upload("incoming/b-busy/part-0.csv")
    keeps_growing = after_each_entry(
        "RecordCheck",
        [partial(workflow.upload, f"incoming/b-busy/part-{n}.csv") for n in range(1, 10)],
    )

    result = workflow.run(folder_batch("b-busy"), name="b-busy", on_event=keeps_growing)

    assert result.status == "FAILED"
    assert result.error == "BatchIncomplete"
    assert result.entered("RecordCheck") == GATE_CHECKS
    assert result.entered("RunGlueJob") == 0
    assert workflow.glue_runs.runs == []
    (alert,) = workflow.inbox.alerts()
    assert "FAILED" in alert.subject
    assert "incomplete" in alert.subject
    message = alert.payload()
    assert message["summary"].startswith("ETL batch b-busy incomplete after 4 seconds")
    assert message["checks"] == GATE_CHECKS
    assert message["objects_seen"] == GATE_CHECKS  # one more object after each check
    assert message["listing_truncated"] is False
    assert message["marker_key"] == "incoming/b-busy/_SUCCESS"
    assert message["console_url"] == console_url(result.execution_arn)


def test_batch_larger_than_one_listing_page_needs_the_marker(
    offline_workflow: WorkflowFactory,
) -> None:
    workflow = offline_workflow()
    for n in range(STABILITY_LISTING_MAX_KEYS + 1):
        workflow.upload(f"incoming/b-big/part-{n:04d}.csv", b"1")

    result = workflow.run(folder_batch("b-big"), name="b-big")

    assert result.status == "FAILED"
    assert result.error == "BatchIncomplete"
    (alert,) = workflow.inbox.alerts()
    assert alert.payload()["listing_truncated"] is True
    assert alert.payload()["objects_seen"] == STABILITY_LISTING_MAX_KEYS


def test_failed_glue_run_alerts_its_error_and_run_id_and_is_not_retried(
    offline_workflow: WorkflowFactory,
) -> None:
    script_error = "AnalysisException: [UNRESOLVED_COLUMN] `carrier` cannot be resolved"
    workflow = offline_workflow(glue=lambda run: GlueRunOutcome.failed(script_error))
    workflow.upload("incoming/b-bad/part-1.csv")
    workflow.upload("incoming/b-bad/_SUCCESS", b"")

    result = workflow.run(folder_batch("b-bad"), name="b-bad")

    assert result.status == "FAILED"
    assert result.error == "BatchFailed"
    assert result.cause == f"Glue job run FAILED in state RunGlueJob: {script_error}"
    assert result.entered("RunGlueJob") == 1
    (run,) = workflow.glue_runs.runs  # one start: a failed script is never retried
    (alert,) = workflow.inbox.alerts()
    assert "FAILED" in alert.subject
    message = alert.payload()
    assert message["batch_id"] == "b-bad"
    assert message["failed_state"] == "RunGlueJob"
    assert message["glue_job_run_id"] == run.run_id
    assert message["error"] == "Glue job run FAILED"
    assert message["cause"] == script_error  # the script's message, not the whole JobRun
    assert message["summary"] == "ETL batch b-bad FAILED in state RunGlueJob: Glue job run FAILED"


def test_glue_run_ending_without_error_message_still_alerts_its_state_and_run_id(
    offline_workflow: WorkflowFactory,
) -> None:
    workflow = offline_workflow(glue=lambda run: GlueRunOutcome("TIMEOUT"))
    workflow.upload("incoming/slow.csv")

    result = workflow.run(single_file_batch("slow.csv"), name="slow")

    assert result.status == "FAILED"
    assert result.entered("GlueRunFailedWithoutMessage") == 1
    (run,) = workflow.glue_runs.runs
    (alert,) = workflow.inbox.alerts()
    message = alert.payload()
    assert message["error"] == "Glue job run TIMEOUT"
    assert message["glue_job_run_id"] == run.run_id
    assert '"JobRunState": "TIMEOUT"' in message["cause"]  # the whole JobRun, for lack of more


def test_concurrent_runs_error_is_retried_then_the_batch_succeeds(
    offline_workflow: WorkflowFactory,
) -> None:
    workflow = offline_workflow(refuse_first_starts=1)
    workflow.upload("incoming/b-busy-glue/part-1.csv")
    workflow.upload("incoming/b-busy-glue/_SUCCESS", b"")

    result = workflow.run(folder_batch("b-busy-glue"), name="b-busy-glue")

    assert result.status == "SUCCEEDED"
    assert workflow.glue_runs.refused_starts == 1
    assert len(workflow.glue_runs.runs) == 1
    failures = [e["taskFailedEventDetails"] for e in result.events if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failures] == ["Glue.ConcurrentRunsExceededException"]
    assert workflow.inbox.alerts() == []


def test_backfill_of_30_batches_at_once_all_succeed_through_the_job_run_queue(
    offline_workflow: WorkflowFactory,
) -> None:
    """More batches than MaxConcurrentRuns wait in Glue's queue instead of failing to start."""
    running, most_running = 0, 0
    lock = threading.Lock()

    def one_run_at_a_time_per_slot(run: GlueJobRun) -> GlueRunOutcome:
        nonlocal running, most_running
        with lock:
            running += 1
            most_running = max(most_running, running)
        time.sleep(0.3)
        with lock:
            running -= 1
        return GlueRunOutcome.succeeded()

    workflow = offline_workflow(glue=one_run_at_a_time_per_slot)
    batches = [f"backfill-{day:02d}" for day in range(1, 31)]
    for batch in batches:
        workflow.upload(f"incoming/{batch}/part-1.csv")
        workflow.upload(f"incoming/{batch}/_SUCCESS", b"")
    started = [
        start_execution(workflow.state_machine_arn, folder_batch(batch), name=batch)
        for batch in batches
    ]

    results = [wait_for_execution(arn, timeout_seconds=120) for arn in started]

    assert [r.status for r in results] == ["SUCCEEDED"] * 30
    assert len(workflow.glue_runs.runs) == 30
    assert workflow.glue_runs.queued_runs > 0  # the burst really exceeded the job's capacity
    assert most_running <= 3  # MaxConcurrentRuns of the deployed job
    refused = [e for r in results for e in r.events if e["type"] == "TaskFailed"]
    assert refused == []
    assert workflow.inbox.alerts() == []


def test_glue_start_refused_beyond_the_retries_is_alerted_without_a_run_id(
    offline_workflow: WorkflowFactory,
) -> None:
    retries = TEST_STAGES[QUIET]["workflow"]["glue_retry_attempts"]
    workflow = offline_workflow(refuse_first_starts=retries + 1)
    workflow.upload("incoming/b-full/_SUCCESS", b"")

    result = workflow.run(folder_batch("b-full"), name="b-full")

    assert result.status == "FAILED"
    assert workflow.glue_runs.refused_starts == retries + 1
    assert workflow.glue_runs.runs == []
    (alert,) = workflow.inbox.alerts()
    message = alert.payload()
    assert message["failed_state"] == "RunGlueJob"
    assert message["error"] == "Glue.ConcurrentRunsExceededException"
    assert message["glue_job_run_id"] == "none"


def test_single_file_batch_skips_the_gate(offline_workflow: WorkflowFactory) -> None:
    workflow = offline_workflow()
    workflow.upload("incoming/flights-2024-05.csv")

    result = workflow.run(single_file_batch("flights-2024-05.csv"), name="single-file")

    assert result.status == "SUCCEEDED"
    assert not set(GATE_STATES) & set(result.states_entered())
    (run,) = workflow.glue_runs.runs
    assert run.arguments["--input_path"] == f"s3://{LANDING_BUCKET}/incoming/flights-2024-05.csv"


def test_success_is_announced_when_the_stage_asks_for_it(
    offline_workflow: WorkflowFactory,
) -> None:
    workflow = offline_workflow(stage=NOTIFY)
    workflow.upload("incoming/b-ok/part-1.csv")
    workflow.upload("incoming/b-ok/_SUCCESS", b"")

    result = workflow.run(folder_batch("b-ok"), name="b-ok")

    assert result.status == "SUCCEEDED"
    (run,) = workflow.glue_runs.runs
    (alert,) = workflow.inbox.alerts()
    assert "succeeded" in alert.subject
    assert "FAILED" not in alert.subject
    # Capacity as GetJobRun reports it (the run ended at once: a second at most); with auto
    # scaling on (the default), the worker count is the maximum.
    capacity = alert.payload()["glue_capacity"]
    assert capacity["execution_seconds"] in (0, 1)
    assert capacity == {
        "execution_seconds": capacity["execution_seconds"],
        "worker_type": "G.1X",
        "workers": 2,
        "auto_scaling": True,
    }
    assert alert.payload()["summary"] == (
        f"ETL batch b-ok succeeded (Glue job run {run.run_id}: "
        f"{capacity['execution_seconds']} s on up to 2 x G.1X)."
    )
    assert alert.payload()["console_url"] == console_url(result.execution_arn)


def test_gate_failure_alert_names_the_state_and_links_to_the_execution(
    offline_workflow: WorkflowFactory,
) -> None:
    workflow = offline_workflow(stage=QUIET)

    result = workflow.run(folder_batch("b-gone", bucket="no-such-bucket"), name="b-gone")

    assert result.status == "FAILED"
    # AWS names the error S3.NoSuchBucketException; moto 5.2.5 lowercases the service.
    assert "NoSuchBucketException in state LookForMarker: " in str(result.cause)
    (alert,) = workflow.inbox.alerts()
    assert "FAILED" in alert.subject
    message = alert.payload()
    assert message["failed_state"] == "LookForMarker"
    assert message["glue_job_run_id"] == "none"
    assert message["execution_arn"] == result.execution_arn
    assert message["console_url"] == console_url(result.execution_arn)
    assert message["execution_input"]["bucket"] == "no-such-bucket"  # enough to rerun


def test_input_that_breaks_the_contract_is_alerted_and_fails(
    offline_workflow: WorkflowFactory,
) -> None:
    workflow = offline_workflow()
    broken = folder_batch("b-broken")
    del broken["batch_prefix"]

    result = workflow.run(broken, name="b-broken")

    assert result.status == "FAILED"
    assert str(result.cause).startswith("InvalidInput in state CheckInput: ")
    (alert,) = workflow.inbox.alerts()
    assert alert.payload()["failed_state"] == "CheckInput"
    assert "b-broken" in alert.payload()["cause"]  # the rejected input is quoted


def test_glue_handler_that_raises_fails_the_run_with_its_error(
    offline_workflow: WorkflowFactory,
) -> None:
    def crashing_script(run: GlueJobRun) -> GlueRunOutcome:
        raise FileNotFoundError(f"no input at {run.arguments['--input_path']}")

    workflow = offline_workflow(glue=crashing_script)
    workflow.upload("incoming/crash.csv")

    result = workflow.run(single_file_batch("crash.csv"), name="crash")

    assert result.status == "FAILED"
    (alert,) = workflow.inbox.alerts()
    assert alert.payload()["cause"].startswith("FileNotFoundError: no input at s3://")
