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
from tests.infra.conftest import DEPLOY_ENV, Synthesized, read_templates, synth_app


def test_cdk_nag_reports_no_violations(every_synth_form: Synthesized) -> None:
    """With and without an account and region: an acknowledgment must hold in both."""
    outdir, _ = every_synth_form
    report = json.loads((outdir / "validation-report.json").read_text())
    violations = [
        (rule["ruleName"], c["constructPath"])
        for plugin in report["pluginReports"]
        for rule in plugin.get("violations", [])
        for c in rule["violatingConstructs"]
    ]
    assert violations == []


def test_every_nag_acknowledgment_carries_a_reason(
    every_form_templates: dict[str, dict[str, Any]],
) -> None:
    count = 0
    for template in every_form_templates.values():
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


def test_cfn_lint_passes_on_every_template(every_synth_form: Synthesized) -> None:
    outdir, stacks = every_synth_form
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


def _acknowledged_resources(template: dict[str, Any]) -> set[str]:
    return {
        rule["id"]
        for resource in template["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        if "[Resource::" in rule["id"]
    }


def test_acknowledged_arns_are_the_granted_ones_in_either_form(
    templates: dict[str, dict[str, Any]], synthesized_for_deploy: Synthesized
) -> None:
    """The same ARNs, spelled as each form renders them: nothing wider is acknowledged."""
    agnostic = _acknowledged_resources(templates["dev"])
    for_deploy = _acknowledged_resources(read_templates(synthesized_for_deploy)["dev"])
    account, region = DEPLOY_ENV.account, DEPLOY_ENV.region
    assert (
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
        "log-group:/aws-glue/*]" in agnostic
    )
    assert (
        f"AwsSolutions-IAM5[Resource::arn:aws:logs:{region}:{account}:log-group:/aws-glue/*]"
        in (for_deploy)
    )
    assert (
        f"AwsSolutions-IAM5[Resource::arn:aws:glue:{region}:{account}:table/flights_dev/*]"
        in for_deploy
    )
    assert (
        f"AwsSolutions-IAM5[Resource::arn:aws:s3:::cdk-hnb659fds-assets-{account}-{region}/*]"
        in for_deploy
    )
    # Same count in both forms, and only the one "*" (PutMetricData, X-Ray, log delivery).
    assert len(agnostic) == len(for_deploy)
    assert {a for a in for_deploy if a.endswith("[Resource::*]")} == {
        "AwsSolutions-IAM5[Resource::*]"
    }
