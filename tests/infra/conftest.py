"""Synthesizes the app once per test session, exactly as app.py does, for dev and prod."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from stacks.app_builder import PROJECT_ROOT, build_app
from stacks.etl_stack import EtlStack

CDK_CONTEXT: Mapping[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
PIPELINE_CONFIG = PROJECT_ROOT / CDK_CONTEXT["pipeline_config"]


def synth_app(
    outdir: Path, stages: Mapping[str, Any] | None = None
) -> tuple[App, dict[str, EtlStack]]:
    """Build every stage of cdk.json (or of ``stages``) into a fresh App writing to ``outdir``."""
    stage_map = dict(stages if stages is not None else CDK_CONTEXT["stages"])
    app = App(outdir=str(outdir), context=dict(CDK_CONTEXT))
    built = build_app(
        app, stages=stage_map, selected=sorted(stage_map), pipeline_config_path=PIPELINE_CONFIG
    )
    return app, built


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, EtlStack]]:
    """The cloud assembly directory and the stacks, synthesized once with cdk-nag active."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stacks = synth_app(outdir)
    app.synth()
    return outdir, stacks


@pytest.fixture(scope="session")
def dev_stack(synthesized: tuple[Path, dict[str, EtlStack]]) -> EtlStack:
    return synthesized[1]["dev"]


@pytest.fixture(scope="session")
def dev_template(dev_stack: EtlStack) -> Template:
    return Template.from_stack(dev_stack)


@pytest.fixture(scope="session")
def prod_template(synthesized: tuple[Path, dict[str, EtlStack]]) -> Template:
    return Template.from_stack(synthesized[1]["prod"])


@pytest.fixture(scope="session")
def templates(synthesized: tuple[Path, dict[str, EtlStack]]) -> dict[str, dict[str, Any]]:
    """Every synthesized template as JSON, by stage."""
    outdir, stacks = synthesized
    return {
        stage: json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
        for stage, stack in stacks.items()
    }


def resources_of_type(template: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    """Logical ID -> resource for every resource of ``resource_type``."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }
