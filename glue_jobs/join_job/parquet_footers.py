"""Parquet footers read through the JVM's parquet-hadoop (on Spark's classpath; no extra jar):
row counts and schemas of single files without reading their data.
"""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.types import StructType


def footer_row_count(spark: SparkSession, uri: str) -> int:
    """Rows in the Parquet file ``uri``, summed over its row groups' metadata."""
    return int(_with_reader(spark, uri, lambda reader: reader.getRecordCount()))


def footer_schema(spark: SparkSession, uri: str) -> StructType:
    """The Spark schema of the Parquet file ``uri``, converted as Spark's reader converts it."""
    jvm: Any = spark.sparkContext._jvm
    converter = (
        jvm.org.apache.spark.sql.execution.datasources.parquet.ParquetToSparkSchemaConverter(
            spark._jsparkSession.sessionState().conf()
        )
    )
    text = _with_reader(
        spark,
        uri,
        lambda reader: converter.convert(reader.getFooter().getFileMetaData().getSchema()).json(),
    )
    return StructType.fromJson(json.loads(str(text)))


def _with_reader(spark: SparkSession, uri: str, use: Any) -> Any:
    jvm: Any = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(uri)
    source = jvm.org.apache.parquet.hadoop.util.HadoopInputFile.fromPath(path, conf)
    reader = jvm.org.apache.parquet.hadoop.ParquetFileReader.open(source)
    try:
        return use(reader)
    finally:
        reader.close()
