"""Helpers of the command tests: run a command for its JSON, read the warehouse's tables and run log, break an
extract, build the same window with plain dbt for comparison."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from models_harness import BUILD_WITHOUT_TESTS, Warehouse

from orchestrator import cli

FIRST = date(1998, 1, 2)
SECOND = FIRST + timedelta(days=1)
TABLES = ("dim_customer_address", "dim_item", "fct_store_sales", "rpt_daily_store_sales", "rpt_weekly_region_sales")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    """Run a command with --json; return its exit code and its output, which must be one JSON document."""
    code = cli.main([*args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def tables(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(warehouse)) as connection:
        return {name: sorted(connection.execute(f"select * from main.{name}").fetchall()) for name in TABLES}


def summaries(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {summary["task"]: summary for summary in result["dbt"]}


def built_models(result: dict[str, Any]) -> set[str]:
    return {
        node["name"]
        for summary in result["dbt"]
        for node in summary["models"]
        if node["status"] == "success" and node["resource_type"] == "model"
    }


def pipeline_runs(warehouse: Path) -> list[dict[str, Any]]:
    """The run log, oldest first."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        cursor = connection.execute("select * from main.pipeline_runs order by started_at")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def negative(path: Path, column: str) -> bytes:
    """Make `column` negative on one line of the extract (a dbt test rejects it); return the bytes to put back."""
    original = path.read_bytes()
    with duckdb.connect() as connection:
        connection.execute(
            f"copy (select * replace (case when row_number() over () = 1 then -1 else {column} end as {column})"
            f" from read_parquet('{path}')) to '{path}.new' (format parquet)"
        )
    Path(f"{path}.new").replace(path)
    return original


def clean_build(data: Path, root: Path, end: object = SECOND) -> dict[str, list[tuple[object, ...]]]:
    """The same window built by plain dbt in a fresh warehouse: what any stopped-then-resumed run must equal."""
    reference = Warehouse(root)
    shutil.copytree(data / "landing", reference.data_dir / "landing")
    shutil.copytree(data / "reference", reference.data_dir / "reference")
    reference.run(*BUILD_WITHOUT_TESTS, start=FIRST, end=end)  # type: ignore[arg-type]
    return tables(reference.duckdb_path)
