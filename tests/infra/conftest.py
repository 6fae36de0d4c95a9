"""Synthesizes the app once per test session, exactly as app.py does, for dev and prod.

Twice, in fact: environment-agnostic (``make synth`` without credentials) and with an account
and region, as ``cdk deploy`` synthesizes (the CLI sets CDK_DEFAULT_ACCOUNT/REGION from the
credentials). cdk-nag, cfn-lint and the IAM walk run on both forms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment
from aws_cdk.assertions import Template

from stacks.app_builder import PROJECT_ROOT, build_app
from stacks.etl_stack import EtlStack

CDK_CONTEXT: Mapping[str, Any] = json.loads((PROJECT_ROOT / "cdk.json").read_text())["context"]
PIPELINE_CONFIG = PROJECT_ROOT / CDK_CONTEXT["pipeline_config"]
# What the Makefile passes as synth_only_notification_email (prod requires an address).
SYNTH_ONLY_EMAIL = "etl-alerts@synth-only.invalid"
# The environment `cdk deploy` synthesizes for (the example account and region).
DEPLOY_ENV = Environment(account="111111111111", region="eu-west-1")
SYNTH_FORMS = ("env-agnostic", "account+region")

Synthesized = tuple[Path, dict[str, EtlStack]]


def synth_app(
    outdir: Path, stages: Mapping[str, Any] | None = None, env: Environment | None = None
) -> tuple[App, dict[str, EtlStack]]:
    """Build every stage of cdk.json (or of ``stages``) into a fresh App writing to ``outdir``."""
    stage_map = dict(stages if stages is not None else CDK_CONTEXT["stages"])
    app = App(outdir=str(outdir), context=dict(CDK_CONTEXT))
    built = build_app(
        app,
        stages=stage_map,
        selected=sorted(stage_map),
        pipeline_config_path=PIPELINE_CONFIG,
        env=env,
        synth_only_email=SYNTH_ONLY_EMAIL,
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
def synthesized_for_deploy(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The same, synthesized with an account and region as `cdk deploy` does."""
    outdir = tmp_path_factory.mktemp("cdk.out-deploy")
    app, stacks = synth_app(outdir, env=DEPLOY_ENV)
    app.synth()
    return outdir, stacks


@pytest.fixture(scope="session", params=SYNTH_FORMS)
def every_synth_form(request: pytest.FixtureRequest) -> Synthesized:
    """Each synth form in turn: environment-agnostic, then with an account and region."""
    name = "synthesized" if request.param == SYNTH_FORMS[0] else "synthesized_for_deploy"
    synthesized: Synthesized = request.getfixturevalue(name)
    return synthesized


@pytest.fixture(scope="session")
def every_form_templates(every_synth_form: Synthesized) -> dict[str, dict[str, Any]]:
    """The templates of one synth form, by stage."""
    return read_templates(every_synth_form)


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
    return read_templates(synthesized)


def read_templates(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """The templates written to a cloud assembly, by stage."""
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
