#!/usr/bin/env bash
# Prints the path of a Python 3.11 interpreter that really runs and can make venvs.
#
#   scripts/find_python311.sh [--provision BOOTSTRAP_VENV]
#
# Looks, in order, at: every python3.11 on PATH (a pyenv shim that answers "command not found"
# does not count, the next one on PATH is tried), python3 and python on PATH, pyenv's installed
# 3.11.x (newest first, whatever version is active), and `uv python find 3.11`. With --provision,
# when none is found it installs Python 3.11 without root: the pinned uv from PyPI
# (requirements/bootstrap.txt) into BOOTSTRAP_VENV, made with whatever python3 there is, then
# `uv python install 3.11` (uv downloads a CPython build into its user data folder).
# Exit 0 with the path on stdout; exit 1 with one message on stderr saying what to install.
#
# Only bash builtins and the candidates themselves run here, so a test can hand it a fake PATH.
set -uo pipefail

readonly WANTED="3.11"
# A candidate counts when it is 3.11 and has what `python -m venv` needs (ensurepip is a separate
# package on Debian/Ubuntu) and what pip needs (ssl). It prints its real path: a pyenv shim
# resolves to the interpreter behind it.
readonly PROBE='import sys, ssl, venv, ensurepip
assert sys.version_info[:2] == (3, 11), sys.version
print(sys.executable)'

script_dir="${BASH_SOURCE[0]%/*}"
[[ "$script_dir" == "${BASH_SOURCE[0]}" ]] && script_dir=.
project_dir="$(cd "$script_dir/.." && pwd)"
bootstrap_venv=""
if [[ "${1:-}" == "--provision" ]]; then
    bootstrap_venv="${2:?--provision needs the folder of the bootstrap venv}"
fi

say() { printf 'find_python311: %s\n' "$*" >&2; }

# Prints the candidate's real path when it is a working 3.11; silent otherwise.
probe() {
    local candidate="$1" path
    [[ -x "$candidate" && ! -d "$candidate" ]] || return 1
    path="$("$candidate" -c "$PROBE" 2>/dev/null)" || return 1
    [[ -n "$path" ]] || return 1
    printf '%s\n' "$path"
}

# Every executable called $1 on PATH, in PATH order (like `which -a`).
on_path() {
    local dir
    local IFS=:
    for dir in $PATH; do
        [[ -n "$dir" && -x "$dir/$1" && ! -d "$dir/$1" ]] && printf '%s\n' "$dir/$1"
    done
}

# pyenv's installed 3.11.x interpreters, newest patch first (not only the active version).
pyenv_candidates() {
    local root="${PYENV_ROOT:-${HOME:-}/.pyenv}" dir index
    local -a by_patch=() patches=()
    for dir in "$root/versions/$WANTED".*; do
        [[ "${dir##*/}" =~ ^3\.11\.([0-9]+)$ ]] || continue
        by_patch[BASH_REMATCH[1]]="$dir/bin/python$WANTED"
    done
    patches=("${!by_patch[@]}")
    for ((index = ${#patches[@]} - 1; index >= 0; index--)); do
        printf '%s\n' "${by_patch[patches[index]]}"
    done
}

# What uv knows (its own installs and any it can see), from uv on PATH or the bootstrap venv.
uv_candidates() {
    local uv
    while IFS= read -r uv; do
        "$uv" python find --no-config "$WANTED" 2>/dev/null
    done < <(
        on_path uv
        [[ -n "$bootstrap_venv" && -x "$bootstrap_venv/bin/uv" ]] && echo "$bootstrap_venv/bin/uv"
    )
    return 0
}

find_python311() {
    local candidate found
    while IFS= read -r candidate; do
        [[ -n "$candidate" ]] || continue
        if found="$(probe "$candidate")"; then
            printf '%s\n' "$found"
            return 0
        fi
    done < <(
        on_path "python$WANTED"
        on_path python3
        on_path python
        pyenv_candidates
        uv_candidates
    )
    return 1
}

# Any python3 that can make a venv with pip: the bootstrap only runs pip and uv.
bootstrap_python() {
    local candidate
    while IFS= read -r candidate; do
        if "$candidate" -c 'import sys, venv, ensurepip, ssl; assert sys.version_info >= (3, 8)' \
            2>/dev/null; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done < <(on_path python3; on_path python)
    return 1
}

provision() {
    local python
    if [[ ! -x "$bootstrap_venv/bin/uv" ]]; then
        python="$(bootstrap_python)" || {
            say "no python3 with the venv module to install uv with"
            return 1
        }
        say "no Python $WANTED found; installing uv into $bootstrap_venv (with $python) to get one"
        if ! { "$python" -m venv "$bootstrap_venv" >&2 &&
            "$bootstrap_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
                -r "$project_dir/requirements/bootstrap.txt" >&2; }; then
            say "installing uv from PyPI failed (see above)"
            return 1
        fi
    fi
    say "uv python install $WANTED (downloads a CPython build into uv's user data folder)"
    "$bootstrap_venv/bin/uv" python install --no-config "$WANTED" >&2 || {
        say "uv could not download Python $WANTED (see above)"
        return 1
    }
    find_python311
}

if find_python311; then
    exit 0
fi
if [[ -n "$bootstrap_venv" ]] && provision; then
    exit 0
fi
printf '%s\n' >&2 \
    "" \
    "No Python $WANTED found (looked at python$WANTED, python3 and python on PATH, pyenv, uv)${bootstrap_venv:+, and installing one with uv failed}." \
    "The project needs Python $WANTED (Glue 5.0 runs 3.11). Install one, then run make again:" \
    "  macOS (Homebrew):      brew install python@3.11" \
    "  Debian/Ubuntu:         sudo apt-get install python3.11 python3.11-venv  (Ubuntu 24.04: deadsnakes PPA)" \
    "  pyenv:                 pyenv install 3.11" \
    "  uv:                    uv python install 3.11" \
    "or name one: make setup PYTHON311=/path/to/python3.11"
exit 1
