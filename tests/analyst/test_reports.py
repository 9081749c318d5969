"""Reports: bound parameters on DuckDB and through the Redshift Data API (moto, and Stubber for exact requests),
the same column types from both, read-only ad hoc queries, and the Secrets Manager login."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pandas as pd
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.redshiftdata.models import redshiftdata_backends

from orchestrator import cli, reports
from orchestrator.errors import (
    ConfigurationError,
    DataDirError,
    ExitCode,
    QueryFailed,
    QueryTimedOut,
    SecretUnreadable,
    UsageError,
)
from orchestrator.redshift_data import RedshiftTarget, check_secret, query
from orchestrator.reports import OutputFormat, ReportConnection
from orchestrator.warehouse import DataApiBackend, DuckDBBackend
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
                (date '2002-12-16', 'North America', 7, false, 2, 70, 7000.00::decimal(18, 2),
                 6900.00::decimal(18, 2), 100.00::decimal(18, 2), null::decimal(18, 2), null::decimal(18, 2),
                 null::decimal(12, 2)),
                (date '2002-12-23', 'North America', 7, false, 2, 80, 8000.00::decimal(18, 2),
                 7900.00::decimal(18, 2), 110.00::decimal(18, 2), 7000.00::decimal(18, 2), 1000.00::decimal(18, 2),
                 14.29::decimal(12, 2)),
                (date '2002-12-30', 'North America', 2, true, 2, 27, 2834.49::decimal(18, 2),
                 2740.00::decimal(18, 2), 10.75::decimal(18, 2), 2300.00::decimal(18, 2), 534.49::decimal(18, 2),
                 23.24::decimal(12, 2))
            ) as t(week_start_date, region, days_loaded, is_partial_week, stores, orders, sales_amount, net_paid,
                   net_profit, prior_week_sales_amount, sales_amount_change, sales_amount_change_pct)
            """
        )
    return path


def on(warehouse: Path) -> ReportConnection:
    return ReportConnection(DuckDBBackend(warehouse))


def test_daily_report_filters_by_city_state_and_dates(warehouse: Path) -> None:
    report = reports.daily("main", RefreshWindow.day(date(2002, 12, 31)), city="Midway", state="TN")
    frame = on(warehouse).run(report)
    assert frame[["s_city", "orders"]].to_dict(orient="records") == [{"s_city": "Midway", "orders": 12}]

    whole_state = on(warehouse).daily_store_sales(start="2002-12-30", end=date(2002, 12, 31), state="TN")
    assert len(whole_state) == 3


def test_weekly_report_covers_the_weeks_ending_with_the_date(warehouse: Path) -> None:
    report = reports.weekly("main", "North America", date(2003, 1, 2), weeks=2)
    assert report.parameters["first_week"] == "2002-12-23"
    assert report.parameters["last_week"] == "2002-12-30"
    frame = on(warehouse).run(report)
    assert [str(day) for day in frame["week_start_date"]] == ["2002-12-23", "2002-12-30"]
    assert str(frame["sales_amount_change_pct"].iloc[-1]) == "23.24"
    assert frame["is_partial_week"].tolist() == [False, True]


@pytest.mark.parametrize("hostile", [INJECTION, DROP])
def test_injection_attempts_are_bound_values_and_change_nothing(warehouse: Path, hostile: str) -> None:
    report = reports.daily("main", RefreshWindow.day(date(2002, 12, 31)), city=hostile)
    assert hostile not in report.sql
    assert on(warehouse).run(report).empty
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from main.rpt_daily_store_sales").fetchone() == (3,)


def test_schema_must_be_an_identifier() -> None:
    with pytest.raises(UsageError, match="identifier"):
        reports.daily("main; drop table x", RefreshWindow.day(date(2002, 12, 31)))


def test_missing_warehouse_says_how_to_load_it(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match="orchestrator run"):
        on(tmp_path / "none.duckdb").daily_store_sales(date="2002-12-31")


def test_outputs_render_dates_and_exact_money(warehouse: Path) -> None:
    frame = on(warehouse).daily_store_sales(date="2002-12-30")
    records = json.loads(reports.render(frame, OutputFormat.JSON))
    assert records[0]["sold_date"] == "2002-12-30"
    assert records[0]["sales_amount"] == "1234.50"
    csv = reports.render(frame, OutputFormat.CSV)
    assert csv.splitlines()[0].startswith("sold_date,s_store_sk,s_store_id")
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
        ReportConnection(DataApiBackend(redshift_data, CLUSTER, "analytics", timeout_seconds=0.3)).run(report)

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
    types = {"city": "varchar", "orders": "int8"}
    return [{"name": name, "label": name, "typeName": types[name]} for name in names]


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
        result = query(client, SERVERLESS, "select :city as city", {"city": "Bethel"}, first_poll_seconds=0.01)
    stubber.assert_no_pending_responses()
    assert result.columns == [("city", "varchar"), ("orders", "int8")]
    assert result.rows == [["Bethel", 3], ["Bethel", None]]


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


def _as_data_api_page(columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """DuckDB rows as the Data API returns them: numeric and dates as strings, integers as longs."""

    def field(value: Any) -> dict[str, Any]:
        if value is None:
            return {"isNull": True}
        if isinstance(value, bool):
            return {"booleanValue": value}
        if isinstance(value, int):
            return {"longValue": value}
        return {"stringValue": value.isoformat() if isinstance(value, date) else str(value)}

    return {
        "ColumnMetadata": [{"name": name, "label": name, "typeName": type_name} for name, type_name in columns],
        "Records": [[field(value) for value in row] for row in rows],
    }


REDSHIFT_TYPES = {
    "DATE": "date",
    "VARCHAR": "varchar",
    "INTEGER": "int4",
    "BIGINT": "int8",
    "BOOLEAN": "bool",
    "DECIMAL(18,2)": "numeric",
    "DECIMAL(12,2)": "numeric",
}


@pytest.mark.parametrize("kind", ["daily", "weekly"])
def test_both_warehouses_give_the_same_columns_types_and_values(warehouse: Path, kind: str) -> None:
    window = RefreshWindow(date(2002, 12, 16), date(2002, 12, 31))
    report = (
        reports.daily("main", window) if kind == "daily" else reports.weekly("main", "North America", window.end, 3)
    )
    local = on(warehouse).run(report)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        cursor = connection.execute(re.sub(r":(\w+)", r"$\1", report.sql), report.parameters)
        columns = [(name, REDSHIFT_TYPES[str(type_code)]) for name, type_code, *_ in cursor.description or []]
        rows = cursor.fetchall()
    client, stubber = _stubbed(
        [
            (
                "execute_statement",
                {"Id": STATEMENT_ID},
                {"Sql": report.sql, "Parameters": ANY, **CLUSTER.connection_arguments()},
            ),
            (
                "describe_statement",
                {"Id": STATEMENT_ID, "Status": "FINISHED", "HasResultSet": True},
                {"Id": STATEMENT_ID},
            ),
            ("get_statement_result", _as_data_api_page(columns, rows), {"Id": STATEMENT_ID}),
        ]
    )
    with stubber:
        remote = ReportConnection(DataApiBackend(client, CLUSTER, "main")).run(report)
    pd.testing.assert_frame_equal(remote, local)
    assert len(local) == 3
    assert {str(dtype) for dtype in local.dtypes} <= {"object", "Int64", "string", "boolean"}


@pytest.mark.parametrize(
    "statement",
    [
        "delete from main.rpt_daily_store_sales",
        "select 1; drop table main.rpt_daily_store_sales",
        "-- a comment first\ninsert into main.rpt_daily_store_sales select * from main.rpt_daily_store_sales",
        "",
    ],
)
def test_ad_hoc_queries_only_read(warehouse: Path, statement: str) -> None:
    with pytest.raises(UsageError, match="read-only statement"):
        on(warehouse).query(statement)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select count(*) from main.rpt_daily_store_sales").fetchone() == (3,)


def test_ad_hoc_queries_bind_every_parameter_and_casts_are_not_placeholders(warehouse: Path) -> None:
    conn = on(warehouse)
    frame = conn.query(
        "/* orders of a day */ select sum(orders)::bigint as orders, :day::date as day"
        " from main.rpt_daily_store_sales where sold_date = :day and s_city = :city",
        day=date(2002, 12, 31),
        city=INJECTION,
    )
    assert frame["orders"].isna().tolist() == [True]  # no row matches the injected city: a NULL sum
    assert str(frame["orders"].dtype) == "Int64"
    assert frame["day"].tolist() == [date(2002, 12, 31)]
    with pytest.raises(UsageError, match=r"missing \['city'\], unused \['town'\]"):
        conn.query("select * from main.rpt_daily_store_sales where s_city = :city", town="Midway")


SECRET = {"username": "reporter", "password": uuid.uuid4().hex}  # fresh each run: no literal for the secrets scan


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_a_login_secret_must_exist_and_hold_a_user_name_and_password(secrets: Any) -> None:
    good = secrets.create_secret(Name="reporter", SecretString=json.dumps(SECRET))["ARN"]
    check_secret(secrets, good)

    garbled = secrets.create_secret(Name="garbled", SecretString="reporter:" + SECRET["password"])["ARN"]
    with pytest.raises(SecretUnreadable, match="not JSON with `username` and `password`") as garbled_error:
        check_secret(secrets, garbled)
    missing = good.replace("reporter", "nobody")
    with pytest.raises(SecretUnreadable, match="does not exist") as missing_error:
        check_secret(secrets, missing)
    for error, arn in ((garbled_error, garbled), (missing_error, missing)):
        assert arn in str(error.value)
        assert SECRET["password"] not in str(error.value)
        assert "\n" not in str(error.value)


def test_an_unreadable_secret_names_the_permission_needed() -> None:
    client = boto3.client("secretsmanager", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:reporter-AbCdEf"
    with Stubber(client) as stubber:
        stubber.add_client_error("get_secret_value", "AccessDeniedException", "not authorized", 400)
        with pytest.raises(SecretUnreadable, match="secretsmanager:GetSecretValue") as error:
            check_secret(client, arn)
    assert arn in str(error.value)


def test_the_cli_logs_in_with_the_secret_and_never_shows_it(
    secrets: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = secrets.create_secret(Name="reporter", SecretString=json.dumps(SECRET))["ARN"]
    config = tmp_path / "store-sales.toml"
    config.write_text('[aws]\nregion = "us-east-1"\nredshift_workgroup = "analytics"\nredshift_database = "dev"\n')
    monkeypatch.setenv("STORE_SALES_CONFIG", str(config))
    args = ["report", "daily", "--date", "2002-12-31", "--city", "Midway", "--timeout", "0.3", "--secret-arn", arn]
    assert cli.main(args) == ExitCode.TIMED_OUT  # moto's Data API never finishes a statement: cancelled at the deadline
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert "cancelled" in captured.err
    assert SECRET["password"] not in captured.out + captured.err

    [statement] = redshiftdata_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].statements.values()  # what moto received
    assert (statement.secret_arn, statement.status) == (arn, "ABORTED")
    assert {"name": "city", "value": "Midway"} in statement.query_parameters

    secrets.put_secret_value(SecretId=arn, SecretString="not json " + SECRET["password"])
    assert cli.main(args) == ExitCode.USAGE
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: the Redshift login secret {arn} is not JSON")
    assert SECRET["password"] not in captured.out + captured.err
