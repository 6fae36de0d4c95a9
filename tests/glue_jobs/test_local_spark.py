"""Local Spark sizing: driver memory and cores from the machine, overrides, Glue left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from etl_local.cli import EXIT_USAGE, main
from join_job.local_spark import (
    CORES_ENV,
    DRIVER_MEMORY_ENV,
    SparkSizingError,
    launched_by_spark_submit,
    size_local_spark,
)

GIB = 1024**3


def test_driver_memory_is_half_the_machine_and_cores_are_all_of_them() -> None:
    sizing = size_local_spark(memory_bytes=24 * GIB, cpu_count=2, environ={})
    assert sizing.driver_memory == "12g"
    assert sizing.master == "local[2]"


def test_driver_memory_is_capped_on_big_machines_and_floored_on_small_ones() -> None:
    assert size_local_spark(memory_bytes=256 * GIB, cpu_count=64, environ={}).driver_memory == (
        "16g"
    )
    assert size_local_spark(memory_bytes=GIB, cpu_count=1, environ={}).driver_memory == "1024m"


def test_memory_is_rounded_down_to_whole_gigabytes_above_two() -> None:
    odd = size_local_spark(memory_bytes=23 * GIB + 512 * 1024**2, cpu_count=8, environ={})
    assert odd.driver_memory == "11g"
    small = size_local_spark(memory_bytes=3 * GIB, cpu_count=1, environ={})
    assert small.driver_memory == "1536m"


def test_environment_overrides_the_machine() -> None:
    environ = {DRIVER_MEMORY_ENV: "6G", CORES_ENV: "3"}
    sizing = size_local_spark(memory_bytes=24 * GIB, cpu_count=2, environ=environ)
    assert (sizing.driver_memory, sizing.cores) == ("6g", 3)


def test_explicit_values_override_the_environment() -> None:
    environ = {DRIVER_MEMORY_ENV: "6g", CORES_ENV: "3"}
    sizing = size_local_spark(
        memory_bytes=24 * GIB, cpu_count=2, environ=environ, driver_memory="2048m", cores=1
    )
    assert (sizing.driver_memory, sizing.master) == ("2048m", "local[1]")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({DRIVER_MEMORY_ENV: "lots"}, DRIVER_MEMORY_ENV),
        ({DRIVER_MEMORY_ENV: "8"}, DRIVER_MEMORY_ENV),
        ({CORES_ENV: "0"}, CORES_ENV),
        ({CORES_ENV: "two"}, CORES_ENV),
    ],
)
def test_a_bad_override_names_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SparkSizingError, match=message):
        size_local_spark(memory_bytes=24 * GIB, cpu_count=2, environ=environ)


def test_a_jvm_started_by_spark_submit_or_glue_is_not_resized() -> None:
    assert launched_by_spark_submit({"PYSPARK_GATEWAY_PORT": "41234"})
    assert not launched_by_spark_submit({})


def test_etl_local_refuses_a_bad_core_count_before_starting_anything(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--cores", "0"]) == EXIT_USAGE
    assert "--cores: must be >= 1, got 0" in capsys.readouterr().err


def test_job_script_run_locally_applies_the_override_and_names_a_bad_one(tmp_path: Path) -> None:
    # Fails in the sizing, before any JVM starts: proof that a local job.py run is sized. A bad
    # override is a wrong argument, so exit 2, as for every argument error of job.py.
    script = Path(__file__).resolve().parents[2] / "glue_jobs" / "join_job" / "job.py"
    environ = {k: v for k, v in os.environ.items() if k != "PYSPARK_GATEWAY_PORT"}
    done = subprocess.run(
        [
            sys.executable,
            str(script),
            "--pipeline_config",
            '{"dataset": "d", "input": {"format": "csv"}, "output": {"format": "parquet"}}',
            "--input_path",
            str(tmp_path),
            "--batch_id",
            "b1",
            "--output_path",
            str(tmp_path / "out"),
        ],
        env={**environ, DRIVER_MEMORY_ENV: "plenty"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"job.py: error: {DRIVER_MEMORY_ENV}: 'plenty' is not a JVM memory size" in done.stderr


class RecordingBuilder:
    """Stands in for ``SparkSession.builder``: records the settings, starts no JVM."""

    def __init__(self) -> None:
        self.settings: dict[str, str] = {}

    def master(self, master: str) -> RecordingBuilder:
        self.settings["master"] = master
        return self

    def appName(self, name: str) -> RecordingBuilder:
        return self

    def config(self, key: str, value: str) -> RecordingBuilder:
        self.settings[key] = value
        return self

    def getOrCreate(self) -> Any:
        return mock.MagicMock()


@pytest.mark.parametrize("start", ["job.py", "etl-local"])
def test_local_sessions_share_the_cores_fairly_with_background_jobs(
    start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count and the reference checks run beside the input pass (join_job.background):
    under FAIR scheduling they get cores while the pass runs, instead of queueing behind it."""
    from pyspark.sql import SparkSession

    from etl_local.spark import local_spark_session
    from join_job.local_spark import start_local_session

    builder = RecordingBuilder()
    monkeypatch.setattr(SparkSession, "builder", builder)
    sizing = size_local_spark(memory_bytes=8 * GIB, cpu_count=2, environ={})

    if start == "job.py":
        start_local_session("join-d", sizing)
    else:
        local_spark_session(sizing)

    assert builder.settings["spark.scheduler.mode"] == "FAIR"
    assert builder.settings["master"] == "local[2]"
