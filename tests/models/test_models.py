"""The dbt models on DuckDB: the data semantics of DESIGN.md, range = sequence, reruns, edge cases.

Real dbt (in-process dbtRunner) builds real DuckDB warehouses from small hand-made landing extracts
(tests/landing.py); the marts are compared with a plain-Python reading of the rules
(tests/models/models_oracle.py) and between runs.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from landing import Address, Day, Item, Landing, Sale, customer_id, natural_id, random_history
from models_harness import PROJECT_DIR, DbtFailed, Warehouse, warnings
from models_oracle import Oracle

D1 = date(2002, 1, 7)
ITEM_A, ITEM_B, ITEM_C = natural_id("ITEM", 1), natural_id("ITEM", 2), natural_id("ITEM", 3)
ADDR_A, ADDR_B = natural_id("ADDR", 1), natural_id("ADDR", 2)
STORE_1, STORE_2 = natural_id("STORE", 1), natural_id("STORE", 2)


def day(n: int) -> date:
    return D1 + timedelta(days=n - 1)


def warehouse_with(root: Path, history: dict[date, Day]) -> Warehouse:
    warehouse = Warehouse(root)
    landing = Landing(warehouse.data_dir)
    landing.write_reference()
    landing.write_history(history)
    return warehouse


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 2024])
def test_daily_sequence_follows_the_rules_and_one_range_run_equals_it(tmp_path: Path, seed: int) -> None:
    days = 6
    history = random_history(seed, D1, days)
    sequential = warehouse_with(tmp_path / "sequential", history)
    for n in range(1, days + 1):
        sequential.build(day(n))

    oracle = Oracle()
    oracle.load(history)
    assert sequential.table("dim_customer_address") == oracle.dim_customer_address()
    assert sequential.table("dim_item") == oracle.dim_item()
    assert sequential.table("fct_store_sales") == oracle.fct_store_sales()
    assert sequential.table("rpt_daily_store_sales") == oracle.rpt_daily_store_sales()
    assert sequential.table("rpt_weekly_region_sales") == oracle.rpt_weekly_region_sales()
    expected = sequential.marts()

    at_once = warehouse_with(tmp_path / "range", history)
    at_once.build(day(1), day(days))
    assert at_once.marts() == expected

    split = warehouse_with(tmp_path / "split", history)
    split.build(day(1), day(2))
    split.build(day(3), day(days))
    assert split.marts() == expected

    # rerunning any window (the last day, an older range, everything) changes nothing
    for start, end in ((day(days), day(days)), (day(2), day(4)), (day(1), day(days))):
        sequential.build(start, end)
        assert sequential.marts() == expected, f"rerun of {start}..{end} changed the tables"


ORACLE_TABLES = (
    "dim_customer_address", "dim_item", "fct_store_sales", "rpt_daily_store_sales", "rpt_weekly_region_sales",
)  # fmt: skip


@pytest.mark.slow
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(min_value=0, max_value=2**31 - 1), days=st.integers(min_value=8, max_value=12))
def test_longer_random_histories_follow_the_rules_day_by_day_and_in_one_range(
    tmp_path_factory: pytest.TempPathFactory, seed: int, days: int
) -> None:
    """Hypothesis picks the history (its seed and length, over a week so that weeks complete); the marts and
    reports of a day-by-day sequence must equal the oracle's, and one range run must equal the sequence.
    A failure prints the seed and length to reproduce with random_history(seed, D1, days)."""
    history = random_history(seed, D1, days)
    sequential = warehouse_with(tmp_path_factory.mktemp("sequence"), history)
    for n in range(1, days + 1):
        sequential.build(day(n))
    oracle = Oracle()
    oracle.load(history)
    for name in ORACLE_TABLES:
        assert sequential.table(name) == getattr(oracle, name)(), f"{name} differs from the oracle"

    at_once = warehouse_with(tmp_path_factory.mktemp("range"), history)
    at_once.build(day(1), day(days))
    assert at_once.marts() == sequential.marts()


def test_a_redelivered_older_day_replaces_its_week_and_the_change_of_the_week_after(tmp_path: Path) -> None:
    """Two full weeks (D1 is a Monday), 10.00 of sales a day in Toronto (North America); then Wednesday of the
    first week is re-delivered with 50.00 and only that day is run again."""
    history = {day(n): Day(sales=[Sale(n, ITEM_A, s_store_id=STORE_2)]) for n in range(1, 15)}
    warehouse = warehouse_with(tmp_path / "loaded", history)
    warehouse.build(day(1), day(14))  # one range (equal to the daily sequence, tested above)
    weekly = "select week_start_date, days_loaded, sales_amount, prior_week_sales_amount, sales_amount_change_pct"
    weekly += " from rpt_weekly_region_sales order by 1"
    assert warehouse.query(weekly) == [
        (day(1), 7, Decimal("70.00"), None, None),
        (day(8), 7, Decimal("70.00"), Decimal("70.00"), Decimal("0.00")),
    ]

    history[day(3)] = Day(sales=[Sale(3, ITEM_A, s_store_id=STORE_2, ss_quantity=5)])
    Landing(warehouse.data_dir).write_day(day(3), history[day(3)])
    warehouse.build(day(3))
    assert warehouse.query(weekly) == [
        (day(1), 7, Decimal("110.00"), None, None),
        (day(8), 7, Decimal("70.00"), Decimal("110.00"), Decimal("-36.36")),  # the week after, replaced too
    ]
    assert warehouse.query(f"select sales_amount from rpt_daily_store_sales where sold_date = '{day(3)}'") == [
        (Decimal("50.00"),)
    ]
    rebuilt = warehouse_with(tmp_path / "rebuilt", history)
    rebuilt.build(day(1), day(14))
    assert warehouse.marts() == rebuilt.marts()


def test_type_2_change_in_the_middle_of_a_range_and_point_in_time_lookups(tmp_path: Path) -> None:
    history = {
        day(1): Day(
            addresses=[Address(ADDR_A, ca_city="Midway")],
            items=[Item(ITEM_A, Decimal("10.00")), Item(ITEM_B, Decimal("5.00"))],
            sales=[Sale(1, ITEM_A, customer_id(1), ADDR_A, STORE_1), Sale(1, ITEM_B, customer_id(1), ADDR_B, STORE_1)],
        ),
        day(2): Day(
            items=[Item(ITEM_A, Decimal("12.00")), Item(ITEM_B, Decimal("5.00"), i_category="Music")],
            sales=[Sale(2, ITEM_A, customer_id(2), ADDR_B, STORE_2), Sale(2, ITEM_C, customer_id(2), ADDR_A, STORE_2)],
        ),
        day(3): Day(
            addresses=[Address(ADDR_B, ca_city="Bethel"), Address(ADDR_A, ca_city="Fairview")],
            items=[Item(ITEM_A, Decimal("12.00"), i_category="Sports"), Item(ITEM_C, Decimal("7.00"))],
            sales=[Sale(3, ITEM_A, customer_id(3), ADDR_B, STORE_1), Sale(3, ITEM_C, customer_id(3), ADDR_B, STORE_1)],
        ),
    }
    warehouse = warehouse_with(tmp_path, history)
    warehouse.build(day(1), day(3))

    items = warehouse.query(
        "select i_item_sk, i_item_id, i_rec_start_date, i_rec_end_date, i_current_price, i_category"
        " from dim_item where i_item_sk > 0 order by i_item_sk"
    )
    assert items == [
        (1, ITEM_A, day(1), day(1), Decimal("10.00"), "Books"),
        (2, ITEM_B, day(1), None, Decimal("5.00"), "Music"),
        (3, ITEM_A, day(2), None, Decimal("12.00"), "Sports"),
        (4, ITEM_C, day(3), None, Decimal("7.00"), "Books"),
    ]
    addresses = warehouse.query(
        "select ca_address_sk, ca_address_id, ca_city, ca_first_load_date from dim_customer_address"
        " where ca_address_sk > 0 order by 1"
    )
    assert addresses == [(1, ADDR_A, "Fairview", day(1)), (2, ADDR_B, "Bethel", day(3))]
    facts = warehouse.query(
        "select ss_sold_date, ss_item_id, ss_item_sk, ss_addr_sk, ss_customer_sk, ss_store_sk"
        " from fct_store_sales order by ss_sold_date, ss_ticket_number, ss_item_id"
    )
    # day 1: ADDR_B arrives only on day 3 -> -1 (a day-by-day run could not know it either)
    # day 2: ITEM_A's version opened on day 2 (3); ITEM_C arrives on day 3 -> -1; STORE_2 -> 3
    # day 3: ADDR_B is known (2); store 1's version valid until 2002-01-09 is still s_store_sk 1
    assert facts == [
        (day(1), ITEM_A, 1, 1, 1, 1),
        (day(1), ITEM_B, 2, -1, 1, 1),
        (day(2), ITEM_A, 3, -1, 2, 3),
        (day(2), ITEM_C, -1, 1, 2, 3),
        (day(3), ITEM_A, 3, 2, 3, 1),
        (day(3), ITEM_C, 4, 2, 3, 1),
    ]


def test_an_empty_day_leaves_no_stale_rows(tmp_path: Path) -> None:
    sales = [Sale(1, ITEM_A, customer_id(1), ADDR_A, STORE_1, ss_quantity=2)]
    history = {
        day(1): Day(addresses=[Address(ADDR_A)], items=[Item(ITEM_A)], sales=sales),
        day(2): Day(sales=[Sale(2, ITEM_A, customer_id(1), ADDR_A, STORE_1)]),
    }
    warehouse = warehouse_with(tmp_path, history)
    warehouse.build(day(1), day(2))
    assert warehouse.query("select ss_sold_date, count(*) from fct_store_sales group by 1 order by 1") == [
        (day(1), 1),
        (day(2), 1),
    ]

    Landing(warehouse.data_dir).write_day(day(2), Day())  # day 2 re-delivered without sales
    warehouse.build(day(2))
    assert warehouse.query("select distinct ss_sold_date from fct_store_sales") == [(day(1),)]
    assert warehouse.query("select distinct sold_date from rpt_daily_store_sales") == [(day(1),)]
    assert warehouse.query("select sum(orders) from rpt_weekly_region_sales") == [(1,)]


def test_duplicates_are_handled_as_documented(tmp_path: Path) -> None:
    line = Sale(1, ITEM_A, customer_id(1), ADDR_A, STORE_1, ss_quantity=2)
    history = {
        day(1): Day(
            addresses=[Address(ADDR_A, ca_zip="37002"), Address(ADDR_A, ca_zip="37001")],
            items=[Item(ITEM_A, Decimal("10.00")), Item(ITEM_A, Decimal("11.00"), i_category="Music")],
            sales=[line, line, Sale(1, ITEM_A, customer_id(1), ADDR_A, STORE_1, ss_quantity=1)],
        ),
    }
    warehouse = warehouse_with(tmp_path, history)
    result = warehouse.build(day(1))

    # identical lines collapse to one; a different line of the same ticket and item is kept and numbered
    assert warehouse.query("select ss_line_number, ss_quantity from fct_store_sales order by 1") == [(1, 1), (2, 2)]
    # one day's duplicate natural keys: the highest price wins, then the attributes in order
    assert warehouse.query("select i_current_price, i_category from dim_item where i_item_sk > 0") == [
        (Decimal("11.00"), "Music")
    ]
    assert warehouse.query("select ca_zip from dim_customer_address where ca_address_sk > 0") == [("37001",)]
    warned = warnings(result)
    assert warned["stg_tpcds__items_one_row_per_item_and_day"] == 1
    assert warned["stg_tpcds__customer_addresses_one_row_per_address_and_day"] == 1
    assert warned["stg_tpcds__store_sales_no_identical_duplicate_lines"] == 1


def test_unresolvable_keys_land_on_the_unknown_member_and_are_counted(tmp_path: Path) -> None:
    history = {
        day(1): Day(
            addresses=[Address(ADDR_A)],
            items=[Item(ITEM_A)],
            sales=[
                Sale(1, ITEM_A, customer_id(1), ADDR_A, STORE_1),
                Sale(2, natural_id("ITEM", 404), customer_id(99), natural_id("ADDR", 404), natural_id("STORE", 404)),
                Sale(3, None, None, None, None),
            ],
        ),
    }
    warehouse = warehouse_with(tmp_path, history)
    result = warehouse.build(day(1))

    assert warehouse.query(
        "select ss_ticket_number, ss_item_sk, ss_customer_sk, ss_addr_sk, ss_store_sk from fct_store_sales order by 1"
    ) == [(1, 1, 1, 1, 1), (2, -1, -1, -1, -1), (3, -1, -1, -1, -1)]
    warned = warnings(result)
    for key in ("ss_item_sk", "ss_customer_sk", "ss_addr_sk", "ss_store_sk"):
        assert warned[f"unknown_member_count_fct_store_sales_{key}"] == 2
    assert "unknown_member_count_fct_store_sales_ss_sold_date_sk" not in warned


def test_reports_filter_by_city_and_state_and_compare_weeks(tmp_path: Path) -> None:
    monday = date(2002, 1, 7)
    history = {
        monday: Day(
            items=[Item(ITEM_A, Decimal("10.00"))],
            sales=[
                Sale(1, ITEM_A, s_store_id=STORE_1, ss_quantity=1),
                Sale(1, ITEM_A, s_store_id=STORE_1, ss_quantity=3),
            ],
        ),
        monday + timedelta(days=1): Day(sales=[Sale(2, ITEM_A, s_store_id=STORE_2, ss_quantity=2)]),
        monday + timedelta(days=7): Day(sales=[Sale(3, ITEM_A, s_store_id=STORE_1, ss_quantity=5)]),
    }
    warehouse = warehouse_with(tmp_path, history)
    for load_date in sorted(history):
        warehouse.build(load_date)

    assert warehouse.query(
        "select sold_date, s_city, s_state, orders, sales_lines, sales_amount from rpt_daily_store_sales"
        " where s_city = 'Fairview' and s_state = 'TN' order by 1"
    ) == [(monday, "Fairview", "TN", 1, 2, Decimal("40.00"))]
    # both weeks are partial; the second (Monday only) is compared with the first week's Monday only
    assert warehouse.query(
        "select week_start_date, region, days_loaded, is_partial_week, orders, sales_amount,"
        " prior_week_sales_amount, sales_amount_change_pct from rpt_weekly_region_sales order by 1, 2"
    ) == [
        (monday, "North America", 2, True, 2, Decimal("60.00"), None, None),
        (monday + timedelta(days=7), "North America", 1, True, 1, Decimal("50.00"), Decimal("40.00"), Decimal("25.00")),
    ]
    incremental = {name: warehouse.table(name) for name in ("rpt_daily_store_sales", "rpt_weekly_region_sales")}
    warehouse.run("run", "--select", "reports", "--full-refresh", start=monday)
    assert {name: warehouse.table(name) for name in incremental} == incremental


WEEKLY_ROW = (
    "select region, days_loaded, is_partial_week, sales_amount, prior_week_sales_amount, sales_amount_change,"
    " sales_amount_change_pct from rpt_weekly_region_sales where week_start_date = '{week}' order by region"
)


def test_a_partial_week_is_marked_and_compared_like_for_like(tmp_path: Path) -> None:
    week_1, week_2 = D1, D1 + timedelta(days=7)  # Mondays
    # week 1: sales every day, Monday 10.00, Tuesday 20.00, ..., Sunday 70.00 (280.00)
    history = {
        week_1 + timedelta(days=n): Day(
            items=[Item(ITEM_A, Decimal("10.00"))] if n == 0 else [],
            sales=[Sale(100 + n, ITEM_A, s_store_id=STORE_1, ss_quantity=n + 1)],
        )
        for n in range(7)
    }
    # week 2, first loads: Monday 40.00, Tuesday 20.00 in North America (plus 10.00 of an unknown store)
    history[week_2] = Day(sales=[Sale(200, ITEM_A, s_store_id=STORE_1, ss_quantity=4)])
    history[week_2 + timedelta(days=1)] = Day(
        sales=[Sale(201, ITEM_A, s_store_id=STORE_2, ss_quantity=2), Sale(202, ITEM_A, ss_quantity=1)]
    )
    # Wednesday: sales only at an unknown store, which still makes it a loaded day of the week
    history[week_2 + timedelta(days=2)] = Day(sales=[Sale(203, ITEM_A, ss_quantity=3)])
    # Thursday .. Sunday: 10.00 a day in North America
    for n in range(3, 7):
        history[week_2 + timedelta(days=n)] = Day(sales=[Sale(200 + n + 1, ITEM_A, s_store_id=STORE_1)])
    warehouse = warehouse_with(tmp_path, history)

    warehouse.build(week_1, week_2 + timedelta(days=1))
    assert warehouse.query(WEEKLY_ROW.format(week=week_1)) == [
        ("North America", 7, False, Decimal("280.00"), None, None, None),
    ]
    # Monday + Tuesday against week 1's Monday + Tuesday (30.00), not against its whole 280.00
    assert warehouse.query(WEEKLY_ROW.format(week=week_2)) == [
        ("North America", 2, True, Decimal("60.00"), Decimal("30.00"), Decimal("30.00"), Decimal("100.00")),
        ("Unknown", 2, True, Decimal("10.00"), None, None, None),
    ]

    warehouse.build(week_2 + timedelta(days=2))  # a day with sales anywhere counts for every region
    assert warehouse.query(WEEKLY_ROW.format(week=week_2)) == [
        ("North America", 3, True, Decimal("60.00"), Decimal("60.00"), Decimal("0.00"), Decimal("0.00")),
        ("Unknown", 3, True, Decimal("40.00"), None, None, None),
    ]

    warehouse.build(week_2 + timedelta(days=3), week_2 + timedelta(days=6))  # the week is complete
    assert warehouse.query(WEEKLY_ROW.format(week=week_2)) == [
        ("North America", 7, False, Decimal("100.00"), Decimal("280.00"), Decimal("-180.00"), Decimal("-64.29")),
        ("Unknown", 7, False, Decimal("40.00"), None, None, None),
    ]
    # the following week (no sales yet) has no row; a full refresh gives the same table
    incremental = warehouse.table("rpt_weekly_region_sales")
    assert len(incremental) == 3
    warehouse.run("run", "--select", "rpt_weekly_region_sales", "--full-refresh", start=week_1)
    assert warehouse.table("rpt_weekly_region_sales") == incremental


def test_a_weekly_report_built_with_the_old_columns_fails_until_a_full_refresh(tmp_path: Path) -> None:
    warehouse = warehouse_with(
        tmp_path, {day(1): Day(items=[Item(ITEM_A)], sales=[Sale(1, ITEM_A, s_store_id=STORE_1)])}
    )
    warehouse.build(day(1))
    with duckdb.connect(str(warehouse.duckdb_path)) as connection:  # the table as built before the two columns
        connection.execute("alter table rpt_weekly_region_sales drop column days_loaded")
        connection.execute("alter table rpt_weekly_region_sales drop column is_partial_week")

    with pytest.raises(DbtFailed, match="out of sync"):
        warehouse.run("run", "--select", "rpt_weekly_region_sales", start=day(1))
    warehouse.run("run", "--select", "rpt_weekly_region_sales", "--full-refresh", start=day(1))
    assert warehouse.query("select week_start_date, days_loaded, is_partial_week from rpt_weekly_region_sales") == [
        (day(1), 1, True)
    ]


def runs(warehouse: Warehouse) -> list[tuple[Any, ...]]:
    """The run log: window, status and selection of each run, oldest first."""
    return warehouse.query(
        "select window_start, window_end, status, selection, error is null from pipeline_runs order by started_at"
    )


def test_a_profile_without_the_landing_functions_is_told_what_to_add(tmp_path: Path) -> None:
    """The DuckDB target's macros call the landing rules through the profile's dbt-duckdb plugin; a profile copied
    before it existed gets one sentence naming the entry, not DuckDB's "Scalar Function ... does not exist"."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    own = (PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8")
    (profiles / "profiles.yml").write_text(own.replace("- module: orchestrator.local.duckdb_functions", ""))
    warehouse = warehouse_with(tmp_path / "landed", {day(1): Day(sales=[Sale(1, ITEM_A, s_store_id=STORE_1)])})
    bare = Warehouse(warehouse.root, profiles_dir=profiles)
    for start in (None, day(1)):  # the catch-up and the Parquet rule of a given window
        result = bare.invoke("build", start=start, parsed=False)
        assert not result.success
        assert "needs `plugins: [{module: orchestrator.local.duckdb_functions}]`" in str(result.exception)


def test_a_plain_build_without_a_window_catches_up_every_landed_day_then_only_the_new_ones(tmp_path: Path) -> None:
    sales = {
        n: Day(items=[Item(ITEM_A)] if n == 1 else [], sales=[Sale(n, ITEM_A, s_store_id=STORE_1)])
        for n in (1, 2, 3, 5)
    }
    warehouse = warehouse_with(tmp_path / "caught_up", {day(1): sales[1], day(2): sales[2]})
    nothing = Warehouse(tmp_path / "empty").invoke("build")
    assert not nothing.success and "nothing to catch up: no day has all its extracts landed" in str(nothing.exception)

    warehouse.run("build")  # empty warehouse: every landed day
    assert runs(warehouse) == [(day(1), day(2), "SUCCEEDED", None, True)]
    landing = Landing(warehouse.data_dir)
    landing.write_day(day(3), sales[3])
    warehouse.run("build")  # only the new day
    landing.write_day(day(5), sales[5])  # day 4 has not landed: day 5 waits for it
    warehouse.run("build")  # nothing new: the last loaded day again (idempotent)
    assert runs(warehouse)[1:] == [(day(3), day(3), "SUCCEEDED", None, True), (day(3), day(3), "SUCCEEDED", None, True)]
    assert warehouse.query("select ss_sold_date, count(*) from fct_store_sales group by 1 order by 1") == [
        (day(n), 1) for n in (1, 2, 3)
    ]

    # a failed catch-up is recorded, and the next one loads its days again
    landing.write_day(day(4), Day(sales=[Sale(4, ITEM_A, s_store_id=STORE_1, ss_quantity=-1)]))
    assert not warehouse.invoke("build").success
    assert runs(warehouse)[-1] == (day(4), day(5), "FAILED", None, False)
    landing.write_day(day(4), Day(sales=[Sale(4, ITEM_A, s_store_id=STORE_1)]))
    warehouse.run("build")
    assert runs(warehouse)[-1] == (day(4), day(5), "SUCCEEDED", None, True)

    # the last loaded day's markers gone (a wrong data directory, a cleaned landing): no reload of a day whose
    # files are not there, which would replace its loaded rows with nothing
    for marker in warehouse.data_dir.glob(f"landing/*/load_date={day(5)}/_SUCCESS"):
        marker.unlink()
    gone = warehouse.invoke("build")
    assert not gone.success and f"the markers of the last loaded day {day(5)} are not under" in str(gone.exception)
    assert warehouse.query(f"select count(*) from fct_store_sales where ss_sold_date = '{day(5)}'") == [(1,)]

    sequence = warehouse_with(tmp_path / "sequence", {day(1): sales[1], day(2): sales[2], day(3): sales[3]})
    Landing(sequence.data_dir).write_day(day(4), Day(sales=[Sale(4, ITEM_A, s_store_id=STORE_1)]))
    Landing(sequence.data_dir).write_day(day(5), sales[5])
    for n in range(1, 6):
        sequence.build(day(n))
    assert warehouse.marts() == sequence.marts()


def test_dbts_event_time_flags_set_the_window_exactly_as_the_variables_do(tmp_path: Path) -> None:
    history = {
        day(n): Day(items=[Item(ITEM_A)] if n == 1 else [], sales=[Sale(n, ITEM_A, s_store_id=STORE_1)])
        for n in (1, 2, 3)
    }
    by_variables = warehouse_with(tmp_path / "variables", history)
    by_variables.build(day(1), day(2))
    by_flags = warehouse_with(tmp_path / "flags", history)
    flags = ("--event-time-start", day(1).isoformat(), "--event-time-end", day(3).isoformat())  # end exclusive
    by_flags.run("build", *flags)
    assert by_flags.marts() == by_variables.marts()
    assert runs(by_flags) == [(day(1), day(2), "SUCCEEDED", None, True)]  # a given window: no catch-up of day 3

    # the incremental models declare dbt's event_time, the column their window replaces (and --sample reads)
    nodes = by_flags.manifest().nodes
    declared = {
        node.name: node.config.event_time for node in nodes.values() if node.config.get("event_time") is not None
    }
    assert declared == {
        "fct_store_sales": "ss_sold_date",
        "mon_store_sales_volume": "sold_date",
        "rpt_daily_store_sales": "sold_date",
        "rpt_weekly_region_sales": "week_start_date",
    }

    # dbt refuses one flag without the other, and a start not before the end; the window is made of whole days
    part_of_a_day = by_flags.invoke("build", "--event-time-start", f"{day(1)}T06:00:00", *flags[2:])
    assert not part_of_a_day.success and "is not a whole day" in str(part_of_a_day.exception)
    sampled = by_flags.invoke("build", *flags, "--sample", "1 day")
    assert not sampled.success and "--sample is refused for `dbt build`" in str(sampled.exception)
    twice = by_flags.invoke("build", *flags, start=day(1), end=day(1))
    assert not twice.success and "refresh window given twice, differently" in str(twice.exception)
    assert by_flags.invoke("build", *flags, start=day(1), end=day(2)).success  # the same days, twice: fine


def test_a_malformed_window_stops_before_any_model_runs(tmp_path: Path) -> None:
    warehouse = warehouse_with(tmp_path, {day(1): Day(items=[Item(ITEM_A)])})
    for start, end, message in (
        ("2002-1-7", "2002-01-07", "is not a date"),
        ("2002-02-30", "2002-02-30", "is not a valid date"),
        ("2002-01-08", "2002-01-07", "refresh window is reversed"),
        ("", "2002-01-07", "STORE_SALES_WINDOW_END='2002-01-07' is set but STORE_SALES_WINDOW_START is not"),
    ):
        warehouse.extra_env = {"STORE_SALES_WINDOW_START": start, "STORE_SALES_WINDOW_END": end}
        result = warehouse.invoke("build")
        assert not result.success
        assert message in str(result.exception)
    assert warehouse.query("select count(*) from information_schema.tables where table_name like 'dim_%'") == [(0,)]

    warehouse.extra_env = {"STORE_SALES_WINDOW_START": day(1).isoformat(), "STORE_SALES_WINDOW_END": ""}
    warehouse.run("build")  # the end defaults to the start: a one-day run
    assert warehouse.query("select i_item_id, i_rec_start_date from dim_item where i_item_sk > 0") == [(ITEM_A, day(1))]


def test_a_new_window_keeps_the_partial_parse_and_docs_generate_needs_no_window(tmp_path: Path) -> None:
    warehouse = warehouse_with(tmp_path, {day(1): Day(items=[Item(ITEM_A)]), day(2): Day(items=[Item(ITEM_B)])})
    log = tmp_path / "logs" / "dbt.log"
    assert warehouse.invoke("build", start=day(1), parsed=False).success
    log.write_text("")
    assert warehouse.invoke("build", start=day(2), parsed=False).success
    second_build = log.read_text()
    assert "Partial parsing enabled, no changes found, skipping parsing" in second_build
    assert "Unable to do partial parsing" not in second_build

    docs = warehouse.invoke("docs", "generate", parsed=False)
    assert docs.success, docs.exception
    catalog = json.loads((tmp_path / "target" / "catalog.json").read_text())
    assert "source.store_sales.tpcds.store_sales" in catalog["sources"]
    assert "model.store_sales.fct_store_sales" in catalog["nodes"]
