"""The pure DataFrame functions on small in-memory frames."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as sf

from join_job import readers, references, transforms
from join_job.background import Background
from join_job.errors import JobInputError
from join_job.pipeline_config import JoinSpec, parse_pipeline_config
from join_job.record_count import FileCount
from join_job.references import ReferenceCheck, check_on_driver, check_references
from join_job.transforms import PreparedReference

AIRPORTS = JoinSpec(name="airports", format="csv", on=(("dest", "faa"),), how="inner")
PLANES = JoinSpec(name="planes", format="csv", on=(("tailnum", "tailnum"),), how="left")


def text_frame(
    spark: SparkSession, columns: list[str], rows: list[tuple[str | None, ...]]
) -> DataFrame:
    return spark.createDataFrame(rows, transforms.text_schema(columns, corrupt_record=False))


def raw_batch(spark: SparkSession, rows: list[tuple[str | None, ...]]) -> DataFrame:
    """Rows as the CSV reader gives them: text columns and the corrupt-record column."""
    return spark.createDataFrame(rows, transforms.text_schema(["id", "dest", "delay"]))


def test_parse_batch_types_columns_and_names_the_first_value_that_does_not_fit(
    spark: SparkSession,
) -> None:
    raw = raw_batch(
        spark,
        [("1", "JFK", "2.5", None), ("2", "LAX", "soon", None), ("x", "SFO", "oops", None)],
    )
    parsed = transforms.parse_batch(raw, (("id", "int"), ("delay", "double")))

    rows = parsed.orderBy("dest").collect()
    assert dict(parsed.dtypes) == {
        "id": "int",
        "dest": "string",
        "delay": "double",
        "reject_reason": "string",
        "raw_record": "string",
    }
    assert [row["reject_reason"] for row in rows] == [
        None,
        "schema_mismatch:delay",
        "schema_mismatch:id",
    ]
    assert rows[0]["delay"] == 2.5
    assert rows[1]["raw_record"] == '{"id":"2","dest":"LAX","delay":"soon"}'


def test_parse_batch_marks_unsplittable_rows_malformed_and_keeps_the_line(
    spark: SparkSession,
) -> None:
    raw = raw_batch(spark, [("3", "JFK", None, "3,JFK"), ("4", None, None, None)])
    rows = transforms.parse_batch(raw, (("id", "int"),)).orderBy("id").collect()

    assert rows[0]["reject_reason"] == "malformed_row"
    assert rows[0]["raw_record"] == "3,JFK"
    # A missing value is a null, not a schema mismatch.
    assert rows[1]["reject_reason"] is None


def test_parse_batch_rejects_a_schema_naming_a_column_the_batch_lacks(
    spark: SparkSession,
) -> None:
    with pytest.raises(JobInputError, match=r"no column 'arrival' named in input\.schema"):
        transforms.parse_batch(raw_batch(spark, []), (("arrival", "date"),))


def test_batch_columns_are_what_the_parse_outputs_known_before_it_is_planned(
    spark: SparkSession,
) -> None:
    """The references are read with the batch's parsed names and types before the parse is
    planned (the job settles the batch's read first): both must agree, whatever spelling of a
    type or a column name the config uses."""
    schema = parse_pipeline_config(
        {
            "dataset": "d",
            "input": {
                "format": "csv",
                "schema": {"ID": "integer", "delay": "long", "Dest": "string"},
            },
        }
    ).input.schema
    raw = raw_batch(spark, [("1", "JFK", "2", None)]).withColumn("__source_file", sf.lit("f"))

    columns = transforms.batch_columns(raw.dtypes, schema)
    parsed = transforms.parse_batch(raw, schema)

    assert [(column.name, column.type) for column in columns] == [
        ("ID", "int"),
        ("Dest", "string"),
        ("delay", "bigint"),
    ]
    assert [(column.name, column.type) for column in columns] == parsed.dtypes[:-2]
    assert parsed.columns[-2:] == ["reject_reason", "raw_record"]


def test_prepare_reference_prefixes_columns_and_drops_null_keys(spark: SparkSession) -> None:
    reference = text_frame(
        spark, ["faa", "name", "tz"], [("JFK", "Kennedy", "-5"), (None, "Nowhere", "0")]
    )
    prepared = transforms.prepare_reference(reference, AIRPORTS, ["dest"], {"dest": "string"})

    assert prepared.added_columns == ("airports_name", "airports_tz")
    assert prepared.frame.count() == 1


@pytest.mark.parametrize(
    ("data_columns", "key_types", "message"),
    [
        (["dest"], {"dest": "string"}, "the reference has no key column 'faa'"),
        (["origin"], {}, "the data has no key column 'dest'"),
        (["dest", "airports_name"], {"dest": "string"}, "would add column 'airports_name'"),
    ],
)
def test_prepare_reference_fails_on_missing_keys_and_column_clashes(
    spark: SparkSession, data_columns: list[str], key_types: dict[str, str], message: str
) -> None:
    columns = ["code", "name"] if "faa" in message else ["faa", "name"]
    reference = text_frame(spark, columns, [("JFK", "Kennedy")])
    with pytest.raises(JobInputError, match=message):
        transforms.prepare_reference(reference, AIRPORTS, data_columns, key_types)


# The checks in a Spark aggregation (large references) and on the driver (small ones) find the
# same things.
CHECKS = pytest.mark.parametrize("check", [check_references, check_on_driver])


@CHECKS
def test_check_references_names_a_repeated_key_and_ignores_null_keys(
    spark: SparkSession, check: Callable[[list[PreparedReference]], list[ReferenceCheck]]
) -> None:
    unique = text_frame(spark, ["faa", "name"], [("JFK", "a"), (None, "b"), (None, "c")])
    repeated = text_frame(
        spark, ["faa", "name"], [("JFK", "a"), ("JFK", "b"), ("LAX", "c"), (None, "d")]
    )
    bad_key = text_frame(spark, ["tailnum", "year"], [("7", "a"), ("x1", "b")]).coalesce(1)
    prepared = [
        transforms.prepare_reference(frame, AIRPORTS, ["dest"], {"dest": "string"})
        for frame in (unique, repeated)
    ] + [transforms.prepare_reference(bad_key, PLANES, ["tailnum"], {"tailnum": "int"})]

    # One call checks them all; each keeps its own findings, in order.
    unique_checked, repeated_checked, bad_key_checked = check(prepared)

    assert unique_checked == ReferenceCheck(rows=3, problem=None, duplicate=None)
    assert repeated_checked == ReferenceCheck(
        rows=4, problem=None, duplicate={"faa": "JFK", "rows": 2}
    )
    assert bad_key_checked.rows == 2
    assert bad_key_checked.problem is not None
    assert "has key 'tailnum' = 'x1'" in bad_key_checked.problem


@CHECKS
def test_check_references_names_the_first_bad_key_in_read_order(
    spark: SparkSession, check: Callable[[list[PreparedReference]], list[ReferenceCheck]]
) -> None:
    reference = text_frame(
        spark, ["tailnum", "year"], [("7", "a"), ("x1", "b"), ("8", "c"), ("x2", "d")]
    ).coalesce(1)
    prepared = transforms.prepare_reference(reference, PLANES, ["tailnum"], {"tailnum": "int"})

    [checked] = check([prepared])

    assert checked.rows == 4
    assert checked.duplicate is None
    assert checked.problem is not None
    assert "has key 'tailnum' = 'x1'" in checked.problem


@CHECKS
def test_check_references_finds_keys_equal_after_conversion_and_a_malformed_row(
    spark: SparkSession, check: Callable[[list[PreparedReference]], list[ReferenceCheck]]
) -> None:
    routes = JoinSpec(
        name="routes", format="csv", on=(("origin", "from"), ("flight", "number")), how="left"
    )
    # "7" and "07" are the same int key; the malformed row has no key at all.
    reference = spark.createDataFrame(
        [("JFK", "7", None), ("JFK", "07", None), ("JFK", "8", None), (None, None, "JFK;7")],
        transforms.text_schema(["from", "number"]),
    ).coalesce(1)
    prepared = transforms.prepare_reference(
        reference, routes, ["origin", "flight"], {"origin": "string", "flight": "int"}
    )

    [checked] = check([prepared])

    assert checked.rows == 4
    assert checked.duplicate == {"from": "JFK", "number": 7, "rows": 2}
    assert checked.problem is not None
    assert "has a malformed row: 'JFK;7'" in checked.problem


def test_small_references_are_checked_on_the_driver_and_large_ones_by_spark(
    spark: SparkSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = text_frame(spark, ["faa", "name"], [("JFK", "a"), ("LAX", "b")])
    prepared = transforms.prepare_reference(frame, AIRPORTS, ["dest"], {"dest": "string"})
    counted = readers.Source(frame, Background.ready([FileCount("f", 2)], 0.0), "csv", "it")
    reference = references.Reference("f", 10, counted, prepared, broadcast=True)
    used: list[str] = []

    def spy(name: str) -> Callable[[list[PreparedReference]], list[ReferenceCheck]]:
        real = getattr(references, name)

        def check(found: list[PreparedReference]) -> list[ReferenceCheck]:
            used.append(name)
            return real(found)  # type: ignore[no-any-return]

        return check

    for name in ("check_on_driver", "check_references"):
        monkeypatch.setattr(references, name, spy(name))

    assert references.checked([reference]) == [ReferenceCheck(rows=2, problem=None, duplicate=None)]
    monkeypatch.setattr(references, "DRIVER_ROWS", 1)
    references.checked([reference])

    assert used == ["check_on_driver", "check_references"]


def test_reference_keys_are_cast_to_the_data_key_type(spark: SparkSession) -> None:
    data = spark.createDataFrame(
        [(7, None, None)], "tailnum int, reject_reason string, raw_record string"
    )
    reference = text_frame(spark, ["tailnum", "year"], [("7", "1999")])
    prepared = transforms.prepare_reference(reference, PLANES, ["tailnum"], {"tailnum": "int"})

    joined = transforms.join_reference(data, prepared, broadcast=True)
    assert joined.collect()[0]["planes_year"] == "1999"


def test_inner_join_rejections_name_null_keys_and_unmatched_rows_and_keep_earlier_reasons(
    spark: SparkSession,
) -> None:
    data = spark.createDataFrame(
        [("JFK", None), ("SFO", None), (None, None), ("JFK", "malformed_row")],
        "dest string, reject_reason string",
    ).withColumn("raw_record", transforms.sf.lit(None).cast("string"))
    reference = text_frame(spark, ["faa", "name"], [("JFK", "Kennedy")])
    prepared = transforms.prepare_reference(reference, AIRPORTS, ["dest"], {"dest": "string"})

    joined = transforms.join_reference(data, prepared, broadcast=False)
    classified = transforms.mark_join_rejections(joined, [AIRPORTS])

    reasons = sorted(
        (row["dest"] or "", row["reject_reason"] or "") for row in classified.collect()
    )
    assert reasons == [
        ("", "null_join_key:airports"),
        ("JFK", ""),
        ("JFK", "malformed_row"),
        ("SFO", "unmatched:airports"),
    ]
    [metrics] = classified.agg(*transforms.outcome_metrics([AIRPORTS])).collect()
    # The malformed row never parsed: it is not among the rows a join is counted over.
    assert metrics.asDict() == {"rows": 4, "parsed": 3, "accepted": 1, "matched_airports": 1}
    by_reason = transforms.rows_by_reason(transforms.quarantine_rows(classified, ["dest"]))
    assert sorted((row["reject_reason"], row["rows"]) for row in by_reason.collect()) == [
        ("malformed_row", 1),
        ("null_join_key:airports", 1),
        ("unmatched:airports", 1),
    ]


def test_left_join_rejects_nothing(spark: SparkSession) -> None:
    data = spark.createDataFrame(
        [("N1", None, None), ("N9", None, None), (None, None, None)],
        "tailnum string, reject_reason string, raw_record string",
    )
    reference = text_frame(spark, ["tailnum", "year"], [("N1", "1999")])
    prepared = transforms.prepare_reference(reference, PLANES, ["tailnum"], {"tailnum": "string"})

    classified = transforms.mark_join_rejections(
        transforms.join_reference(data, prepared, broadcast=True), [PLANES]
    )
    output = transforms.output_rows(classified, ["tailnum", "planes_year"]).collect()
    assert sorted((row["tailnum"] or "", row["planes_year"]) for row in output) == [
        ("", None),
        ("N1", "1999"),
        ("N9", None),
    ]
    assert transforms.quarantine_rows(classified, ["tailnum"]).count() == 0
