"""The volume check (models/monitoring/mon_store_sales_volume.sql) on a history whose rates are known: 300
tickets a day, half in each of two stores, of 3 lines at 10.00 a line, for five weeks (no year-ago history: the
recent weekday-aware baseline judges the orders). Then the four kinds of defect, each followed by two normal days:
(a) a line missing from every ticket, (d) net paid cut by 30 %, (b) 30 % of the whole orders missing, (c) one
store's sales missing while the other sells. The check flags exactly the defects, naming the day, the measure
(and the store), the value and the expected range, and the normal days between them stay quiet; at severity
`warn` the reports still publish, at `error` they do not. A season step (the orders tripling, as TPC-DS's from
July to November) is flagged on its first two days only: the recent baseline follows it on the third. A chain
that sells twice as much on Saturdays is quiet from its second week (the first is `no history`) into the
year-ago baseline's, which expects a step that came on the same date last year.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from alert_queue import alerts, subscribe_queue
from engine_support import ROOT, entered_states, execution_input, history, project_parsed_dir, wait_for_execution
from landing import STORES, Address, Day, Item, Landing, Sale, customer_id, natural_id
from models_harness import BUILD_WITHOUT_TESTS, Warehouse, describe_failure, node_results, warnings

from orchestrator.local.emulator import LocalAws, LocalOptions
from orchestrator.window import RefreshWindow

pytestmark = pytest.mark.slow

FIRST = date(2002, 1, 1)  # store 1 changes version on 10 January: its two keys are one store
HISTORY_DAYS = 35
TICKETS = 300
STORE_IDS = (STORES[0].s_store_id, STORES[2].s_store_id)
SHORT = FIRST + timedelta(days=HISTORY_DAYS)  # (a) two lines per ticket instead of three
CHEAP = SHORT + timedelta(days=3)  # (d) 7.00 a line instead of 10.00
FEWER = CHEAP + timedelta(days=3)  # (b) 210 tickets instead of 300
CLOSED = FEWER + timedelta(days=3)  # (c) store 1 sold nothing, store 2 as always
LAST = CLOSED + timedelta(days=2)
CHECK = "mon_store_sales_volume_within_expected_range"


def day_of_sales(
    day: date,
    lines: int = 3,
    price: Decimal = Decimal("10.00"),
    tickets: int = TICKETS,
    stores: tuple[str, ...] = STORE_IDS,
    first: date = FIRST,
) -> Day:
    """`tickets` tickets of `lines` lines at `price`, dealt in turn to `stores` (on the history's `first` day
    with the address and the items they refer to)."""
    return Day(
        addresses=[Address(natural_id("ADDR", 1))] if day == first else [],
        items=[Item(natural_id("ITEM", n)) for n in range(1, 4)] if day == first else [],
        sales=[
            Sale(
                day.toordinal() * 1000 + ticket,
                natural_id("ITEM", line),
                customer_id(1),
                natural_id("ADDR", 1),
                stores[ticket % len(stores)],
                ss_sales_price=price,
            )
            for ticket in range(tickets)
            for line in range(1, lines + 1)
        ],
    )


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The history loaded, then the defects and the days between them built with their tests (severity warn)."""
    warehouse = Warehouse(tmp_path_factory.mktemp("volume"))
    landing = Landing(warehouse.data_dir)
    landing.write_reference()
    days = {FIRST + timedelta(days=n): day_of_sales(FIRST + timedelta(days=n)) for n in range((LAST - FIRST).days + 1)}
    days[SHORT] = day_of_sales(SHORT, lines=2)
    days[CHEAP] = day_of_sales(CHEAP, price=Decimal("7.00"))
    days[FEWER] = day_of_sales(FEWER, tickets=210)
    days[CLOSED] = day_of_sales(CLOSED, tickets=TICKETS // 2, stores=STORE_IDS[1:])
    landing.write_history(days)
    warehouse.run(*BUILD_WITHOUT_TESTS, start=FIRST, end=SHORT - timedelta(days=1))
    shutil.copytree(warehouse.root / "warehouse", warehouse.root / "history")
    result = warehouse.build(SHORT, LAST)
    assert warnings(result) == {CHECK: 5}
    return warehouse


def test_each_kind_of_defect_is_flagged_with_day_value_and_range(checked: Warehouse) -> None:
    rows = checked.query(
        f"select anomaly from main.mon_store_sales_volume where sold_date >= '{SHORT}' and anomaly is not null "
        "order by sold_date, measure, store_scope"
    )
    assert [line for (line,) in rows] == [
        f"{SHORT} sales_lines 600 outside the expected 737..1099",
        f"{CHEAP} net_paid 6300 outside the expected 7369..10992",
        f"{FEWER} orders 210 outside the expected 220..392",
        f"{CLOSED} orders 150 outside the expected 220..392",
        f"{CLOSED} store_orders of store {STORE_IDS[0]} 0 outside the expected 91..247",
    ]
    # the store that sold is judged against the day's scale, which the missing store does not move
    assert checked.query(
        "select volume_status from main.mon_store_sales_volume "
        f"where sold_date = '{CLOSED}' and store_scope = '{STORE_IDS[1]}'"
    ) == [("ok",)]
    # warn: the reports are published for the flagged days too
    assert checked.query(f"select count(*) from main.rpt_daily_store_sales where sold_date = '{SHORT}'") == [(2,)]


def test_the_history_is_judged_from_its_second_week_and_quiet(checked: Warehouse) -> None:
    statuses = checked.query(
        "select measure, volume_status, count(*) from main.mon_store_sales_volume "
        f"where sold_date < '{SHORT}' or sold_date not in ('{SHORT}', '{CHEAP}', '{FEWER}', '{CLOSED}') "
        "group by all order by all"
    )
    judged_days = (LAST - FIRST).days + 1 - 7 - 4  # the first week has no history; four days are defects
    assert statuses == [
        ("net_paid", "no history", 7),
        ("net_paid", "ok", judged_days),
        ("orders", "no history", 7),
        ("orders", "ok", judged_days),
        ("sales_lines", "no history", 7),
        ("sales_lines", "ok", judged_days),
        ("store_orders", "no history", 12),  # each store from the second day (the first has no day before it)
        ("store_orders", "ok", 2 * judged_days),
    ]


def test_a_season_step_is_followed_from_its_third_day(tmp_path: Path) -> None:
    """Weekday factors that were means over the four weeks before would split the step unevenly across the
    weekdays and flag days of its first week; as medians of each week's ratios they stay about 1."""
    step = FIRST + timedelta(days=28)
    last = step + timedelta(days=13)
    warehouse = Warehouse(tmp_path)
    landing = Landing(warehouse.data_dir)
    landing.write_reference()
    landing.write_history(
        {
            FIRST + timedelta(days=n): day_of_sales(
                FIRST + timedelta(days=n), tickets=TICKETS if n < 28 else 3 * TICKETS
            )
            for n in range((last - FIRST).days + 1)
        }
    )
    result = warehouse.run(*BUILD_WITHOUT_TESTS, start=FIRST, end=last)
    assert result.success, describe_failure(result)

    flagged = warehouse.query(
        "select sold_date, measure from main.mon_store_sales_volume where volume_status = 'anomaly' order by all"
    )
    assert flagged == [(step, "orders"), (step + timedelta(days=1), "orders")]


def test_a_weekday_pattern_and_last_year_s_step_are_expected(tmp_path: Path) -> None:
    """Saturdays sell twice the other days, a year and two months long, and every day sells twice as much from
    10 to 28 February, in both years. In 2001 the recent baseline flags the first two days up and down; a year
    on, the year-ago baseline expects the step. The same date last year is another weekday, so that baseline reads last
    year's days as an average day through their weekday factors (read as plain days, every Saturday a year on
    would be flagged)."""
    first = date(2001, 1, 1)
    last = date(2002, 2, 28)  # the year-ago baseline judges from 2002-01-29 (28 days before the date last year)
    warehouse = Warehouse(tmp_path)
    landing = Landing(warehouse.data_dir)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    landing.write_reference(first, len(days))

    def tickets(day: date) -> int:
        weekday = 2 if day.weekday() == 5 else 1
        season = 2 if (day.month, day.day) >= (2, 10) and day.month < 3 else 1
        return 60 * weekday * season

    landing.write_history({day: day_of_sales(day, lines=1, tickets=tickets(day), first=first) for day in days})
    result = warehouse.run(*BUILD_WITHOUT_TESTS, start=first, end=last)
    assert result.success, describe_failure(result)

    flagged = warehouse.query(
        "select sold_date, measure from main.mon_store_sales_volume where volume_status = 'anomaly' order by all"
    )
    step_days = (date(2001, 2, 10), date(2001, 2, 11), date(2001, 3, 1), date(2001, 3, 2))
    assert flagged == [(day, "orders") for day in step_days]
    assert warehouse.query(
        "select count(*) from main.mon_store_sales_volume where measure = 'orders' and volume_status = 'no history'"
    ) == [(7,)]


def test_severity_error_stops_before_the_reports(checked: Warehouse, tmp_path: Path) -> None:
    strict = Warehouse(tmp_path, extra_env={})
    shutil.copytree(checked.data_dir, strict.data_dir)
    shutil.copytree(checked.root / "history", strict.duckdb_path.parent)

    result = strict.invoke("build", "--vars", "{volume_anomaly_severity: error}", start=SHORT, parsed=False)

    assert not result.success
    statuses = {r.node.name: str(r.status) for r in node_results(result)}
    assert statuses[CHECK] == "fail"
    assert statuses["rpt_daily_store_sales"] == "skipped"
    assert strict.query(f"select count(*) from main.rpt_daily_store_sales where sold_date = '{SHORT}'") == [(0,)]
    assert strict.query(f"select count(*) from main.fct_store_sales where ss_sold_date = '{SHORT}'") == [(600,)]


def test_a_warned_run_succeeds_says_published_with_a_warning_and_alerts_once(
    checked: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real definition in the local emulator: the summary carries the anomaly, one alert goes out."""
    data = tmp_path / "data"
    shutil.copytree(checked.data_dir, data)
    for file in (checked.root / "history").iterdir():  # the database and its write-ahead log
        shutil.copyfile(file, data / file.name)
    monkeypatch.setenv("STORE_SALES_DATA_DIR", str(data))
    monkeypatch.setenv("STORE_SALES_DUCKDB", str(data / "warehouse.duckdb"))
    monkeypatch.delenv("STORE_SALES_TARGET", raising=False)
    options = LocalOptions(
        project_dir=ROOT,
        parsed_dir=project_parsed_dir(),
        work_dir=tmp_path / "local",
        windows=(RefreshWindow.day(SHORT),),
    )
    with LocalAws(options) as aws:
        queue = subscribe_queue(aws)
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=aws.state_machine_arn, name="warned", input=execution_input(SHORT.isoformat())
        )["executionArn"]
        description = wait_for_execution(sfn, arn)
        events = history(sfn, arn)
        [alert] = alerts(aws, queue)
    assert description["status"] == "SUCCEEDED", description.get("cause")
    assert entered_states(events)[-4:] == ["Check warnings", "Notify warning", "Record run", "Pipeline succeeded"]
    line = f"{SHORT} sales_lines 600 outside the expected 737..1099"
    assert json.loads(description["output"])["results"]["store_sales"]["warnings"] == [line]
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as warehouse:
        recorded = warehouse.execute(
            "select execution_name, status, anomalies from main.pipeline_runs where execution_name = 'warned'"
        ).fetchall()
    assert recorded == [("warned", "SUCCEEDED", json.dumps([line]))]
    assert alert["Subject"] == "Store sales published with a warning"
    assert alert["Message"].startswith("Store sales pipeline execution warned published with a warning: ")
    assert line in alert["Message"]
