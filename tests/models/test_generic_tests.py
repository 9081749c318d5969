"""Each custom generic dbt test (tests/dbt/generic/) fails on data that breaks it, with dbt's message.

On a copy of the day-by-day warehouse (tests/models/window_history.py), one rule at a time is broken by writing
straight into a table, in rows of the refresh window (the marts' tests read the window's rows), then the one
test that guards the rule runs: it passes on the clean copy and returns exactly the broken rows after.
`scd2_no_overlap` is broken the same way in tests/models/test_window_tests.py (an overlapping item version).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from models_harness import Warehouse, node_results
from window_history import LAST_DAY, copy

pytestmark = pytest.mark.slow


def one_row(table: str, condition: str, count: int = 1) -> str:
    """The rowids of `count` rows of the window's day matching `condition`, in a stable order."""
    return f"select rowid from {table} where {condition} order by rowid limit {count}"


@dataclass(frozen=True)
class Breach:
    test: str  # the dbt test guarding the rule
    rule: str
    sql: str  # DuckDB, run on the copy; must change exactly `rows` rows
    rows: int
    returned: int  # rows the test must return once broken (one per broken key for the grouped tests)
    severity: str = "fail"


DAY = f"cast('{LAST_DAY}' as date)"
BREACHES = (
    Breach(
        "dim_customer_address_first_load_not_after_last_load",
        "expression_is_true: first load on or before last load",
        # an address the window rewrote (last load = the window's day) with a first load after it
        f"update dim_customer_address set ca_last_load_date = {DAY}, ca_first_load_date = {DAY} + 1 "
        "where rowid in (" + one_row("dim_customer_address", "ca_address_sk <> -1") + ")",
        rows=1,
        returned=1,
    ),
    Breach(
        "scd2_one_open_version_dim_item_i_item_id__i_rec_end_date",
        "scd2_one_open_version: a second open version of an item",
        "insert into dim_item select * replace ((select max(i_item_sk) + 1 from dim_item) as i_item_sk) "
        "from dim_item where rowid in ("
        + one_row("dim_item", f"i_rec_end_date is null and i_last_load_date = {DAY} and i_item_sk <> -1")
        + ")",
        rows=1,
        returned=1,
    ),
    Breach(
        "rpt_daily_store_sales_one_row_per_day_and_store",
        "unique_combination_of_columns: a day and store twice",
        "insert into rpt_daily_store_sales select * from rpt_daily_store_sales where rowid in ("
        + one_row("rpt_daily_store_sales", f"sold_date = {DAY}")
        + ")",
        rows=1,
        returned=1,
    ),
    Breach(
        "accepted_range_fct_store_sales_ss_quantity__0",
        "accepted_range (min_value): a negative quantity",
        "update fct_store_sales set ss_quantity = -1 where rowid in ("
        + one_row("fct_store_sales", f"ss_sold_date = {DAY}")
        + ")",
        rows=1,
        returned=1,
    ),
    Breach(
        "accepted_range_rpt_weekly_region_sales_days_loaded__7__1",
        "accepted_range (max_value): a week of 8 days",
        "update rpt_weekly_region_sales set days_loaded = 8 where rowid in ("
        + one_row("rpt_weekly_region_sales", "true")
        + ")",
        rows=1,
        returned=1,
    ),
    Breach(
        "unknown_member_count_fct_store_sales_ss_item_sk",
        "unknown_member_count (severity warn): three more sales lines on the unknown item",
        "update fct_store_sales set ss_item_sk = -1 where rowid in ("
        + one_row("fct_store_sales", f"ss_sold_date = {DAY} and ss_item_sk <> -1", count=3)
        + ")",
        rows=3,
        returned=3,
        severity="warn",
    ),
)


def run_test(warehouse: Warehouse, name: str) -> tuple[str, int, str]:
    """Status, rows returned and message of one dbt test, scoped to the last day's window."""
    result = warehouse.invoke("test", "--select", name, start=LAST_DAY)
    assert result.exception is None, f"dbt test crashed: {result.exception}"
    [outcome] = [outcome for outcome in node_results(result) if outcome.node.name == name]
    return str(outcome.status), int(outcome.failures or 0), str(outcome.message or "")


@pytest.mark.parametrize("breach", BREACHES, ids=lambda breach: breach.test)
def test_each_custom_generic_test_fails_on_the_rows_that_break_it(
    loaded: Warehouse, tmp_path: Path, breach: Breach
) -> None:
    warehouse = copy(loaded, tmp_path / "broken")
    clean_status, baseline, _ = run_test(warehouse, breach.test)
    assert clean_status == ("pass" if baseline == 0 else breach.severity), f"{breach.test} fails on clean data"

    assert warehouse.query(breach.sql) == [(breach.rows,)], f"the breach of {breach.rule} changed other rows"
    status, returned, message = run_test(warehouse, breach.test)

    assert status == breach.severity, f"{breach.rule}: {breach.test} ended {status}"
    assert returned == baseline + breach.returned, f"{breach.rule}: {returned} rows, {baseline} before"
    assert f"Got {returned} result" in message, message
