"""Benchmarks of the join job against a naive PySpark script and DuckDB (see bench/RESULTS.md)."""
