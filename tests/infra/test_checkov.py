"""checkov on the synthesized templates: no failure, and every skipped check explained.

checkov runs from its own venv (.venv-checkov, made by make setup: its dependencies clash with
the project's pins). .checkov.yaml skips whole checks; the second test proves each skipped check
fails only on the resources its comment names, so a skip cannot hide a new finding.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stacks.app_builder import PROJECT_ROOT
from stacks.etl_stack import EtlStack

CHECKOV = PROJECT_ROOT / ".venv-checkov" / "bin" / "checkov"
CONFIG = PROJECT_ROOT / ".checkov.yaml"


def explained_skips() -> dict[str, dict[str, Any]]:
    """Check id -> its comment: ``title``, ``resources`` (logical-id prefixes), ``why``."""
    skips: dict[str, dict[str, Any]] = {}
    comment: list[str] = []
    _, _, skip_list = CONFIG.read_text().partition("\nskip-check:\n")
    for line in skip_list.splitlines():
        text = line.strip()
        if text.startswith("#"):
            comment.append(text.removeprefix("#").strip())
        elif text.startswith("- "):
            resources = [c for c in comment if c.startswith("resources: ")]
            why = " ".join(c for c in comment if not c.startswith("resources: ")).partition("why:")
            skips[text[2:]] = {
                "title": comment[0] if comment else "",
                "resources": resources[0].removeprefix("resources: ").split(", ")
                if resources
                else [],
                "why": why[2].strip(),
            }
            comment = []
        elif text and not line.startswith(" "):
            break
    return skips


def run_checkov(templates: list[Path], *extra: str) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run make setup (it makes .venv-checkov)")
    args = [str(CHECKOV), "--output", "json", "--skip-download", "--framework", "cloudformation"]
    for template in templates:
        args += ["--file", str(template)]
    done = subprocess.run(
        [*args, *extra],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        # Away from the project root, whose .checkov.yaml checkov would read besides --config-file.
        cwd=templates[0].parent,
    )
    assert done.returncode in (0, 1), done.stderr[-3000:]
    report = json.loads(done.stdout)
    (result,) = report if isinstance(report, list) else [report]
    assert result["summary"]["parsing_errors"] == 0
    return dict(result)


@pytest.fixture(scope="module")
def template_files(synthesized: tuple[Path, dict[str, EtlStack]]) -> list[Path]:
    outdir, stacks = synthesized
    return [outdir / f"{stack.stack_name}.template.json" for stack in stacks.values()]


def test_checkov_reports_no_failed_check(template_files: list[Path]) -> None:
    result = run_checkov(template_files, "--config-file", str(CONFIG))
    failed = [
        (check["check_id"], check["resource"]) for check in result["results"]["failed_checks"]
    ]
    assert failed == []
    assert result["summary"]["passed"] > 100


def test_each_skipped_check_fails_only_on_the_resources_its_reason_names(
    template_files: list[Path], tmp_path: Path
) -> None:
    skips = explained_skips()
    assert skips, "no skip-check entries found in .checkov.yaml"
    no_skips = tmp_path / "checkov.yaml"
    no_skips.write_text("framework: [cloudformation]\n")
    result = run_checkov(template_files, "--config-file", str(no_skips), "--check", ",".join(skips))
    for check in result["results"]["failed_checks"]:
        logical_id = check["resource"].split(".", 1)[1]
        named = skips[check["check_id"]]["resources"]
        assert any(logical_id.startswith(prefix) for prefix in named), (
            f"{check['check_id']} fails on {logical_id}, which .checkov.yaml does not explain "
            f"(it names {named}): fix the resource or explain it there"
        )


def test_every_skip_carries_its_check_name_resources_and_reason() -> None:
    for check_id, skip in explained_skips().items():
        assert re.fullmatch(r"CKV2?_AWS_\d+", check_id), check_id
        assert skip["title"].startswith(f"{check_id} ("), check_id
        assert skip["resources"], f"{check_id}: no 'resources:' line in its comment"
        assert len(skip["why"]) >= 60, f"{check_id}: reason too short: {skip['why']!r}"
