"""The local runner's checks on user input: each mistake gets a message naming flag and fix."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from etl_local.cli import EXIT_USAGE, main
from etl_local.inputs import (
    UserInputError,
    check_output_outside_incoming,
    check_reference_dir,
    collect_batch,
    load_config,
    prepare_output_dir,
)
from stacks.app_builder import PROJECT_ROOT

SAMPLE_CONFIG = PROJECT_ROOT / "config" / "pipeline.json"


def write_config(path: Path, **overrides: object) -> Path:
    raw = json.loads(SAMPLE_CONFIG.read_text())
    raw.update(overrides)
    path.write_text(json.dumps(raw))
    return path


def test_missing_config_file_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"--config .*nope\.json: no such file"):
        load_config(tmp_path / "nope.json")


def test_config_missing_a_field_names_the_field(tmp_path: Path) -> None:
    raw = json.loads(SAMPLE_CONFIG.read_text())
    del raw["dataset"]
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(UserInputError, match="dataset"):
        load_config(path)


def test_reference_dir_missing_a_data_set_names_it_and_its_join(tmp_path: Path) -> None:
    config = load_config(SAMPLE_CONFIG)
    for name in ("airlines", "airports"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "part.csv").write_text("x\n1\n")
    with pytest.raises(UserInputError, match=r"missing folder planes/ .*joins\[1\]"):
        check_reference_dir(tmp_path, config)


def test_reference_folder_without_data_files_is_refused(tmp_path: Path) -> None:
    config = load_config(SAMPLE_CONFIG)
    for name in ("airlines", "planes", "airports"):
        (tmp_path / name).mkdir()
    (tmp_path / "airlines" / "a.csv").write_text("carrier\nAA\n")
    (tmp_path / "airports" / "a.csv").write_text("faa\nJFK\n")
    (tmp_path / "planes" / "_SUCCESS").write_text("")
    with pytest.raises(UserInputError, match=r"folder planes/ holds no data files"):
        check_reference_dir(tmp_path, config)


def test_missing_reference_dir(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"--reference-dir .*: no such folder"):
        check_reference_dir(tmp_path / "absent", load_config(SAMPLE_CONFIG))


def test_folder_batch_takes_its_name_and_relative_keys(tmp_path: Path) -> None:
    folder = tmp_path / "2026-11-20"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x\n")
    (folder / "sub" / "b.csv").write_text("x\n")
    (folder / "_SUCCESS").write_text("")
    (folder / ".hidden").write_text("")
    batch = collect_batch(folder, None)
    assert batch.batch_id == "2026-11-20"
    assert not batch.single_object
    assert [relative for _, relative in batch.files] == ["a.csv", "sub/b.csv"]


def test_single_file_is_its_own_batch_unless_a_batch_id_is_given(tmp_path: Path) -> None:
    file = tmp_path / "flights.csv"
    file.write_text("x\n")
    alone = collect_batch(file, None)
    assert (alone.batch_id, alone.single_object) == ("flights.csv", True)
    grouped = collect_batch(file, "day-1")
    assert (grouped.batch_id, grouped.single_object) == ("day-1", False)
    assert grouped.files == ((file, "flights.csv"),)


@pytest.mark.parametrize("bad_id", ["a/b", "", "-lead", "x y", "a+b", "a=b", "a:b", "x" * 129])
def test_batch_id_that_cannot_be_a_prefix_is_refused(tmp_path: Path, bad_id: str) -> None:
    file = tmp_path / "f.csv"
    file.write_text("x\n")
    with pytest.raises(UserInputError, match="--batch-id"):
        collect_batch(file, bad_id)


def test_unreadable_or_empty_input_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no such file or folder"):
        collect_batch(tmp_path / "absent", None)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserInputError, match="holds no data files"):
        collect_batch(empty, None)
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.csv"
        locked.write_text("x\n")
        locked.chmod(0)
        with pytest.raises(UserInputError, match="not readable"):
            collect_batch(locked, None)


def test_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "out"
    file.write_text("")
    with pytest.raises(UserInputError, match=r"--output .*out"):
        prepare_output_dir(file)


def test_cli_reports_a_user_mistake_with_exit_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "run",
            "--config",
            str(SAMPLE_CONFIG),
            "--reference-dir",
            str(tmp_path / "no-refs"),
            "--incoming",
            str(tmp_path),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert status == EXIT_USAGE
    assert "etl-local: error: --reference-dir" in capsys.readouterr().err


@pytest.mark.parametrize("inside", [".", "out", "out/deeper", "../2026-11-20/out"])
def test_output_inside_the_incoming_folder_is_refused(tmp_path: Path, inside: str) -> None:
    incoming = tmp_path / "2026-11-20"
    incoming.mkdir()
    with pytest.raises(UserInputError, match=r"--output .* is inside --incoming"):
        check_output_outside_incoming(incoming / inside, incoming)


def test_output_beside_the_incoming_folder_or_its_file_is_accepted(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming" / "2026-11-20"
    incoming.mkdir(parents=True)
    (incoming / "part-1.csv").write_text("a\n1\n")
    check_output_outside_incoming(tmp_path / "out", incoming)
    check_output_outside_incoming(tmp_path / "incoming" / "out", incoming)
    check_output_outside_incoming(incoming, incoming / "part-1.csv")


def test_cli_refuses_output_inside_incoming_before_creating_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    incoming = tmp_path / "incoming" / "2026-11-20"
    incoming.mkdir(parents=True)
    (incoming / "part-1.csv").write_text("carrier,dep_delay\nAA,1\n")
    references = tmp_path / "reference"
    for name in ("airlines", "planes", "airports"):
        (references / name).mkdir(parents=True)
        (references / name / "data.csv").write_text("x\n1\n")
    status = main(
        [
            "run",
            "--config",
            str(SAMPLE_CONFIG),
            "--reference-dir",
            str(references),
            "--incoming",
            str(incoming),
            "--output",
            str(incoming / "curated"),
        ]
    )
    assert status == EXIT_USAGE
    assert "is inside --incoming" in capsys.readouterr().err
    assert not (incoming / "curated").exists()
