"""The local AWS emulator of the deploy rehearsal: started on a free loopback port, always stopped.

ministack runs from its own virtualenv (``.venv-emulator``, made by ``make rehearse``) through
the launcher in :mod:`rehearsal.emulator_gaps`. It runs in a process group of its own, so
stopping it by its PID also stops the Lambda workers it spawned.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from rehearsal.emulator_gaps import PROJECT_ROOT, emulator_environment

ACCOUNT_ID = "000000000000"
REGION = "us-east-1"
# Dummy credentials: the emulator accepts any; they keep every client off real AWS profiles.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": ACCOUNT_ID, "AWS_SECRET_ACCESS_KEY": "test"}
EMULATOR_VENV = PROJECT_ROOT / ".venv-emulator"
LAUNCHER = PROJECT_ROOT / "rehearsal" / "emulator_gaps.py"
# Waits and retry intervals of the deployed definition run at this fraction of their length:
# dev's 30-second settle takes 0.3 s, so the real dev stage is rehearsed, not a faster copy.
WAIT_SCALE = 0.01
READY_TIMEOUT_SECONDS = 60.0


class EmulatorError(RuntimeError):
    """The emulator did not start, or a call to it failed; the message says why."""


@dataclass(frozen=True)
class Emulator:
    """A running emulator: its endpoint, process id and log file."""

    endpoint: str
    pid: int
    log_path: Path

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` that talks to the emulator only."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def cli_environment(self, base: Mapping[str, str]) -> dict[str, str]:
        """Environment for the CDK CLI: the emulator's endpoint and dummy credentials only."""
        env = {k: v for k, v in base.items() if not k.startswith("AWS_")}
        env.update(CREDENTIALS)
        env.update(
            {"AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
        )
        # Offline: the CLI must not try to send usage telemetry anywhere.
        env["CDK_DISABLE_CLI_TELEMETRY"] = "true"
        return env

    def configure(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """POST runtime settings to the emulator's admin endpoint; returns what it applied."""
        request = urllib.request.Request(  # noqa: S310 (http on the loopback emulator)
            f"{self.endpoint}/_ministack/config",
            data=json.dumps(settings).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            applied: dict[str, Any] = json.loads(response.read())["applied"]
        missing = set(settings) - set(applied)
        if missing:
            raise EmulatorError(f"the emulator refused the settings {sorted(missing)}")
        return applied


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it; others may run emulators too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def node_bin() -> Path | None:
    """The Node >= 22 the Makefile installed under .node/, if it did (else the machine's)."""
    found = sorted((PROJECT_ROOT / ".node" / "node_modules").glob("node-linux-*/bin"))
    return found[0] if found else None


@contextmanager
def running_emulator(workdir: Path, *, attempts: int = 3) -> Iterator[Emulator]:
    """Start the emulator on a free loopback port; stop it by its PID on the way out, always."""
    python = EMULATOR_VENV / "bin" / "python"
    if not python.exists():
        raise EmulatorError(f"{python} is missing: run `make rehearse` (it creates the venv)")
    workdir.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, attempts + 1):
        port = free_loopback_port()
        log_path = workdir / "emulator.log"
        env = emulator_environment(os.environ, port=port, node_bin=node_bin())
        env["SFN_WAIT_SCALE"] = str(WAIT_SCALE)
        # Its PID file and the Lambda workers' folders go here, not into the shared /tmp.
        scratch = workdir / "emulator-tmp"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        env["TMPDIR"] = str(scratch)
        with log_path.open("w") as log:
            process = subprocess.Popen(  # noqa: S603 (the project's own emulator launcher)
                [str(python), str(LAUNCHER)],
                env=env,
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: Lambda workers stop with it
            )
        try:
            endpoint = f"http://127.0.0.1:{port}"
            if _wait_until_ready(process, endpoint):
                yield Emulator(endpoint=endpoint, pid=process.pid, log_path=log_path)
                return
            if attempt == attempts:
                raise EmulatorError(
                    f"the emulator did not start on 127.0.0.1:{port}; its log ({log_path}) "
                    f"ends with:\n{_tail(log_path)}"
                )
        finally:
            stop(process)
            shutil.rmtree(scratch, ignore_errors=True)


def _wait_until_ready(process: subprocess.Popen[bytes], endpoint: str) -> bool:
    """True once the health endpoint answers; False if the process exits first (port taken)."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"{endpoint}/_ministack/health", timeout=2):  # noqa: S310
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the emulator's process group by its PID: SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
    # The group may outlive its leader (a Lambda worker still busy): end it too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
