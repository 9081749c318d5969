"""The volume check (models/monitoring/mon_store_sales_volume.sql) on a history whose rates are known: 30
tickets of 3 lines at 10.00 a line every day, then a day with a line missing from every ticket, a normal day,
and a day whose amounts are a hundred times too high. The check flags exactly the two broken days, with the
day, the value and the expected range; at severity `warn` the reports still publish, at `error` they do not.
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
from models_harness import BUILD_WITHOUT_TESTS, Warehouse, node_results, warnings

from orchestrator.local.emulator import LocalAws, LocalOptions
from orchestrator.window import RefreshWindow

pytestmark = pytest.mark.slow

FIRST = date(2002, 1, 1)
HISTORY_DAYS = 35
SHORT = FIRST + timedelta(days=HISTORY_DAYS)  # two lines per ticket instead of three
NORMAL = SHORT + timedelta(days=1)
PRICEY = NORMAL + timedelta(days=1)  # amounts a hundred times too high
CHECK = "mon_store_sales_volume_within_expected_range"


def day_of_sales(day: date, lines: int = 3, price: Decimal = Decimal("10.00")) -> Day:
    first = day == FIRST
    return Day(
        addresses=[Address(natural_id("ADDR", 1))] if first else [],
        items=[Item(natural_id("ITEM", n)) for n in range(1, 4)] if first else [],
        sales=[
            Sale(
                day.toordinal() * 100 + ticket,
                natural_id("ITEM", line),
                customer_id(1),
                natural_id("ADDR", 1),
                STORES[2].s_store_id,
                ss_sales_price=price,
            )
            for ticket in range(30)
            for line in range(1, lines + 1)
        ],
    )


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The history loaded, then the three days built with their tests (severity warn)."""
    warehouse = Warehouse(tmp_path_factory.mktemp("volume"))
    landing = Landing(warehouse.data_dir)
    landing.write_reference()
    history = {FIRST + timedelta(days=n): day_of_sales(FIRST + timedelta(days=n)) for n in range(HISTORY_DAYS)}
    history[SHORT] = day_of_sales(SHORT, lines=2)
    history[NORMAL] = day_of_sales(NORMAL)
    history[PRICEY] = day_of_sales(PRICEY, price=Decimal("1000.00"))
    landing.write_history(history)
    warehouse.run(*BUILD_WITHOUT_TESTS, start=FIRST, end=SHORT - timedelta(days=1))
    shutil.copytree(warehouse.root / "warehouse", warehouse.root / "history")
    result = warehouse.build(SHORT, PRICEY)
    assert warnings(result) == {CHECK: 2}
    return warehouse


def test_the_broken_days_are_flagged_with_day_value_and_range(checked: Warehouse) -> None:
    rows = checked.query(
        f"select sold_date, measure, volume_status, anomaly from main.mon_store_sales_volume "
        f"where sold_date between '{SHORT}' and '{PRICEY}' order by sold_date, measure"
    )
    assert rows == [
        (SHORT, "net_paid", "ok", None),
        (SHORT, "orders", "no history", None),
        (SHORT, "sales_lines", "anomaly", "2002-02-05 sales_lines 60 outside the expected 74..110"),
        (NORMAL, "net_paid", "ok", None),
        (NORMAL, "orders", "no history", None),
        (NORMAL, "sales_lines", "ok", None),
        (PRICEY, "net_paid", "anomaly", "2002-02-07 net_paid 90000 outside the expected 546..1484"),
        (PRICEY, "orders", "no history", None),
        (PRICEY, "sales_lines", "ok", None),
    ]
    # warn: the reports are published for the flagged days too
    assert checked.query(f"select count(*) from main.rpt_daily_store_sales where sold_date = '{SHORT}'") == [(1,)]


def test_the_history_alone_is_quiet(checked: Warehouse) -> None:
    statuses = checked.query(
        "select volume_status, count(*) from main.mon_store_sales_volume "
        f"where sold_date < '{SHORT}' and measure <> 'orders' group by all order by all"
    )
    assert statuses == [("no history", 40), ("ok", 30)]  # 20 days before the 28-day rates can be judged


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
    assert strict.query(f"select count(*) from main.fct_store_sales where ss_sold_date = '{SHORT}'") == [(60,)]


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
    line = "2002-02-05 sales_lines 60 outside the expected 74..110"
    assert json.loads(description["output"])["results"]["store_sales"]["warnings"] == [line]
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as warehouse:
        recorded = warehouse.execute(
            "select execution_name, status, anomalies from main.pipeline_runs where execution_name = 'warned'"
        ).fetchall()
    assert recorded == [("warned", "SUCCEEDED", json.dumps([line]))]
    assert alert["Subject"] == "Store sales published with a warning"
    assert alert["Message"].startswith("Store sales pipeline execution warned published with a warning: ")
    assert line in alert["Message"]
