"""Reports: bound parameters on DuckDB and through the Redshift Data API (moto, and Stubber for exact requests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from orchestrator import reports
from orchestrator.errors import ConfigurationError, DataDirError, UsageError
from orchestrator.redshift_data import QueryFailed, QueryTimedOut, RedshiftTarget, query
from orchestrator.reports import OutputFormat
from orchestrator.window import RefreshWindow

INJECTION = "Midway' or '1'='1"
DROP = "x'); drop table main.rpt_daily_store_sales; --"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file holding report tables shaped like the report models' contracts."""
    path = tmp_path_factory.mktemp("reports") / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            """
            create table main.rpt_daily_store_sales as
            select * from (values
                (date '2002-12-30', 1, 'AAAAAAAABAAAAAAA', 'ought', 'Midway', 'Williamson County', 'TN',
                 10, 30, 300, 1234.50::decimal(18, 2), 1200.00::decimal(18, 2), -10.25::decimal(18, 2)),
                (date '2002-12-31', 1, 'AAAAAAAABAAAAAAA', 'ought', 'Midway', 'Williamson County', 'TN',
                 12, 36, 360, 1500.00::decimal(18, 2), 1450.00::decimal(18, 2), 20.00::decimal(18, 2)),
                (date '2002-12-31', 2, 'AAAAAAAACAAAAAAA', 'able', 'Fairview', 'Williamson County', 'TN',
                 5, 9, 90, 99.99::decimal(18, 2), 90.00::decimal(18, 2), 1.00::decimal(18, 2))
            ) as t(sold_date, s_store_sk, s_store_id, s_store_name, s_city, s_county, s_state,
                   orders, sales_lines, quantity, sales_amount, net_paid, net_profit)
            """
        )
        connection.execute(
            """
            create table main.rpt_weekly_region_sales as
            select * from (values
                (date '2002-12-16', 'North America', 2, 70, 7000.00::decimal(18, 2), 6900.00::decimal(18, 2),
                 100.00::decimal(18, 2), null::decimal(18, 2), null::decimal(18, 2), null::decimal(12, 2)),
                (date '2002-12-23', 'North America', 2, 80, 8000.00::decimal(18, 2), 7900.00::decimal(18, 2),
                 110.00::decimal(18, 2), 7000.00::decimal(18, 2), 1000.00::decimal(18, 2), 14.29::decimal(12, 2)),
                (date '2002-12-30', 'North America', 2, 27, 2834.49::decimal(18, 2), 2740.00::decimal(18, 2),
                 10.75::decimal(18, 2), 8000.00::decimal(18, 2), -5165.51::decimal(18, 2), -64.57::decimal(12, 2))
            ) as t(week_start_date, region, stores, orders, sales_amount, net_paid, net_profit,
                   prior_week_sales_amount, sales_amount_change, sales_amount_change_pct)
            """
        )
    return path


def test_daily_report_filters_by_city_state_and_dates(warehouse: Path) -> None:
    report = reports.daily("main", RefreshWindow.day(date(2002, 12, 31)), city="Midway", state="TN")
    frame = reports.run_on_duckdb(report, warehouse)
    assert frame[["s_city", "orders"]].to_dict(orient="records") == [{"s_city": "Midway", "orders": 12}]

    whole_state = reports.run_on_duckdb(
        reports.daily("main", RefreshWindow(date(2002, 12, 30), date(2002, 12, 31)), state="TN"), warehouse
    )
    assert len(whole_state) == 3


def test_weekly_report_covers_the_weeks_ending_with_the_date(warehouse: Path) -> None:
    report = reports.weekly("main", "North America", date(2003, 1, 2), weeks=2)
    assert report.parameters["first_week"] == "2002-12-23"
    assert report.parameters["last_week"] == "2002-12-30"
    frame = reports.run_on_duckdb(report, warehouse)
    assert [str(day) for day in frame["week_start_date"]] == ["2002-12-23", "2002-12-30"]
    assert str(frame["sales_amount_change_pct"].iloc[-1]) == "-64.57"


@pytest.mark.parametrize("hostile", [INJECTION, DROP])
def test_injection_attempts_are_bound_values_and_change_nothing(warehouse: Path, hostile: str) -> None:
    report = reports.daily("main", RefreshWindow.day(date(2002, 12, 31)), city=hostile)
    assert hostile not in report.sql
    assert reports.run_on_duckdb(report, warehouse).empty
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from main.rpt_daily_store_sales").fetchone() == (3,)


def test_schema_must_be_an_identifier() -> None:
    with pytest.raises(UsageError, match="identifier"):
        reports.daily("main; drop table x", RefreshWindow.day(date(2002, 12, 31)))


def test_missing_warehouse_says_how_to_load_it(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match="orchestrator run"):
        reports.run_on_duckdb(reports.daily("main", RefreshWindow.day(date(2002, 12, 31))), tmp_path / "none.duckdb")


def test_outputs_render_dates_and_exact_money(warehouse: Path) -> None:
    frame = reports.run_on_duckdb(reports.daily("main", RefreshWindow.day(date(2002, 12, 30))), warehouse)
    records = json.loads(reports.render(frame, OutputFormat.JSON))
    assert records[0]["sold_date"] == "2002-12-30"
    assert records[0]["sales_amount"] == "1234.50"
    csv = reports.render(frame, OutputFormat.CSV)
    assert csv.splitlines()[0].startswith("sold_date,s_store_id")
    assert "1234.50" in reports.render(frame, OutputFormat.TABLE)


CLUSTER = RedshiftTarget(database="dev", cluster_id="analytics", db_user="reporter")
SERVERLESS = RedshiftTarget(database="dev", workgroup="analytics", secret_arn="arn:aws:secretsmanager:x:1:secret:r")


def test_target_needs_exactly_one_place_and_a_way_in() -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        RedshiftTarget(database="dev")
    with pytest.raises(ConfigurationError, match="DB_USER"):
        RedshiftTarget(database="dev", cluster_id="analytics")
    assert SERVERLESS.connection_arguments() == {
        "Database": "dev",
        "WorkgroupName": "analytics",
        "SecretArn": "arn:aws:secretsmanager:x:1:secret:r",
    }


@pytest.fixture
def redshift_data() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("redshift-data", region_name="us-east-1")


def test_statement_reaches_the_data_api_with_bound_parameters_and_is_cancelled_at_the_deadline(
    redshift_data: Any,
) -> None:
    report = reports.daily("analytics", RefreshWindow.day(date(2002, 12, 31)), city=INJECTION, state="OH")
    statement_ids: list[str] = []
    redshift_data.meta.events.register(
        "after-call.redshift-data.ExecuteStatement",
        lambda parsed, **_: statement_ids.append(parsed["Id"]),
    )
    with pytest.raises(QueryTimedOut, match="cancelled"):
        reports.run_on_redshift(report, redshift_data, CLUSTER, deadline_seconds=0.3)

    [statement_id] = statement_ids
    statement = redshift_data.describe_statement(Id=statement_id)
    assert statement["Status"] == "ABORTED"
    assert INJECTION not in statement["QueryString"]
    assert ":city" in statement["QueryString"]
    assert {"name": "city", "value": INJECTION} in statement["QueryParameters"]
    assert statement["DbUser"] == "reporter"


def _stubbed(responses: list[tuple[str, dict[str, Any], dict[str, Any]]]) -> tuple[Any, Stubber]:
    client = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    for method, response, expected in responses:
        stubber.add_response(method, response, expected)
    return client, stubber


STATEMENT_ID = "d9b6c0c9-0747-4bf4-b142-e8883122f766"


def _columns(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "label": name} for name in names]


def test_results_are_polled_with_backoff_and_every_page_is_read() -> None:
    client, stubber = _stubbed(
        [
            (
                "execute_statement",
                {"Id": STATEMENT_ID},
                {
                    "Sql": "select :city as city",
                    "Parameters": [{"name": "city", "value": "Bethel"}],
                    "Database": "dev",
                    "WorkgroupName": "analytics",
                    "SecretArn": ANY,
                },
            ),
            ("describe_statement", {"Id": STATEMENT_ID, "Status": "SUBMITTED"}, {"Id": STATEMENT_ID}),
            ("describe_statement", {"Id": STATEMENT_ID, "Status": "STARTED"}, {"Id": STATEMENT_ID}),
            (
                "describe_statement",
                {"Id": STATEMENT_ID, "Status": "FINISHED", "HasResultSet": True},
                {"Id": STATEMENT_ID},
            ),
            (
                "get_statement_result",
                {
                    "ColumnMetadata": _columns("city", "orders"),
                    "Records": [[{"stringValue": "Bethel"}, {"longValue": 3}]],
                    "NextToken": "page-2",
                },
                {"Id": STATEMENT_ID},
            ),
            (
                "get_statement_result",
                {
                    "ColumnMetadata": _columns("city", "orders"),
                    "Records": [[{"stringValue": "Bethel"}, {"isNull": True}]],
                },
                {"Id": STATEMENT_ID, "NextToken": "page-2"},
            ),
        ]
    )
    with stubber:
        frame = query(client, SERVERLESS, "select :city as city", {"city": "Bethel"}, first_poll_seconds=0.01)
    stubber.assert_no_pending_responses()
    assert frame["city"].tolist() == ["Bethel", "Bethel"]
    assert frame["orders"].iloc[0] == 3
    assert frame["orders"].isna().tolist() == [False, True]


def test_a_failed_statement_is_a_one_line_error_with_redshifts_message() -> None:
    client, stubber = _stubbed(
        [
            (
                "execute_statement",
                {"Id": STATEMENT_ID},
                {"Sql": "select 1", **CLUSTER.connection_arguments()},
            ),
            (
                "describe_statement",
                {"Id": STATEMENT_ID, "Status": "FAILED", "Error": 'relation "analytics.rpt" does not exist'},
                {"Id": STATEMENT_ID},
            ),
        ]
    )
    with stubber, pytest.raises(QueryFailed, match="does not exist"):
        query(client, CLUSTER, "select 1", {}, first_poll_seconds=0.01)
