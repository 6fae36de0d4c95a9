"""The entry script end to end on files in a temp folder: joins, quarantine, report, reruns."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from join_job import datasets, job
from join_job.errors import DuplicateReferenceKeyError, JobArgumentError, JobInputError
from tests.glue_jobs.conftest import FLIGHTS_CONFIG, FLIGHTS_HEADER, FlightsLayout, write_lines

JOB_SCRIPT = Path(__file__).resolve().parents[2] / "glue_jobs" / "join_job" / "job.py"

GOOD_ROWS = [
    "1,AA,N1,JFK,5.0",  # every join matches
    "2,UA,N2,LAX,-3",  # no airline: left join keeps it
    "3,DL,N9,JFK,",  # unknown plane, missing delay: still fine
]
BAD_ROWS = [
    "4,AA,N1,SFO,1.0",  # SFO not in airports: unmatched:airports (inner)
    "5,AA,N1,,1.0",  # no destination: null_join_key:airports
    "6,AA,N1,JFK,late",  # not a double: schema_mismatch:dep_delay
    "7,AA,N1",  # two fields missing: malformed_row
    "x8,AA,N1,JFK,1.0",  # not a bigint: schema_mismatch:flight_id
]


def rows_by_id(spark: SparkSession, folder: Path, id_column: str = "flight_id") -> dict[Any, Any]:
    return {row[id_column]: row.asDict() for row in spark.read.parquet(str(folder)).collect()}


def run_job(
    flights: FlightsLayout, batch_id: str, *, dataset: str = "flights", **kwargs: Any
) -> dict[str, Any]:
    assert job.main(flights.argv(batch_id, **kwargs)) == 0
    return flights.report(batch_id, dataset)


def test_left_joins_keep_unmatched_rows_and_prefix_reference_columns(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    flights.batch("2026-11-20", GOOD_ROWS)
    run_job(flights, "2026-11-20")

    output = rows_by_id(spark, flights.output_partition("2026-11-20"))
    assert output[1] == {
        "flight_id": 1,
        "carrier": "AA",
        "tailnum": "N1",
        "dest": "JFK",
        "dep_delay": 5.0,
        "airlines_name": "American Airlines",
        "planes_year": 1999,
        "planes_manufacturer": "BOEING",
        "airports_name": "John F Kennedy Intl",
        "airports_tz": "-5",
    }
    assert output[2]["airlines_name"] is None
    assert output[2]["planes_year"] == 2012
    assert output[3]["planes_year"] is None
    assert output[3]["dep_delay"] is None


def test_output_columns_keep_input_types_and_never_repeat_reference_keys(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    flights.batch("b", GOOD_ROWS)
    run_job(flights, "b")

    schema = dict(spark.read.parquet(str(flights.output_partition("b"))).dtypes)
    assert schema["flight_id"] == "bigint"
    assert schema["dep_delay"] == "double"
    assert schema["planes_year"] == "int"  # parquet reference keeps its types
    assert "faa" not in schema
    assert "airports_faa" not in schema
    assert "airlines_carrier" not in schema
    assert "planes_tailnum" not in schema


def test_every_rejected_row_lands_in_quarantine_with_its_reason(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    flights.batch("b", GOOD_ROWS + BAD_ROWS)
    run_job(flights, "b")

    quarantine = spark.read.parquet(str(flights.quarantine_partition("b"))).collect()
    reasons = {row["reject_reason"]: row.asDict() for row in quarantine}
    assert set(reasons) == {
        "unmatched:airports",
        "null_join_key:airports",
        "schema_mismatch:dep_delay",
        "malformed_row",
        "schema_mismatch:flight_id",
    }
    assert reasons["unmatched:airports"]["flight_id"] == 4
    assert reasons["malformed_row"]["raw_record"] == "7,AA,N1"
    # The value that did not fit is kept as it arrived.
    assert json.loads(reasons["schema_mismatch:dep_delay"]["raw_record"])["dep_delay"] == "late"
    assert json.loads(reasons["schema_mismatch:flight_id"]["raw_record"])["flight_id"] == "x8"
    assert set(rows_by_id(spark, flights.output_partition("b"))) == {1, 2, 3}


def test_a_session_in_ansi_mode_still_quarantines_values_that_do_not_convert(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    # Glue or a user may start the session with ANSI casts, which fail on text that does not
    # convert; the job turns them off, so such values are quarantined, not fatal.
    before = spark.conf.get("spark.sql.ansi.enabled")
    spark.conf.set("spark.sql.ansi.enabled", "true")
    try:
        flights.batch("b", GOOD_ROWS + BAD_ROWS)
        report = run_job(flights, "b")
    finally:
        spark.conf.set("spark.sql.ansi.enabled", before)

    assert report["quarantined_by_reason"]["schema_mismatch:dep_delay"] == 1
    assert report["quarantined_by_reason"]["schema_mismatch:flight_id"] == 1
    assert set(rows_by_id(spark, flights.output_partition("b"))) == {1, 2, 3}


def test_report_counts_rows_by_outcome_and_join(flights: FlightsLayout) -> None:
    flights.batch("b", GOOD_ROWS + BAD_ROWS)
    report = run_job(flights, "b")

    assert report["input_rows"] == 8
    assert report["output_rows"] == 3
    assert report["quarantined_rows"] == 5
    assert report["input_rows"] == report["output_rows"] + report["quarantined_rows"]
    assert report["quarantined_by_reason"] == {
        "malformed_row": 1,
        "null_join_key:airports": 1,
        "schema_mismatch:dep_delay": 1,
        "schema_mismatch:flight_id": 1,
        "unmatched:airports": 1,
    }
    joins = {join["name"]: join for join in report["joins"]}
    # Parse rejects never reach a join: 5 rows of 8 do.
    assert joins["airlines"] | {"reference_path": None} == joins["airlines"] | {
        "reference_path": None,
        "rows": 5,
        "matched": 4,
        "unmatched": 1,
        "how": "left",
        "broadcast": True,
    }
    assert (joins["planes"]["matched"], joins["planes"]["unmatched"]) == (4, 1)
    assert (joins["airports"]["matched"], joins["airports"]["unmatched"]) == (3, 2)
    assert report["status"] == "SUCCEEDED"
    assert report["batch_id"] == "b"
    assert report["started_at"] <= report["finished_at"]
    assert report["duration_seconds"] > 0


def test_renamed_key_joins_dest_to_faa_and_accepts_a_file_as_input(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    single = write_lines(flights.incoming / "one-off.csv", [FLIGHTS_HEADER, "9,AA,N1,LAX,0"])
    run_job(flights, "one-off.csv", input_path=single)

    output = rows_by_id(spark, flights.output_partition("one-off.csv"))
    assert output[9]["airports_name"] == "Los Angeles Intl"


def test_multi_column_keys_and_json_input_and_json_reference(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    write_lines(
        flights.reference / "routes" / "routes.json",
        [
            '{"from": "JFK", "to": "LAX", "miles": 2475}',
            '{"from": "LAX", "to": "JFK", "miles": 2475}',
        ],
    )
    config = {
        "dataset": "trips",
        "input": {"format": "json", "schema": {"id": "int", "origin": "string", "dest": "string"}},
        "joins": [
            {"name": "routes", "format": "json", "on": {"origin": "from", "dest": "to"}},
        ],
    }
    write_lines(
        flights.incoming / "t1" / "trips.json",
        [
            '{"id": 1, "origin": "JFK", "dest": "LAX"}',
            '{"id": 2, "origin": "JFK", "dest": "SFO"}',
            '{"id": 3, "origin": "JFK",',
            '{"id": "three", "origin": "LAX", "dest": "JFK"}',
        ],
    )
    report = run_job(flights, "t1", config=config, dataset="trips")

    output = rows_by_id(spark, flights.output_partition("t1", "trips"), "id")
    assert output[1]["routes_miles"] == "2475"  # JSON fields arrive as text, as CSV's do
    assert output[2]["routes_miles"] is None
    assert report["quarantined_by_reason"] == {"malformed_row": 1, "schema_mismatch:id": 1}


def test_batch_without_schema_keeps_every_column_as_text(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    config = copy.deepcopy(FLIGHTS_CONFIG)
    del config["input"]["schema"]
    flights.batch("b", ["1,AA,N1,JFK,5.0", "2,AA,N1"])
    report = run_job(flights, "b", config=config)

    schema = dict(spark.read.parquet(str(flights.output_partition("b"))).dtypes)
    assert schema["flight_id"] == "string"
    assert schema["dep_delay"] == "string"
    assert report["quarantined_by_reason"] == {"malformed_row": 1}


def test_a_wide_typed_schema_quarantines_rows_without_the_planner_blowing_up(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    # As real exports are typed (nycflights13: 14 numeric columns, "NA" where R had no value).
    # With Spark's constraint propagation on, planning the quarantine of 12 such columns took
    # minutes and of 19 ran out of memory; here it fails after about a minute.
    extra = [f"m{index}" for index in range(16)]
    config = copy.deepcopy(FLIGHTS_CONFIG)
    config["input"]["schema"].update(
        {name: "int" if index % 2 else "double" for index, name in enumerate(extra)}
    )
    values = ",".join(str(index) for index in range(16))
    with_na = ",".join("NA" if index == 5 else str(index) for index in range(16))
    header = f"{FLIGHTS_HEADER},{','.join(extra)}"
    flights.batch("wide", [f"1,AA,N1,JFK,5.0,{values}", f"2,UA,N2,LAX,1,{with_na}"], header=header)
    report = run_job(flights, "wide", config=config)

    assert report["input_rows"] == 2
    assert report["output_rows"] == 1
    assert report["quarantined_by_reason"] == {"schema_mismatch:m5": 1}
    # A fused stage too large for the JVM to compile runs operator by operator instead of
    # interpreted (measured in bench/RESULTS.md; no test can time it).
    assert spark.conf.get("spark.sql.codegen.hugeMethodLimit") == "8000"


def test_parquet_batches_are_typed_to_the_schema(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    config = copy.deepcopy(FLIGHTS_CONFIG)
    config["input"]["format"] = "parquet"
    spark.createDataFrame(
        [(1, "AA", "N1", "JFK", 2.5)],
        "flight_id int, carrier string, tailnum string, dest string, dep_delay double",
    ).write.parquet(str(flights.incoming / "p1"))
    run_job(flights, "p1", config=config)

    schema = dict(spark.read.parquet(str(flights.output_partition("p1"))).dtypes)
    assert schema["flight_id"] == "bigint"


def test_rerun_replaces_only_its_own_partition(spark: SparkSession, flights: FlightsLayout) -> None:
    flights.batch("day-1", GOOD_ROWS + BAD_ROWS)
    flights.batch("day-2", ["20,AA,N1,JFK,1.0"])
    run_job(flights, "day-1")
    run_job(flights, "day-2")
    day_2_files = sorted(p.name for p in flights.output_partition("day-2").iterdir())

    flights.batch("day-1", ["10,DL,N2,LAX,0.5"])  # the batch, fixed and re-uploaded
    report = run_job(flights, "day-1")

    assert set(rows_by_id(spark, flights.output_partition("day-1"))) == {10}
    assert report["quarantined_rows"] == 0
    clean_quarantine = spark.read.parquet(str(flights.quarantine_partition("day-1")))
    assert clean_quarantine.count() == 0
    assert clean_quarantine.columns[-2:] == ["reject_reason", "raw_record"]
    assert sorted(p.name for p in flights.output_partition("day-2").iterdir()) == day_2_files
    assert set(rows_by_id(spark, flights.output_partition("day-2"))) == {20}
    # One run folder per batch, the current one; nothing staged, no run left in flight.
    for batch in ("flights/batch_id=day-1", "_quarantine/flights/batch_id=day-1"):
        assert [p.name for p in (flights.output / batch).iterdir()] == [f"run={report['run_id']}"]
    assert not (flights.output / "_staging").exists()
    assert not list((flights.output / "_runs").rglob("*.json"))


def test_rerunning_the_same_input_gives_the_same_output(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    flights.batch("b", GOOD_ROWS + BAD_ROWS)
    first = run_job(flights, "b")
    output_before = rows_by_id(spark, flights.output_partition("b"))
    second = run_job(flights, "b")

    assert rows_by_id(spark, flights.output_partition("b")) == output_before
    assert first["quarantined_by_reason"] == second["quarantined_by_reason"]


def test_failing_run_leaves_the_previous_output_in_place(
    spark: SparkSession, flights: FlightsLayout
) -> None:
    flights.batch("b", GOOD_ROWS)
    run_job(flights, "b")
    report_before = flights.report("b")

    write_lines(flights.reference / "airlines" / "more.csv", ["carrier,name", "AA,American again"])
    flights.batch("b", ["99,AA,N1,JFK,1"])
    with pytest.raises(DuplicateReferenceKeyError):
        job.main(flights.argv("b"))

    assert set(rows_by_id(spark, flights.output_partition("b"))) == {1, 2, 3}
    assert flights.report("b") == report_before


def test_row_count_mismatch_fails_before_commit(
    spark: SparkSession, flights: FlightsLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    flights.batch("b", GOOD_ROWS)
    run_job(flights, "b")
    flights.batch("b", [*GOOD_ROWS, "4,AA,N1,JFK,1"])
    real_count = datasets.parquet_row_count
    monkeypatch.setattr(
        datasets, "parquet_row_count", lambda spark, uri: real_count(spark, uri) - 1
    )

    with pytest.raises(Exception, match=r"4 input rows but 3 written to the output"):
        job.main(flights.argv("b"))

    assert set(rows_by_id(spark, flights.output_partition("b"))) == {1, 2, 3}
    assert len(list((flights.output / "flights" / "batch_id=b").iterdir())) == 1


def test_duplicate_reference_keys_fail_naming_the_reference_and_a_key(
    flights: FlightsLayout,
) -> None:
    write_lines(flights.reference / "airports" / "extra.csv", ["faa,name,tz", "LAX,LA again,-8"])
    flights.batch("b", GOOD_ROWS)

    with pytest.raises(DuplicateReferenceKeyError) as failure:
        job.main(flights.argv("b"))

    message = str(failure.value)
    assert "'airports'" in message
    assert '{"faa": "LAX"}' in message
    assert "2 rows" in message


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing_input", r"input path .*/incoming/nowhere/? does not exist"),
        ("header_only", r"the batch at .*/incoming/b/? is empty: it holds no data rows"),
        ("no_files", r"the batch at .*/incoming/b/? is empty: it holds no data files"),
        ("missing_reference", r"join 'planes': reference folder .*/reference/planes does not"),
        ("absent_key", r"join 'planes': the data has no key column 'tailnum'"),
        ("absent_schema_column", r"the batch has no column 'dep_delay' named in input.schema"),
        ("reference_key_absent", r"join 'airports': the reference has no key column 'faa'"),
        ("mixed_headers", r"mixes CSV headers: .*Header: flight_id, tailnum, carrier.*part-2"),
    ],
)
def test_bad_input_fails_fast_with_a_message_naming_the_path_or_column(
    flights: FlightsLayout, setup: str, message: str
) -> None:
    config = copy.deepcopy(FLIGHTS_CONFIG)
    batch_id = "b"
    if setup == "missing_input":
        batch_id = "nowhere"
    elif setup == "header_only":
        flights.batch("b", [])
    elif setup == "no_files":
        write_lines(flights.incoming / "b" / "_SUCCESS", [])
    elif setup == "missing_reference":
        flights.batch("b", GOOD_ROWS)
        for path in (flights.reference / "planes").iterdir():
            path.unlink()
        (flights.reference / "planes").rmdir()
    elif setup == "absent_key":
        del config["input"]["schema"]["tailnum"]
        flights.batch("b", ["1,AA,JFK,1"], header="flight_id,carrier,dest,dep_delay")
    elif setup == "absent_schema_column":
        flights.batch("b", ["1,AA,N1,JFK"], header="flight_id,carrier,tailnum,dest")
    elif setup == "mixed_headers":
        flights.batch("b", GOOD_ROWS)
        write_lines(
            flights.incoming / "b" / "part-2.csv",
            ["flight_id,tailnum,carrier,dest,dep_delay", "9,N1,AA,JFK,1"],
        )
    elif setup == "reference_key_absent":
        flights.batch("b", GOOD_ROWS)
        write_lines(flights.reference / "airports" / "airports.csv", ["code,name", "JFK,x"])

    with pytest.raises(JobInputError, match=message):
        job.main(flights.argv(batch_id, config=config))
    assert not flights.output_partition(batch_id).exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--pipeline_config", '{"dataset": "x"}'], r"--pipeline_config: .*'input'"),
        (["--pipeline_config", "/no/such/config.json"], r"cannot read pipeline config"),
    ],
)
def test_bad_arguments_fail_before_spark_starts(
    flights: FlightsLayout, change: list[str], message: str
) -> None:
    argv = flights.argv("b") + change  # argparse keeps the last occurrence
    with pytest.raises(JobArgumentError, match=message):
        job.parse_arguments(argv)


def test_glue_arguments_are_ignored_and_the_run_id_is_kept(flights: FlightsLayout) -> None:
    argv = [
        *flights.argv("b"),
        "--JOB_ID",
        "j_1",
        "--JOB_RUN_ID",
        "jr_abc",
        "--enable-metrics",
        "true",
        "--job-bookmark-option",
        "job-bookmark-disable",
    ]
    run = job.parse_arguments(argv)
    assert run.run_id == "jr_abc"
    assert run.batch_id == "b"
    assert run.output_path == str(flights.output)


def test_script_runs_standalone_on_local_paths(flights: FlightsLayout) -> None:
    """``python glue_jobs/join_job/job.py ...`` works on a laptop, as on Glue; a wrong argument
    exits 2, as argparse does."""
    flights.batch("b", GOOD_ROWS + BAD_ROWS)
    done = subprocess.run(
        [sys.executable, str(JOB_SCRIPT), *flights.argv("b")],
        capture_output=True,
        text=True,
        check=False,
        cwd=flights.root,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert flights.report("b")["output_rows"] == 3

    failed = subprocess.run(
        [sys.executable, str(JOB_SCRIPT), *flights.argv("b"), "--batch_id", ".."],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 2
    assert "job.py: error: --batch_id '..' cannot name a partition" in failed.stderr
