"""Scratch data directories, prepared warehouse copies and table comparisons for the benchmarks (the comparison
also serves the test suite's independent oracle, tests/cli/test_handwritten_oracle.py).

Every measured run gets its own data directory: `landing/` and `reference/` are symbolic links to the
generated sample data (read only), while the warehouse file and the execution journal are its own, so
every run starts from the same copied warehouse state and no run sees another's journal.
"""

from __future__ import annotations

import os
import shutil
import tempfile
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
FIRST_DIFFERING_ROWS = 5
# the fact at SF 10 has 27M rows: what does not fit spills to a temporary folder; never more than half the machine
COMPARE_MEMORY_MB = min(6 * 1024, os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**21)


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
    for previous in (target, target.with_name(f"{target.name}.wal")):
        previous.unlink(missing_ok=True)
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
class TableComparison:
    """One table of two warehouses compared as multisets: the rows found in one and not in the other (with the
    first few of each, ordered by every column), and the columns (name and type) only one of them has."""

    table: str
    rows: int
    columns: tuple[str, ...]
    only_left: int
    only_right: int
    first_only_left: tuple[tuple[object, ...], ...]
    first_only_right: tuple[tuple[object, ...], ...]
    columns_only_left: tuple[str, ...]
    columns_only_right: tuple[str, ...]

    @property
    def equal(self) -> bool:
        return not (self.only_left or self.only_right or self.columns_only_left or self.columns_only_right)


@dataclass(frozen=True)
class Comparison:
    """The mart and report tables of two warehouses, compared table by table."""

    left: str
    right: str
    scope: str
    tables: tuple[TableComparison, ...]

    @property
    def equal(self) -> bool:
        return all(table.equal for table in self.tables)

    def summary(self) -> str:
        if self.equal:
            tables = ", ".join(f"{table.table} {table.rows:,}" for table in self.tables)
            return f"equal ({tables} rows)"
        diffs = ", ".join(self._difference(table) for table in self.tables if not table.equal)
        return f"DIFFERENT ({diffs})"

    def details(self) -> str:
        """The summary, then per differing table its columns and the first rows found on one side only."""
        lines = [f"{self.left} against {self.right}, {self.scope}: {self.summary()}"]
        for table in self.tables:
            for side, count, rows in (
                (self.left, table.only_left, table.first_only_left),
                (self.right, table.only_right, table.first_only_right),
            ):
                if rows:
                    lines.append(f"{table.table}: {count} rows only in {side}, the first {len(rows)}:")
                    lines.extend("  " + _row_text(table.columns, row) for row in rows)
        return "\n".join(lines)

    def _difference(self, table: TableComparison) -> str:
        parts = []
        if table.columns_only_left or table.columns_only_right:
            parts.append(
                f"columns only in {self.left}: {', '.join(table.columns_only_left) or 'none'}, "
                f"only in {self.right}: {', '.join(table.columns_only_right) or 'none'}"
            )
        if table.only_left or table.only_right:
            parts.append(f"{table.only_left} rows only in {self.left}, {table.only_right} only in {self.right}")
        return f"{table.table}: {'; '.join(parts)}"


def compare(
    left: Path,
    right: Path,
    *,
    names: tuple[str, str],
    scope: str = "all rows",
    projections: dict[str, str] | None = None,
) -> Comparison:
    """Compare the mart and report tables of two warehouses as multisets (EXCEPT ALL both ways).

    A table is compared whole: its columns (name and type) must be the same on both sides, and the rows are
    compared over the columns both have, selected by name. `projections` replaces a table's select list by
    another select list and where clause, for a check restricted to the rows and columns two histories must
    share."""
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as spill:
        connection = duckdb.connect()
        try:
            connection.execute("set enable_progress_bar = false")
            connection.execute(f"set memory_limit = '{COMPARE_MEMORY_MB}MB'")
            connection.execute(f"set temp_directory = {_literal(Path(spill))}")
            connection.execute(f"attach {_literal(left)} as left_db (read_only)")
            connection.execute(f"attach {_literal(right)} as right_db (read_only)")
            tables = tuple(_compare_table(connection, table, (projections or {}).get(table)) for table in MART_TABLES)
            return Comparison(names[0], names[1], scope, tables)
        except duckdb.Error as error:
            raise BenchmarkError(f"could not compare {left} with {right}: {error}") from None
        finally:
            connection.close()


def _compare_table(connection: duckdb.DuckDBPyConnection, table: str, projection: str | None) -> TableComparison:
    columns_only_left: tuple[str, ...] = ()
    columns_only_right: tuple[str, ...] = ()
    if projection is None:
        left_columns = _columns(connection, "left_db", table)
        right_columns = _columns(connection, "right_db", table)
        columns_only_left = tuple(f"{name} {kind}" for name, kind in left_columns if (name, kind) not in right_columns)
        columns_only_right = tuple(f"{name} {kind}" for name, kind in right_columns if (name, kind) not in left_columns)
        right_names = {name for name, _ in right_columns}
        shared = ", ".join(name for name, _ in left_columns if name in right_names)
        projection = f"select {shared} from {{relation}}"
    left_sql = projection.format(relation=f"left_db.main.{table}")
    right_sql = projection.format(relation=f"right_db.main.{table}")
    # each difference is computed once (at SF 10 the fact has 27M rows), then counted and sampled
    connection.execute(f"create or replace temp table only_left as {left_sql} except all {right_sql}")
    connection.execute(f"create or replace temp table only_right as {right_sql} except all {left_sql}")
    cursor = connection.execute(f"select * from only_left order by all limit {FIRST_DIFFERING_ROWS}")
    first_only_left = tuple(cursor.fetchall())
    columns = tuple(str(column[0]) for column in cursor.description or ())
    first_only_right = tuple(
        connection.execute(f"select * from only_right order by all limit {FIRST_DIFFERING_ROWS}").fetchall()
    )
    return TableComparison(
        table=table,
        rows=_count(connection, f"select count(*) from ({left_sql})"),
        columns=columns,
        only_left=_count(connection, "select count(*) from only_left"),
        only_right=_count(connection, "select count(*) from only_right"),
        first_only_left=first_only_left,
        first_only_right=first_only_right,
        columns_only_left=columns_only_left,
        columns_only_right=columns_only_right,
    )


def _row_text(columns: tuple[str, ...], row: tuple[object, ...]) -> str:
    values = ("null" if value is None else str(value) for value in row)
    return ", ".join(f"{column}={value}" for column, value in zip(columns, values, strict=True))


def _literal(path: Path) -> str:
    """A path as a SQL string literal (ATTACH takes no bound parameters)."""
    return "'" + str(path).replace("'", "''") + "'"


def _columns(connection: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[tuple[str, str]]:
    """The table's columns (name, type) in order: both sides are selected by name, whatever their column order."""
    found = connection.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = ? and table_name = ? "
        "order by ordinal_position",
        [catalog, table],
    ).fetchall()
    if not found:
        raise BenchmarkError(f"table {table} is missing from the warehouse attached as {catalog}")
    return [(str(name), str(kind)) for name, kind in found]


def _count(connection: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = connection.execute(sql).fetchone()
    return int(row[0]) if row else 0
