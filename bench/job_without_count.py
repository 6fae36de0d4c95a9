"""The join job with its independent record count switched off: the baseline of
``bench.count_cost``. Never used outside the benchmark.

The count pass is replaced by one nominal record per file and the comparison with the parse by
nothing, so the run does everything else exactly as ``job.py`` does.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pyspark.sql import SparkSession

from join_job import job, readers, record_count
from join_job.filesystem import DataFile
from join_job.pipeline_config import InputSpec


def _no_count(
    spark: SparkSession, files: Sequence[DataFile], spec: InputSpec
) -> list[record_count.FileCount]:
    return [record_count.FileCount(item.uri, 1) for item in files]


def _no_check(source: readers.Source, parsed_rows: int) -> None:
    return None


def main() -> int:
    record_count.count_text_files = _no_count
    readers.check_parse_count = _no_check
    return job.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
