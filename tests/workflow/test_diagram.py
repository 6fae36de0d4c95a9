"""The README's state diagram is the synthesized definition's, generated and current."""

from __future__ import annotations

import re

from etl_local.offline_aws import StateMachineDefinition
from tests.workflow.conftest import NOTIFY, QUIET
from tests.workflow.diagram import README, current_readme_block, readme_block


def test_readme_diagram_matches_the_synthesized_definition(
    definitions: dict[str, StateMachineDefinition],
) -> None:
    assert current_readme_block(README.read_text()) == readme_block(definitions[NOTIFY]), (
        "README workflow diagram is stale: run .venv/bin/python -m tests.workflow.diagram"
    )


def test_readme_diagram_names_every_state_of_every_stage_shape(
    definitions: dict[str, StateMachineDefinition],
) -> None:
    block = current_readme_block(README.read_text())
    named = set(re.findall(r"^\s+(\w+) -->", block, flags=re.MULTILINE))
    for stage in (QUIET, NOTIFY):
        assert set(definitions[stage]["States"]) <= named, stage
    assert named == set(definitions[NOTIFY]["States"])
