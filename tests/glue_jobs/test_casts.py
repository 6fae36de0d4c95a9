"""The strict casts' shortcut (text written as Spark writes the type converts without the
pattern checks) gives exactly what the pattern checks give, for every spelling."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as sf

from join_job import casts

SPELLINGS: dict[str, list[str]] = {
    "bigint": [
        "42",
        "-7",
        "0",
        "+5",
        "007",
        " 12 ",
        "1.0",
        "1.00",
        "1.5",
        "1e3",
        "9223372036854775807",
        "9223372036854775808",
        "-0",
        "12abc",
        "",
        " ",
        "\u00a012",
        "\x0112",
    ],
    "int": ["2147483647", "2147483648", "-2147483648", "15", "15.0", "0x10", "1_000"],
    "smallint": ["32767", "32768", "-1"],
    "double": [
        "52.3",
        "-9.2",
        "2317",
        "2317.0",
        "-0",
        "-0.0",
        "0.1",
        ".5",
        "5.",
        "1e10",
        "1E10",
        "1.0E10",
        "1e400",
        "-1e400",
        "1e-400",
        "0e-400",
        "NaN",
        "nan",
        "Infinity",
        "-Infinity",
        "inf",
        "1.5d",
        "1.5f",
        "0x1p3",
        " 4.5 ",
        "4.50",
        "1e15",
        "1000000000000000",
        "123456789012345678",
        "12abc",
        "",
    ],
    "float": ["1.5", "2317", "3.4028235E38", "3.5e38", "1e-50", "0.1"],
    "date": [
        "2026-11-24",
        "2026-02-30",
        "2026-1-2",
        "2026",
        "2026-01-02 garbage",
        " 2026-01-02",
        "0001-01-01",
        "9999-12-31",
        "+10000-01-01",
        "",
    ],
    "timestamp": [
        "2026-11-24 10:00:00",
        "2026-11-24T10:00:00",
        "2026-11-24 10:00:00.5",
        "2026-11-24 10:00:00.1234567",
        "2026-11-24T10:00:00Z",
        "2026-11-24 10:00",
        "2026-11-24",
        "2026-11-24 10:00:00 garbage",
        "",
    ],
}


@pytest.mark.parametrize("target", SPELLINGS)
def test_the_shortcut_agrees_with_the_pattern_checks(spark: SparkSession, target: str) -> None:
    texts = SPELLINGS[target]
    frame = spark.createDataFrame([(text,) for text in texts], "v string")

    strict = casts.strict_cast("v", "string", target)
    checked = casts._checked_from_text(sf.col("v"), target)
    # Compared in Spark: some values (a year past 9999) have no Python counterpart.
    differing = frame.where(~strict.eqNullSafe(checked)).collect()

    assert [row["v"] for row in differing] == []


def test_the_usual_spellings_convert(spark: SparkSession) -> None:
    frame = spark.createDataFrame(
        [("42", "2317", "2026-11-24", "1.0")], "i string, d string, t string, w string"
    )

    row = frame.select(
        casts.strict_cast("i", "string", "bigint").alias("i"),
        casts.strict_cast("d", "string", "double").alias("d"),
        casts.strict_cast("t", "string", "date").alias("t"),
        casts.strict_cast("w", "string", "int").alias("w"),
    ).first()

    assert row is not None
    assert (row["i"], row["d"], str(row["t"]), row["w"]) == (42, 2317.0, "2026-11-24", 1)
