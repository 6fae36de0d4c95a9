"""Offline AWS for the workflow: run the synthesized state machine in moto, in-process.

Shared by tests/workflow and the local runner (``etl-local``), so both execute the exact
definition CloudFormation would deploy:

- :func:`definition_from_template` takes the state machine's ``DefinitionString`` out of a
  synthesized template and resolves its ``Ref``/``Fn::GetAtt``/pseudo parameters to local names.
- :func:`executing_aws` is ``mock_aws`` with moto's executing Step Functions engine, plus the
  one shim moto 5.2.5 needs for ``glue:startJobRun.sync`` (:func:`install_glue_sync_fix`).
- :func:`glue_job_runs` decides how each Glue job run ends (a test's fixed outcome, or the
  local runner really running the script) without touching the definition.
- :func:`create_state_machine`, :func:`start_execution`, :func:`wait_for_execution` and
  :func:`run_execution` drive executions through the Step Functions API (always named).
- :class:`AlertInbox` subscribes an SQS queue to the alert topic and reads what SNS delivered.

Waits and retry intervals in the definition really sleep: keep them short in the stage config.
"""

from __future__ import annotations

import inspect
import json
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from unittest import mock

import boto3
from moto import mock_aws
from moto.core.config import DefaultConfig
from moto.core.utils import utcnow
from moto.glue import models as glue_models
from moto.glue.exceptions import ConcurrentRunsExceededException
from moto.glue.models import FakeJobRun

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"
# moto accepts any well-formed role ARN; no IAM is evaluated offline.
DEFAULT_ROLE_ARN = f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/etl-workflow-offline"
EXECUTING_CONFIG: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}

StateMachineDefinition = dict[str, Any]


class TemplateError(ValueError):
    """The template has no single state machine, or a reference nobody resolved."""


# -- definition from the synthesized template -------------------------------------------------


def definition_from_template(
    template: Mapping[str, Any],
    substitutions: Mapping[str, str],
    *,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
    partition: str = "aws",
    logical_id: str | None = None,
) -> StateMachineDefinition:
    """The ASL definition of the template's state machine, references resolved.

    ``substitutions`` maps ``"<LogicalId>"`` (what ``Ref`` returns: a topic ARN, a job name)
    and ``"<LogicalId>.<Attribute>"`` (``Fn::GetAtt``) to local values; the pseudo parameters
    ``AWS::Region``, ``AWS::AccountId``, ``AWS::Partition`` and ``AWS::URLSuffix`` come from
    the keyword arguments unless ``substitutions`` names them. ``logical_id`` picks the state
    machine when the template has several. Raises :class:`TemplateError` naming any
    reference left unresolved.
    """
    values = _pseudo_parameters(substitutions, region, account_id, partition)
    resource = _state_machine_resource(template, logical_id)
    definition = resource["Properties"].get("DefinitionString")
    if definition is None:
        raise TemplateError("the state machine has no DefinitionString (DefinitionS3Location?)")
    text = _resolve(definition, values)
    if not isinstance(text, str):
        raise TemplateError(f"DefinitionString resolved to {type(text).__name__}, not text")
    parsed: StateMachineDefinition = json.loads(text)
    return parsed


def resolve_intrinsics(
    node: Any,
    substitutions: Mapping[str, str],
    *,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
    partition: str = "aws",
) -> Any:
    """Any template value (a Lambda's environment, a Glue job's arguments) with its
    ``Ref``/``Fn::GetAtt``/``Fn::Join``/``Fn::Sub`` resolved as :func:`definition_from_template`
    resolves the definition."""
    return _resolve(node, _pseudo_parameters(substitutions, region, account_id, partition))


def _pseudo_parameters(
    substitutions: Mapping[str, str], region: str, account_id: str, partition: str
) -> dict[str, str]:
    return {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": partition,
        "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
        **substitutions,
    }


def substitutions_by_type(
    template: Mapping[str, Any], values_by_type: Mapping[str, str]
) -> dict[str, str]:
    """``{logical id: value}`` for every resource whose type is in ``values_by_type``.

    For example ``{"AWS::SNS::Topic": topic_arn, "AWS::Glue::Job": "join-job"}``. Each listed
    type must occur exactly once in the template, so a value never lands on the wrong resource.
    """
    found: dict[str, str] = {}
    for resource_type, value in values_by_type.items():
        ids = [
            logical_id
            for logical_id, resource in template.get("Resources", {}).items()
            if resource.get("Type") == resource_type
        ]
        if len(ids) != 1:
            raise TemplateError(
                f"expected exactly one {resource_type} in the template, found {len(ids)}"
            )
        found[ids[0]] = value
    return found


def _state_machine_resource(
    template: Mapping[str, Any], logical_id: str | None
) -> Mapping[str, Any]:
    machines = {
        key: resource
        for key, resource in template.get("Resources", {}).items()
        if resource.get("Type") == "AWS::StepFunctions::StateMachine"
    }
    if logical_id is not None:
        if logical_id not in machines:
            raise TemplateError(f"no state machine with logical id {logical_id!r}")
        chosen: Mapping[str, Any] = machines[logical_id]
        return chosen
    if len(machines) != 1:
        raise TemplateError(
            f"expected one AWS::StepFunctions::StateMachine, found {len(machines)}: "
            f"{', '.join(sorted(machines)) or 'none'}; pass logical_id"
        )
    return next(iter(machines.values()))


def _resolve(node: Any, values: Mapping[str, str]) -> Any:
    """Evaluate the CloudFormation intrinsics CDK emits in a definition."""
    if isinstance(node, str | int | float | bool) or node is None:
        return node
    if isinstance(node, list):
        return [_resolve(item, values) for item in node]
    if not isinstance(node, dict):
        raise TemplateError(f"unexpected template value {node!r}")
    if len(node) == 1:
        ((key, argument),) = node.items()
        if key == "Ref":
            return _lookup(str(argument), values, "Ref")
        if key == "Fn::GetAtt":
            name, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return _lookup(f"{name}.{attribute}", values, "Fn::GetAtt")
        if key == "Fn::Join":
            separator, parts = argument
            return str(separator).join(str(_resolve(part, values)) for part in parts)
        if key == "Fn::Sub" and isinstance(argument, str):
            substituted = _SUB_VARIABLE.sub(
                lambda match: _lookup(match.group(1), values, "Fn::Sub"), argument
            )
            return substituted.replace("${!", "${")
        if key == "Fn::Split":
            separator, text = argument
            return str(_resolve(text, values)).split(str(separator))
        if key == "Fn::Select":
            index, items = argument
            return _resolve(items, values)[int(index)]
        if key.startswith("Fn::"):
            raise TemplateError(
                f"{key} is not supported offline "
                "(only Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split)"
            )
    return {key: _resolve(value, values) for key, value in node.items()}


# ${Name} or ${Name.Attribute}; CloudFormation writes ${!Literal} as ${Literal}.
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def _lookup(reference: str, values: Mapping[str, str], kind: str) -> str:
    try:
        return values[reference]
    except KeyError:
        raise TemplateError(
            f"{kind} {reference} has no substitution; pass it in substitutions "
            f"(known: {', '.join(sorted(values))})"
        ) from None


# -- moto's executing engine and its Glue .sync shim ----------------------------------------


@contextmanager
def executing_aws() -> Iterator[None]:
    """``mock_aws`` whose Step Functions really run definitions, Glue ``.sync`` included."""
    install_glue_sync_fix()
    with mock_aws(config=EXECUTING_CONFIG):
        yield


# `finally:`, optional comment lines, then the call with no `if callback_endpoint` guard.
_UNGUARDED_INTERRUPT = re.compile(r"finally:\s*(?:#[^\n]*\s*)*callback_endpoint\.interrupt_all\(\)")
_glue_sync_fix_lock = threading.Lock()
_glue_sync_fix_installed = False


def moto_glue_sync_is_broken() -> bool:
    """Whether moto's callback task still calls ``interrupt_all()`` on a missing endpoint.

    Glue supports ``.sync`` only, so its callback endpoint is ``None`` and moto 5.2.5 raises
    ``'NoneType' object has no attribute 'interrupt_all'`` in a ``finally`` block, failing
    every Glue task with States.Runtime. LocalStack fixed the same code upstream by guarding
    the call (``if callback_endpoint: ...``, localstack/localstack#13706); a moto that carries
    the guard makes this return False.
    """
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as callback_module,
    )

    method = callback_module.StateTaskServiceCallback._eval_integration_pattern
    try:
        source = inspect.getsource(method)
    except (OSError, TypeError):
        return True  # no source to inspect: assume the released bug
    return interrupts_unguarded(source)


def interrupts_unguarded(source: str) -> bool:
    """Whether ``source`` calls ``callback_endpoint.interrupt_all()`` right after ``finally:``.

    Comment lines may sit between the two; an ``if callback_endpoint`` guard may not.
    """
    return _UNGUARDED_INTERRUPT.search(source) is not None


def install_glue_sync_fix() -> bool:
    """SHIM for moto 5.2.5: let ``glue:startJobRun.sync`` run; returns whether it was needed.

    What it fixes: see :func:`moto_glue_sync_is_broken`. The shim replaces Glue's
    ``_eval_integration_pattern`` with the ``.sync`` branch of the parent's method minus the
    callback endpoint, which Glue never has; everything else (polling GetJobRun every 0.5 s,
    FAILED -> States.TaskFailed, timeouts) stays moto's. Idempotent, process-wide.

    Remove it (and this function's callers) once the pinned moto guards ``interrupt_all()``:
    then this function already does nothing.
    """
    global _glue_sync_fix_installed
    with _glue_sync_fix_lock:
        if _glue_sync_fix_installed:
            return True
        if not moto_glue_sync_is_broken():
            return False
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_glue as glue_module,
        )

        glue_module.StateTaskServiceGlue._eval_integration_pattern = (  # type: ignore[method-assign]
            _glue_sync_integration
        )
        _glue_sync_fix_installed = True
        return True


def _glue_sync_integration(
    self: Any,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> None:
    """moto's ``.sync`` path for a task without a callback endpoint (see the shim above)."""
    if self.heartbeat is not None:
        raise NotImplementedError("HeartbeatSeconds on a Glue .sync task is not supported here")
    start_output = env.stack.pop()
    self.timeout.eval(env=env)
    timeout_seconds = env.stack.pop()
    env.stack.append(start_output)  # the sync resolver reads the StartJobRun output from it
    sync_resolver = self._build_sync_resolver(
        env=env,
        resource_runtime_part=resource_runtime_part,
        normalised_parameters=normalised_parameters,
        state_credentials=state_credentials,
    )
    outcome = self._eval_sync(
        env=env,
        sync_resolver=sync_resolver,
        timeout_seconds=timeout_seconds,
        callback_endpoint=None,
        heartbeat_endpoint=None,
    )
    env.stack.append(outcome)


# -- controllable Glue job runs ---------------------------------------------------------------

GlueRunState = Literal["SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "STOPPED"]
_GLUE_END_STATES: tuple[GlueRunState, ...] = ("SUCCEEDED", "FAILED", "TIMEOUT", "ERROR", "STOPPED")


@dataclass(frozen=True)
class GlueJobRun:
    """One started run: the job, Glue's run id and the arguments the script would see."""

    job_name: str
    run_id: str
    # The job's default arguments overlaid with the run's own (--input_path, --batch_id, ...).
    arguments: Mapping[str, str]


@dataclass(frozen=True)
class GlueRunOutcome:
    """How a run ends: its final JobRunState and, when it did not succeed, Glue's ErrorMessage."""

    state: GlueRunState
    error_message: str | None = None

    @classmethod
    def succeeded(cls) -> GlueRunOutcome:
        return cls("SUCCEEDED")

    @classmethod
    def failed(cls, error_message: str) -> GlueRunOutcome:
        return cls("FAILED", error_message)


GlueRunHandler = Callable[[GlueJobRun], GlueRunOutcome]


def succeed_every_run(run: GlueJobRun) -> GlueRunOutcome:
    """The default handler: every run ends SUCCEEDED at once."""
    return GlueRunOutcome.succeeded()


@dataclass
class GlueRunLog:
    """What the hook saw: runs in start order with their outcomes, refused and queued starts."""

    runs: list[GlueJobRun] = field(default_factory=list)
    outcomes: dict[str, GlueRunOutcome] = field(default_factory=dict)
    refused_starts: int = 0
    # Runs that waited in the job run queue (WAITING) because the job was at capacity.
    queued_runs: int = 0


@contextmanager
def glue_job_runs(
    handler: GlueRunHandler = succeed_every_run,
    *,
    refuse_first_starts: int = 0,
    queue_runs_beyond_capacity: bool = False,
) -> Iterator[GlueRunLog]:
    """Decide how moto's Glue job runs end, for runs started inside the block.

    - The first ``refuse_first_starts`` StartJobRun calls fail with
      ``ConcurrentRunsExceededException``, as Glue does when ``MaxConcurrentRuns`` is reached.
    - Every accepted run is RUNNING while ``handler(run)`` works in a thread of its own, then
      ends in the returned outcome's state and ErrorMessage. A handler that raises ends its run
      FAILED with the exception as ErrorMessage. The local runner's handler runs the real Glue
      script and returns :meth:`GlueRunOutcome.succeeded` or :meth:`GlueRunOutcome.failed`.
    - A start beyond the job's ``MaxConcurrentRuns`` fails with moto's
      ``ConcurrentRunsExceededException``, unless ``queue_runs_beyond_capacity`` (the job's
      ``JobRunQueuingEnabled``): then the run is WAITING, as in Glue's job run queue, and
      starts when a run of the job ends, oldest first.
    - On exit, waits for the handlers still working.

    Works by wrapping ``moto.glue.models.FakeJob.start_job_run`` and letting it create
    :class:`_ControlledJobRun` instead of moto's run, which succeeds immediately on its own.
    """
    log = GlueRunLog()
    workers: list[threading.Thread] = []
    original_start = glue_models.FakeJob.start_job_run
    # Starts, ends and promotions out of the queue see one consistent count of running runs.
    capacity = threading.Lock()
    queues: dict[str, list[tuple[GlueJobRun, Any]]] = {}

    def begin(run: GlueJobRun, fake_run: Any) -> None:
        worker = threading.Thread(
            target=work, args=(run, fake_run), name=f"glue-run-{run.run_id[:12]}"
        )
        workers.append(worker)
        worker.start()

    def work(run: GlueJobRun, fake_run: Any) -> None:
        outcome = _outcome_of(handler, run)
        with capacity:
            log.outcomes[run.run_id] = outcome
            fake_run.finish(outcome)
            queue = queues.get(run.job_name)
            promoted = queue.pop(0) if queue else None
            if promoted is not None:
                promoted[1].leave_queue()
        if promoted is not None:
            begin(*promoted)

    def start_job_run(job: Any, **kwargs: Any) -> str:
        with capacity:
            if log.refused_starts < refuse_first_starts:
                log.refused_starts += 1
                raise ConcurrentRunsExceededException(f"Job with name {job.name} already running")
            try:
                run_id: str = original_start(job, **kwargs)
                queued = False
            except ConcurrentRunsExceededException:
                if not queue_runs_beyond_capacity:
                    raise
                run_id = _start_beyond_capacity(original_start, job, kwargs)
                queued = True
            fake_run = next(r for r in job.job_runs if r.job_run_id == run_id)
            run = GlueJobRun(job.name, run_id, dict(fake_run.arguments or {}))
            log.runs.append(run)
            if queued:
                fake_run.enter_queue()
                queues.setdefault(job.name, []).append((run, fake_run))
                log.queued_runs += 1
                return run_id
        begin(run, fake_run)
        return run_id

    with (
        mock.patch.object(glue_models.FakeJob, "start_job_run", start_job_run),
        mock.patch.object(glue_models, "FakeJobRun", _ControlledJobRun),
    ):
        try:
            yield log
        finally:
            for worker in workers:  # a worker may start another (promoted) before it ends
                worker.join()


def _start_beyond_capacity(start: Callable[..., str], job: Any, kwargs: dict[str, Any]) -> str:
    """moto's StartJobRun with its MaxConcurrentRuns check lifted, for a run that will wait."""
    limit = job.execution_property.get("MaxConcurrentRuns", 1)
    job.execution_property = {**job.execution_property, "MaxConcurrentRuns": len(job.job_runs) + 1}
    try:
        return start(job, **kwargs)
    finally:
        job.execution_property = {**job.execution_property, "MaxConcurrentRuns": limit}


def _outcome_of(handler: GlueRunHandler, run: GlueJobRun) -> GlueRunOutcome:
    try:
        return handler(run)
    except Exception as error:  # the run fails with the script's error, as on Glue
        last_line = traceback.format_exception_only(error)[-1].strip()
        return GlueRunOutcome.failed(last_line)


class _ControlledJobRun(FakeJobRun):
    """A moto job run that stays RUNNING until :meth:`finish` gives its outcome."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outcome: GlueRunOutcome | None = None
        self._waiting = False

    @property
    def status(self) -> str:
        if self._outcome is not None:
            return self._outcome.state
        return "WAITING" if self._waiting else "RUNNING"

    @status.setter
    def status(self, value: str) -> None:
        if value not in _GLUE_END_STATES:
            raise ValueError(f"a controlled Glue job run can only end, not become {value!r}")
        self.finish(GlueRunOutcome(value))

    def enter_queue(self) -> None:
        """WAITING in the job run queue: not counted against MaxConcurrentRuns."""
        self._waiting = True

    def leave_queue(self) -> None:
        self._waiting = False

    def finish(self, outcome: GlueRunOutcome) -> None:
        self.completed_on = self.modified_on = utcnow()
        self._outcome = outcome

    def as_dict(self) -> dict[str, Any]:
        described: dict[str, Any] = super().as_dict()
        # Glue's ExecutionTime: whole seconds the run took (moto reports a constant 123).
        described["ExecutionTime"] = int((self.completed_on - self.started_on).total_seconds())
        if self._outcome is not None and self._outcome.error_message is not None:
            described["ErrorMessage"] = self._outcome.error_message
        return described


# -- executions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionResult:
    """A finished execution: status, output or error and cause, and its full history."""

    execution_arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    events: tuple[dict[str, Any], ...]

    def states_entered(self) -> list[str]:
        """Names of the states entered, in order (a state entered twice appears twice)."""
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in self.events
            if "stateEnteredEventDetails" in event
        ]

    def entered(self, state_name: str) -> int:
        """How many times the execution entered ``state_name``."""
        return self.states_entered().count(state_name)


def create_state_machine(
    definition: Mapping[str, Any],
    *,
    name: str = "etl-workflow",
    region: str = DEFAULT_REGION,
    role_arn: str = DEFAULT_ROLE_ARN,
) -> str:
    """Create the executable state machine through the Step Functions API; returns its ARN.

    Not through CloudFormation: moto keeps those in its non-executing backend.
    """
    client = boto3.client("stepfunctions", region_name=region)
    response = client.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=role_arn, type="STANDARD"
    )
    arn: str = response["stateMachineArn"]
    return arn


def start_execution(
    state_machine_arn: str,
    execution_input: Mapping[str, Any],
    *,
    name: str,
    region: str = DEFAULT_REGION,
) -> str:
    """Start a named execution (moto's executing backend does not generate names)."""
    client = boto3.client("stepfunctions", region_name=region)
    response = client.start_execution(
        stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input)
    )
    arn: str = response["executionArn"]
    return arn


def wait_for_execution(
    execution_arn: str,
    *,
    timeout_seconds: float = 120.0,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    on_poll: Callable[[datetime], None] | None = None,
    region: str = DEFAULT_REGION,
    poll_seconds: float = 0.05,
) -> ExecutionResult:
    """Wait until the execution stops; ``on_event`` sees each history event as it appears and
    ``on_poll`` runs after each poll's events, with the time the history was read (every event
    recorded before that time has been shown)."""
    client = boto3.client("stepfunctions", region_name=region)
    deadline = time.monotonic() + timeout_seconds
    seen = 0
    while True:
        described = client.describe_execution(executionArn=execution_arn)
        read_at = datetime.now(UTC)
        events = _history(client, execution_arn)
        if on_event is not None:
            for event in events[seen:]:
                on_event(event)
        seen = len(events)
        if on_poll is not None:
            on_poll(read_at)
        if described["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"execution {execution_arn} still RUNNING after {timeout_seconds} s; "
                f"last state entered: {_last_state(events)}"
            )
        time.sleep(poll_seconds)
    output = described.get("output")
    return ExecutionResult(
        execution_arn=execution_arn,
        status=described["status"],
        output=json.loads(output) if output else None,
        error=described.get("error"),
        cause=described.get("cause"),
        events=tuple(events),
    )


def run_execution(
    state_machine_arn: str,
    execution_input: Mapping[str, Any],
    *,
    name: str,
    timeout_seconds: float = 120.0,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    region: str = DEFAULT_REGION,
) -> ExecutionResult:
    """Start a named execution and wait for it to stop."""
    execution_arn = start_execution(state_machine_arn, execution_input, name=name, region=region)
    return wait_for_execution(
        execution_arn, timeout_seconds=timeout_seconds, on_event=on_event, region=region
    )


def execution_history(execution_arn: str, *, region: str = DEFAULT_REGION) -> list[dict[str, Any]]:
    """Every history event of an execution so far, oldest first."""
    return _history(boto3.client("stepfunctions", region_name=region), execution_arn)


def _history(client: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = client.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _last_state(events: list[dict[str, Any]]) -> str:
    names = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
    return names[-1] if names else "none"


# -- alerts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """One message the alert topic delivered: subject and body (JSON text for the workflow)."""

    subject: str
    message: str

    def payload(self) -> dict[str, Any]:
        """The message body parsed as JSON (the workflow publishes JSON objects)."""
        parsed: dict[str, Any] = json.loads(self.message)
        return parsed


class AlertInbox:
    """An SQS queue subscribed to the alert topic: what an email subscriber would receive."""

    def __init__(self, topic_arn: str, *, region: str = DEFAULT_REGION) -> None:
        self._sqs = boto3.client("sqs", region_name=region)
        name = "alert-inbox-" + re.sub(r"[^A-Za-z0-9_-]", "-", topic_arn.rsplit(":", 1)[-1])
        self.queue_url: str = self._sqs.create_queue(QueueName=name[:80])["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        boto3.client("sns", region_name=region).subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn
        )
        self._received: list[Alert] = []

    def alerts(self) -> list[Alert]:
        """Every alert delivered so far, oldest first."""
        while True:
            response = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return list(self._received)
            for message in messages:
                body = json.loads(message["Body"])
                self._received.append(Alert(body.get("Subject") or "", body["Message"]))
                self._sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
