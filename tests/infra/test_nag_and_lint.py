"""cdk-nag AwsSolutions and cfn-lint on the synthesized app: no findings left unexplained."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import aws_sqs as sqs

from stacks.app_builder import PROJECT_ROOT
from stacks.etl_stack import EtlStack
from tests.infra.conftest import synth_app


def test_cdk_nag_reports_no_violations(synthesized: tuple[Path, dict[str, EtlStack]]) -> None:
    outdir, _ = synthesized
    report = json.loads((outdir / "validation-report.json").read_text())
    violations = [
        (rule["ruleName"], c["constructPath"])
        for plugin in report["pluginReports"]
        for rule in plugin.get("violations", [])
        for c in rule["violatingConstructs"]
    ]
    assert violations == []


def test_every_nag_acknowledgment_carries_a_reason(
    templates: dict[str, dict[str, Any]],
) -> None:
    count = 0
    for template in templates.values():
        for logical_id, resource in template["Resources"].items():
            rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
            for rule in rules:
                count += 1
                assert rule["id"].startswith("AwsSolutions-"), logical_id
                assert len(rule["reason"]) >= 20, f"{logical_id} {rule['id']}: reason too short"
    assert count > 0


def test_cdk_nag_fails_synth_on_a_violation(tmp_path: Path) -> None:
    """The check is live: an unencrypted queue without TLS or DLQ fails synth."""
    app, stacks = synth_app(tmp_path, stages={"dev": {}})
    sqs.Queue(stacks["dev"], "UnsafeQueue")
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed.*UnsafeQueue.*AwsSolutions-SQS4"):
        app.synth()


def test_cfn_lint_passes_on_every_template(synthesized: tuple[Path, dict[str, EtlStack]]) -> None:
    outdir, stacks = synthesized
    templates = [str(outdir / f"{stack.stack_name}.template.json") for stack in stacks.values()]
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "cfn-lint"),
            "--config-file",
            str(PROJECT_ROOT / ".cfnlintrc.yaml"),
            "--",
            *templates,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
