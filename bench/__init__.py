"""Benchmarks of issue 7: the pipeline against hand-written SQL on DuckDB (see bench/README.md)."""
