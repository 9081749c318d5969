"""Shared helpers of the fault suites: small hand-made landing data and a warehouse snapshot.

The landing data (tests/landing.py) holds two good days, FIRST and SECOND; the reference date_dim covers
2001-12-01..2002-03-30, so OUTSIDE_DATE_DIM is a load date it does not know.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from landing import STORES, Address, Day, Item, Landing, Sale, customer_id, natural_id

FIRST = date(2002, 1, 10)
SECOND = date(2002, 1, 11)
OUTSIDE_DATE_DIM = date(2002, 6, 1)
MART_TABLES = (
    "dim_customer_address",
    "dim_item",
    "fct_store_sales",
    "rpt_daily_store_sales",
    "rpt_weekly_region_sales",
)


def good_day(day: date, ticket_base: int) -> Day:
    """Three addresses, three items and a few sales lines of known and unknown ids."""
    return Day(
        addresses=[Address(natural_id("ADDR", n), ca_city="Midway" if n % 2 else "Fairview") for n in range(1, 4)],
        items=[Item(natural_id("ITEM", n), Decimal(n + day.day)) for n in range(1, 4)],
        sales=[
            Sale(ticket_base + 1, natural_id("ITEM", 1), customer_id(1), natural_id("ADDR", 1), STORES[1].s_store_id),
            Sale(ticket_base + 1, natural_id("ITEM", 2), customer_id(1), natural_id("ADDR", 1), STORES[1].s_store_id),
            Sale(ticket_base + 2, natural_id("ITEM", 3), customer_id(2), natural_id("ADDR", 2), STORES[2].s_store_id),
            Sale(ticket_base + 3, None, None, None, STORES[2].s_store_id, ss_quantity=2),
        ],
    )


def write_good_landing(root: Path) -> Landing:
    landing = Landing(root)
    landing.write_reference()
    landing.write_history({FIRST: good_day(FIRST, 100), SECOND: good_day(SECOND, 200)})
    return landing


def extract_file(data_dir: Path, extract: str, day: date) -> Path:
    return data_dir / "landing" / extract / f"load_date={day.isoformat()}" / "part-0.parquet"


def rewrite(path: Path, select: str) -> None:
    """Replace a Parquet file by `select <select> from <the file>` (DuckDB SQL)."""
    with duckdb.connect() as connection:
        connection.execute(f"copy (select {select} from read_parquet('{path}')) to '{path}.new' (format parquet)")
    Path(f"{path}.new").replace(path)


def snapshot(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every mart and report table, sorted (a reader's view of the warehouse)."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return {name: connection.execute(f"select * from main.{name} order by all").fetchall() for name in MART_TABLES}
