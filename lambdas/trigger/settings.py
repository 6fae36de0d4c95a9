"""The trigger's configuration: environment variables, read once at cold start and checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

try:  # imported as a package: tests, the local runner, the rerun CLI
    from lambdas.trigger.batch_ids import BATCH_ID_MODES, DEFAULT_BATCH_ID_MODE
except ModuleNotFoundError:  # the Lambda runtime loads the modules from the asset's root
    from batch_ids import BATCH_ID_MODES, DEFAULT_BATCH_ID_MODE  # type: ignore[no-redef]

_STATE_MACHINE_ARN = re.compile(
    r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$"
)


class ConfigurationError(RuntimeError):
    """The function's environment is missing a setting or holds an invalid one."""


@dataclass(frozen=True)
class Settings:
    """The function's configuration, from its environment variables."""

    state_machine_arn: str
    landing_bucket: str
    alert_topic_arn: str
    landing_prefix: str = "incoming/"
    completion_marker: str = "_SUCCESS"
    batch_id_mode: str = DEFAULT_BATCH_ID_MODE
    metrics_namespace: str = "EtlPipeline"
    stage: str = "dev"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Read and check the settings; :class:`ConfigurationError` names the bad variable."""
        arn = environ.get("STATE_MACHINE_ARN", "").strip()
        if not arn:
            raise ConfigurationError(
                "STATE_MACHINE_ARN is not set: the trigger needs the ARN of the workflow's "
                "state machine (the stack sets it)"
            )
        if not _STATE_MACHINE_ARN.match(arn):
            raise ConfigurationError(
                f"STATE_MACHINE_ARN={arn!r} is not a state machine ARN "
                "(arn:<partition>:states:<region>:<account>:stateMachine:<name>)"
            )
        bucket = environ.get("LANDING_BUCKET", "").strip()
        if not bucket:
            raise ConfigurationError(
                "LANDING_BUCKET is not set: the trigger needs the landing bucket's name to "
                "ignore events of other buckets (the stack sets it)"
            )
        topic = environ.get("ALERT_TOPIC_ARN", "").strip()
        if not topic.startswith("arn:"):
            raise ConfigurationError(
                f"ALERT_TOPIC_ARN={topic!r} is not a topic ARN: the trigger reports uploads it "
                "cannot process to the alert topic (the stack sets it)"
            )
        mode = environ.get("BATCH_ID_MODE", cls.batch_id_mode).strip() or cls.batch_id_mode
        if mode not in BATCH_ID_MODES:
            raise ConfigurationError(
                f"BATCH_ID_MODE={mode!r} is not one of {', '.join(BATCH_ID_MODES)}"
            )
        prefix = environ.get("LANDING_PREFIX", cls.landing_prefix).strip().lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        marker = environ.get("COMPLETION_MARKER", cls.completion_marker).strip()
        if "/" in marker:
            raise ConfigurationError(f"COMPLETION_MARKER={marker!r} must be a file name, no '/'")
        return cls(
            state_machine_arn=arn,
            landing_bucket=bucket,
            alert_topic_arn=topic,
            landing_prefix=prefix,
            completion_marker=marker,
            batch_id_mode=mode,
            metrics_namespace=environ.get("METRICS_NAMESPACE", cls.metrics_namespace).strip()
            or cls.metrics_namespace,
            stage=environ.get("STAGE", cls.stage).strip() or cls.stage,
        )
