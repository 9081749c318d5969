"""DuckDB's memory limit and threads follow the runner's memory (macros/warehouse_resources.sql)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from landing import Landing
from models_harness import Warehouse

DAY = date(2002, 1, 10)


def _warehouse(root: Path, memory: str | None) -> Warehouse:
    warehouse = Warehouse(root, extra_env={} if memory is None else {"STORE_SALES_MEMORY_MB": memory})
    Landing(warehouse.data_dir).write_reference()
    return warehouse


def _debug_log(warehouse: Warehouse) -> str:
    return (warehouse.root / "logs" / "dbt.log").read_text(encoding="utf-8")


def test_the_runner_memory_sets_duckdb_limit_and_threads(tmp_path: Path) -> None:
    lambda_sized = _warehouse(tmp_path / "lambda", "3008")
    lambda_sized.build(DAY, None, "--select", "country_regions")
    assert "warehouse resources: memory_limit 1504 MB, 2 thread(s)" in _debug_log(lambda_sized)


def test_without_a_runner_memory_duckdb_keeps_its_defaults(tmp_path: Path) -> None:
    laptop = _warehouse(tmp_path / "laptop", None)
    laptop.build(DAY, None, "--select", "country_regions")
    assert "warehouse resources:" not in _debug_log(laptop)


def test_a_malformed_memory_stops_the_run_with_one_clear_line(tmp_path: Path) -> None:
    broken = _warehouse(tmp_path / "broken", "2GB")
    result = broken.invoke("build", "--select", "country_regions", start=DAY)
    assert not result.success
    assert "STORE_SALES_MEMORY_MB='2GB' must be the runner's memory in MB" in str(result.exception)
