"""Synthesize the stack the local runner plays: the real app, a ``local`` stage with short waits.

The local run executes what ``cdk synth`` produces for this stage, so a change to the stack or
the workflow changes the local run with it. Only the stage settings differ from dev: seconds
instead of minutes for the upload gate and retry intervals (they really sleep offline).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.app_builder import PROJECT_ROOT, stack_name

LOCAL_STAGE = "local"
# Short waits: the gate checks every second for up to 20 s; Glue start retries after 1 s.
LOCAL_STAGE_SETTINGS: dict[str, Any] = {
    "glue": {"timeout_minutes": 30},
    "workflow": {
        "settle_seconds": 1,
        "poll_interval_seconds": 1,
        "max_wait_seconds": 20,
        "glue_task_timeout_minutes": 30,
        # No job run queue offline: the local Glue runner starts every run at once.
        "glue_queue_minutes": 0,
        "execution_timeout_minutes": 60,
        "glue_retry_attempts": 2,
        "glue_retry_interval_seconds": 1,
        "notify_on_success": True,
    },
}


class ToolchainError(RuntimeError):
    """Synthesizing needs Node.js (the CDK runs on jsii); the message says how to get it."""


@dataclass(frozen=True)
class SynthesizedStack:
    """The local stage's CloudFormation template and where its assets were staged."""

    name: str
    template: dict[str, Any]

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """``{logical id: resource}`` for every resource of ``resource_type``."""
        return {
            logical_id: resource
            for logical_id, resource in self.template.get("Resources", {}).items()
            if resource.get("Type") == resource_type
        }

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        """The one resource of ``resource_type`` (logical id, resource)."""
        found = self.resources_of_type(resource_type)
        if len(found) != 1:
            raise ValueError(f"expected one {resource_type} in {self.name}, found {len(found)}")
        return next(iter(found.items()))


def synthesize_local_stack(pipeline_config_path: Path) -> SynthesizedStack:
    """Synthesize the ``local`` stage with ``pipeline_config_path`` as the dataset config.

    Runs the same builder as ``app.py`` (feature flags from cdk.json, cdk-nag included) into a
    temporary cloud assembly and returns the template.
    """
    use_project_node()
    # Imported here: loading aws_cdk starts the jsii Node process, which needs Node on PATH.
    from aws_cdk import App

    from stacks.app_builder import build_app

    context: dict[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
    outdir = Path(tempfile.mkdtemp(prefix="etl-local-cdk.out-"))
    try:
        app = App(outdir=str(outdir), context=context)
        build_app(
            app,
            stages={LOCAL_STAGE: LOCAL_STAGE_SETTINGS},
            selected=[LOCAL_STAGE],
            pipeline_config_path=pipeline_config_path,
        )
        app.synth()
        name = stack_name(LOCAL_STAGE)
        template: dict[str, Any] = json.loads((outdir / f"{name}.template.json").read_text())
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    return SynthesizedStack(name=name, template=template)


def use_project_node() -> None:
    """Put the Node.js that ``make setup`` installed first on PATH when the machine's is too old.

    jsii refuses Node older than 22 with a wall of warnings; ``make setup`` installs Node 22 into
    ``.node/`` in that case. Running ``etl-local`` outside make should find it too.
    """
    local_bins = sorted((PROJECT_ROOT / ".node" / "node_modules").glob("node-linux-*/bin"))
    path = os.environ.get("PATH", "")
    for local_bin in local_bins:
        if (local_bin / "node").exists() and str(local_bin) not in path.split(os.pathsep):
            os.environ["PATH"] = f"{local_bin}{os.pathsep}{path}"
            return
    if shutil.which("node") is None:
        raise ToolchainError(
            "Node.js was not found on PATH; the CDK needs it to synthesize the stack. "
            "Run `make setup` (installs Node 22 into .node/ when the machine has none)."
        )
