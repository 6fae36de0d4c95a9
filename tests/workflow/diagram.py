"""The README's picture of the workflow: a mermaid state diagram generated from the definition.

``.venv/bin/python -m tests.workflow.diagram`` synthesizes the workflow and rewrites the block
between the README's ``workflow-diagram`` markers; tests/workflow/test_diagram.py fails when
the block and the synthesized definition differ.
"""

from __future__ import annotations

import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parents[2] / "README.md"
START_MARKER = "<!-- workflow-diagram:start -->"
END_MARKER = "<!-- workflow-diagram:end -->"
_BLOCK = re.compile(re.escape(START_MARKER) + r"\n(.*?)" + re.escape(END_MARKER), re.DOTALL)


def mermaid_state_diagram(definition: Mapping[str, Any]) -> str:
    """``stateDiagram-v2`` text: every state and transition, edges labelled with their reason."""
    states: Mapping[str, Mapping[str, Any]] = definition["States"]
    lines = ["stateDiagram-v2", f"    [*] --> {definition['StartAt']}"]
    for name, state in states.items():
        lines.extend(
            f"    {name} --> {target}{_label(label)}" for target, label in _edges(name, state)
        )
        if state["Type"] in ("Succeed", "Fail") or state.get("End"):
            lines.append(f"    {name} --> [*]")
    lines.extend(
        [
            "    classDef choice fill:#fff4cc,stroke:#b08800",
            "    classDef alert fill:#e7f0ff,stroke:#1f5fbf",
            "    classDef failed fill:#ffe3e3,stroke:#c92a2a",
        ]
    )
    for style, members in _classes(states).items():
        if members:
            lines.append(f"    class {','.join(members)} {style}")
    return "\n".join(lines) + "\n"


def readme_block(definition: Mapping[str, Any]) -> str:
    """What belongs between the README markers."""
    return (
        "<!-- generated from the synthesized definition: .venv/bin/python -m "
        "tests.workflow.diagram -->\n"
        f"```mermaid\n{mermaid_state_diagram(definition)}```\n"
    )


def current_readme_block(readme_text: str) -> str:
    """The README's block between the markers (raises if the markers are missing)."""
    match = _BLOCK.search(readme_text)
    if match is None:
        raise ValueError(f"README has no {START_MARKER} ... {END_MARKER} block")
    return match.group(1)


def _edges(name: str, state: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for rule in state.get("Choices", []):
        yield rule["Next"], rule.get("Comment", "")
    if "Default" in state:
        yield state["Default"], "otherwise"
    if "Next" in state:
        yield state["Next"], ""
    for retrier in state.get("Retry", []):
        yield name, "retry " + ", ".join(_short(e) for e in retrier["ErrorEquals"])
    for catcher in state.get("Catch", []):
        yield catcher["Next"], "catch " + ", ".join(_short(e) for e in catcher["ErrorEquals"])


def _short(error: str) -> str:
    return "any error" if error == "States.ALL" else error.removeprefix("Glue.")


def _label(text: str) -> str:
    return f": {text}" if text else ""


def _classes(states: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    return {
        "choice": [n for n, s in states.items() if s["Type"] == "Choice"],
        "alert": [
            n for n, s in states.items() if str(s.get("Resource", "")).endswith("sns:publish")
        ],
        "failed": [n for n, s in states.items() if s["Type"] == "Fail"],
    }


def main() -> None:
    """Synthesize the notify-on-success shape (a superset of every stage) and update README."""
    from tests.workflow.conftest import NOTIFY, TEST_STAGES, resolve_definition, synthesize

    with tempfile.TemporaryDirectory() as outdir:
        template = synthesize(Path(outdir), {NOTIFY: TEST_STAGES[NOTIFY]})[NOTIFY]
    block = readme_block(resolve_definition(template))
    text = README.read_text()
    current_readme_block(text)
    README.write_text(_BLOCK.sub(lambda _: f"{START_MARKER}\n{block}{END_MARKER}", text, count=1))
    sys.stdout.write(f"updated the workflow diagram in {README}\n")


if __name__ == "__main__":
    main()
