"""scripts/find_python311.sh, the Makefile's Python 3.11 discovery, run against a fake PATH.

The fakes are tiny bash scripts: a fake interpreter answers the script's probe by printing the
path it stands for (what a real 3.11 prints), or fails the way the real thing fails (a pyenv
shim's "command not found", a 3.12 failing the version assertion, a Python without ensurepip).
Only the fakes are on PATH, so nothing on this machine leaks into the choice.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stacks.app_builder import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "find_python311.sh"
BASH = "/bin/bash"

PYENV_SHIM = """echo "pyenv: ${0##*/}: command not found" >&2
echo "The \\`${0##*/}' command exists in these Python versions: 3.11.7" >&2
exit 127
"""
WRONG_VERSION = """echo "AssertionError: 3.12.1 (main, Jan  1 2024)" >&2
exit 1
"""
NO_ENSUREPIP = """echo "ModuleNotFoundError: No module named 'ensurepip'" >&2
exit 1
"""


def fake(path: Path, body: str) -> Path:
    """An executable bash script at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!{BASH}\n{body}")
    path.chmod(0o755)
    return path


def working_python(path: Path, reports: str | None = None) -> Path:
    """A fake 3.11 that passes the probe, printing its real path (``reports``) as CPython does."""
    return fake(path, f'echo "{reports or path}"\n')


def find(
    tmp_path: Path, *path_dirs: Path, provision: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.pathsep.join(str(d) for d in path_dirs) or str(tmp_path / "empty"),
        "HOME": str(tmp_path / "home"),
        "PYENV_ROOT": str(tmp_path / "pyenv"),
    }
    args = [BASH, str(SCRIPT), *(["--provision", str(provision)] if provision else [])]
    return subprocess.run(args, env=env, capture_output=True, text=True, check=False, timeout=60)


def test_python311_on_path_is_chosen(tmp_path: Path) -> None:
    python = working_python(tmp_path / "bin" / "python3.11")
    done = find(tmp_path, tmp_path / "bin")
    assert (done.returncode, done.stdout) == (0, f"{python}\n")


def test_pyenv_shim_that_answers_command_not_found_is_skipped_for_the_next_on_path(
    tmp_path: Path,
) -> None:
    fake(tmp_path / "shims" / "python3.11", PYENV_SHIM)
    real = working_python(tmp_path / "usr" / "bin" / "python3.11")
    done = find(tmp_path, tmp_path / "shims", tmp_path / "usr" / "bin")
    assert (done.returncode, done.stdout) == (0, f"{real}\n")


def test_a_shim_is_reported_as_the_interpreter_behind_it(tmp_path: Path) -> None:
    shim = tmp_path / "shims" / "python3.11"
    working_python(shim, reports="/opt/pythons/3.11.9/bin/python3.11")
    done = find(tmp_path, tmp_path / "shims")
    assert done.stdout == "/opt/pythons/3.11.9/bin/python3.11\n"


def test_python3_counts_only_when_it_is_311(tmp_path: Path) -> None:
    fake(tmp_path / "a" / "python3", WRONG_VERSION)
    right = working_python(tmp_path / "b" / "python3")
    done = find(tmp_path, tmp_path / "a", tmp_path / "b")
    assert done.stdout == f"{right}\n"


def test_python_without_ensurepip_cannot_make_venvs_and_is_skipped(tmp_path: Path) -> None:
    fake(tmp_path / "a" / "python3.11", NO_ENSUREPIP)
    fallback = working_python(tmp_path / "b" / "python")
    done = find(tmp_path, tmp_path / "a", tmp_path / "b")
    assert done.stdout == f"{fallback}\n"


def test_pyenv_311_is_found_while_312_is_active_newest_patch_first(tmp_path: Path) -> None:
    shims = tmp_path / "pyenv" / "shims"
    fake(shims / "python3.11", PYENV_SHIM)
    fake(shims / "python3", WRONG_VERSION)  # the active 3.12.1
    versions = tmp_path / "pyenv" / "versions"
    fake(versions / "3.12.1" / "bin" / "python3.12", WRONG_VERSION)
    working_python(versions / "3.11.2" / "bin" / "python3.11")
    newest = working_python(versions / "3.11.10" / "bin" / "python3.11")
    fake(versions / "3.11-dev" / "bin" / "python3.11", PYENV_SHIM)
    done = find(tmp_path, shims)
    # 3.11.10 sorts before 3.11.2 as text: the choice is numeric.
    assert (done.returncode, done.stdout) == (0, f"{newest}\n")


def test_uv_managed_python_is_found(tmp_path: Path) -> None:
    managed = working_python(tmp_path / "uv-pythons" / "cpython-3.11" / "bin" / "python3.11")
    fake(tmp_path / "bin" / "uv", f'[[ "$1 $2" == "python find" ]] && echo "{managed}"\n')
    done = find(tmp_path, tmp_path / "bin")
    assert done.stdout == f"{managed}\n"


def test_nothing_found_prints_what_to_install_and_fails(tmp_path: Path) -> None:
    fake(tmp_path / "shims" / "python3.11", PYENV_SHIM)
    fake(tmp_path / "bin" / "python3", WRONG_VERSION)
    done = find(tmp_path, tmp_path / "shims", tmp_path / "bin")
    assert done.returncode == 1
    assert done.stdout == ""
    assert "No Python 3.11 found" in done.stderr
    assert "brew install python@3.11" in done.stderr
    assert "make setup PYTHON311=" in done.stderr


def fake_uv(bootstrap: Path, managed: Path, *, download_works: bool) -> None:
    """A bootstrap venv whose uv 'installs' ``managed`` (or fails as uv does offline)."""
    installed = bootstrap / "installed"
    install = f': > "{installed}"' if download_works else 'echo "error: dns error" >&2; exit 2'
    fake(
        bootstrap / "bin" / "uv",
        f"""case "$1 $2" in
  "python install") {install} ;;
  "python find") [[ -f "{installed}" ]] && echo "{managed}" || exit 2 ;;
esac
""",
    )


def test_provision_installs_311_with_the_bootstrap_uv(tmp_path: Path) -> None:
    fake(tmp_path / "bin" / "python3", WRONG_VERSION)
    managed = working_python(tmp_path / "uv-pythons" / "cpython-3.11.14" / "bin" / "python3.11")
    fake_uv(tmp_path / "bootstrap", managed, download_works=True)

    without = find(tmp_path, tmp_path / "bin")
    done = find(tmp_path, tmp_path / "bin", provision=tmp_path / "bootstrap")

    assert without.returncode == 1
    assert (done.returncode, done.stdout) == (0, f"{managed}\n")
    assert "uv python install 3.11" in done.stderr


def test_provision_that_cannot_download_says_what_to_install(tmp_path: Path) -> None:
    managed = tmp_path / "never-installed" / "python3.11"
    fake_uv(tmp_path / "bootstrap", managed, download_works=False)
    done = find(tmp_path, tmp_path / "bin", provision=tmp_path / "bootstrap")
    assert done.returncode == 1
    assert "uv could not download Python 3.11" in done.stderr
    assert "installing one with uv failed" in done.stderr
    assert "pyenv install 3.11" in done.stderr


def test_the_probe_accepts_a_real_311_and_reports_its_path(tmp_path: Path) -> None:
    link = tmp_path / "bin" / "python3.11"
    link.parent.mkdir()
    link.symlink_to(sys.executable)
    done = find(tmp_path, tmp_path / "bin")
    assert done.returncode == 0, done.stderr
    reported = Path(done.stdout.strip())
    check = [str(reported), "-c", "import sys; print(sys.version_info[:2])"]
    assert subprocess.run(check, capture_output=True, text=True, check=True).stdout == "(3, 11)\n"
