"""Scratch data directories, prepared warehouse copies and table comparisons for the benchmarks.

Every measured run gets its own data directory: `landing/` and `reference/` are symbolic links to the
generated sample data (read only), while the warehouse file and the execution journal are its own, so
every run starts from the same copied warehouse state and no run sees another's journal.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from bench.errors import BenchmarkError

MART_TABLES = (
    "dim_customer_address",
    "dim_item",
    "fct_store_sales",
    "rpt_daily_store_sales",
    "rpt_weekly_region_sales",
)
DATED_TABLES = {
    "fct_store_sales": "ss_sold_date",
    "rpt_daily_store_sales": "sold_date",
    "rpt_weekly_region_sales": "week_start_date",
}
WAREHOUSE_FILE = "warehouse.duckdb"


@dataclass(frozen=True)
class RunDir:
    """A data directory for one measured run."""

    path: Path

    @property
    def warehouse(self) -> Path:
        return self.path / WAREHOUSE_FILE

    def env(self) -> dict[str, str]:
        return {"STORE_SALES_DATA_DIR": str(self.path), "STORE_SALES_DUCKDB": str(self.warehouse)}


def fresh_run_dir(path: Path, data_dir: Path, warehouse: Path | None) -> RunDir:
    """An empty run directory over `data_dir`, holding a copy of `warehouse` (or no warehouse yet)."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    for name in ("landing", "reference"):
        (path / name).symlink_to((data_dir / name).resolve(), target_is_directory=True)
    run = RunDir(path)
    if warehouse is not None:
        shutil.copyfile(warehouse, run.warehouse)
    return run


def remove(run: RunDir) -> None:
    shutil.rmtree(run.path, ignore_errors=True)


def trim_history(source: Path, target: Path, keep_from: date) -> dict[str, int]:
    """A copy of `source` whose fact and report rows before `keep_from` are gone (the dimensions stay
    whole): the same daily refresh then runs against a short history. Returns the rows per table."""
    if target.exists():
        target.unlink()
    connection = duckdb.connect(str(target))
    try:
        connection.execute("set enable_progress_bar = false")
        connection.execute(f"attach {_literal(source)} as source (read_only)")
        current = connection.execute("select current_database()").fetchone()
        connection.execute(f'copy from database source to "{current[0] if current else target.stem}"')
        for table, column in DATED_TABLES.items():
            connection.execute(f"delete from {table} where {column} < ?", [keep_from])
        connection.execute("detach source")
        connection.execute("checkpoint")
        return row_counts(connection)
    finally:
        connection.close()


def row_counts(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in MART_TABLES:
        row = connection.execute(f"select count(*) from {table}").fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def warehouse_rows(warehouse: Path) -> dict[str, int]:
    connection = duckdb.connect(str(warehouse), read_only=True)
    try:
        return row_counts(connection)
    finally:
        connection.close()


@dataclass(frozen=True)
class Comparison:
    """Rows of each table found in one warehouse and not in the other (multiset difference)."""

    left: str
    right: str
    scope: str
    differences: dict[str, tuple[int, int]]
    rows: dict[str, int]

    @property
    def equal(self) -> bool:
        return all(only_left == 0 and only_right == 0 for only_left, only_right in self.differences.values())

    def summary(self) -> str:
        if self.equal:
            tables = ", ".join(f"{table} {self.rows[table]:,}" for table in self.differences)
            return f"equal ({tables} rows)"
        diffs = ", ".join(
            f"{table}: {left} rows only in {self.left}, {right} only in {self.right}"
            for table, (left, right) in self.differences.items()
            if left or right
        )
        return f"DIFFERENT ({diffs})"


def compare(
    left: Path,
    right: Path,
    *,
    names: tuple[str, str],
    scope: str = "all rows",
    projections: dict[str, str] | None = None,
) -> Comparison:
    """Compare the mart and report tables of two warehouses as multisets (EXCEPT ALL both ways).

    `projections` replaces a table's `select *` by another select list and where clause, for a check
    restricted to the rows and columns two histories must share."""
    connection = duckdb.connect()
    try:
        connection.execute("set enable_progress_bar = false")
        connection.execute(f"attach {_literal(left)} as left_db (read_only)")
        connection.execute(f"attach {_literal(right)} as right_db (read_only)")
        differences: dict[str, tuple[int, int]] = {}
        rows: dict[str, int] = {}
        for table in MART_TABLES:
            columns = ", ".join(_columns(connection, "left_db", table))
            body = (projections or {}).get(table, f"select {columns} from {{relation}}")
            left_sql = body.format(relation=f"left_db.main.{table}")
            right_sql = body.format(relation=f"right_db.main.{table}")
            only_left = _count(connection, f"select count(*) from ({left_sql} except all {right_sql})")
            only_right = _count(connection, f"select count(*) from ({right_sql} except all {left_sql})")
            differences[table] = (only_left, only_right)
            rows[table] = _count(connection, f"select count(*) from ({left_sql})")
        return Comparison(names[0], names[1], scope, differences, rows)
    except duckdb.Error as error:
        raise BenchmarkError(f"could not compare {left} with {right}: {error}") from None
    finally:
        connection.close()


def _literal(path: Path) -> str:
    """A path as a SQL string literal (ATTACH takes no bound parameters)."""
    return "'" + str(path).replace("'", "''") + "'"


def _columns(connection: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[str]:
    """The table's columns in order: both sides are selected by name, whatever their column order."""
    found = connection.execute(
        "select column_name from information_schema.columns where table_catalog = ? and table_name = ? "
        "order by ordinal_position",
        [catalog, table],
    ).fetchall()
    if not found:
        raise BenchmarkError(f"table {table} is missing from the warehouse attached as {catalog}")
    return [str(name) for (name,) in found]


def _count(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = connection.execute(sql).fetchone()
    return int(row[0]) if row else 0
