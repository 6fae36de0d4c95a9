"""Builds the CDK app from already-read context: used by app.py and by the tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from stacks.config import load_stage_config
from stacks.etl_stack import EtlStack

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def stack_name(stage: str) -> str:
    """CloudFormation stack name of a stage."""
    return f"EtlPipeline-{stage}"


def build_app(
    app: App,
    *,
    stages: Mapping[str, Any],
    selected: Sequence[str],
    pipeline_config_path: Path,
    env: Environment | None = None,
    synth_only_email: str | None = None,
) -> dict[str, EtlStack]:
    """Add one EtlStack per selected stage to ``app`` and run cdk-nag AwsSolutions on all.

    ``synth_only_email``: see :func:`stacks.config.load_stage_config`.
    """
    built = {
        stage: EtlStack(
            app,
            stack_name(stage),
            config=load_stage_config(
                stage, stages, pipeline_config_path, synth_only_email=synth_only_email
            ),
            env=env,
            description=f"Event-driven S3 -> Step Functions -> Glue ETL pipeline ({stage})",
        )
        for stage in selected
    }
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )
    return built
