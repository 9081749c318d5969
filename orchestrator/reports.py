"""The analyst's reports as a small library: typed pandas DataFrames from the local DuckDB warehouse or
from Redshift through the Data API, with one implementation behind the notebook and the CLI.

    from orchestrator import reports

    conn = reports.connect()  # the local warehouse, or Redshift when the stack is configured (AWS mode)
    conn.daily_store_sales(date="2002-12-31", city="Midway", state="TN")
    conn.weekly_region_sales(region="North America", weeks=8)
    conn.query("select count(*) as lines from store_sales.fct_store_sales where ss_sold_date = :day", day="2002-12-31")

Reports:
- daily: orders (distinct tickets) and sales per store and day, filtered by city and/or state, for a
  date or a date range (model `rpt_daily_store_sales`); without a date, the last day loaded.
- weekly: store sales performance per region and week (Monday to Sunday) with the week-over-week
  change, for the weeks ending with the one that contains `date` (model `rpt_weekly_region_sales`);
  without a date, up to the last week loaded. A week still loading is marked `is_partial_week` with its
  `days_loaded`, and its change is like for like: against the same weekdays of the prior week.

Safety: user values are always bound parameters (`:name` placeholders), on Redshift through the Data
API's `Parameters`, on DuckDB as prepared-statement parameters; only the schema name, a checked plain
identifier, is written into the SQL. `query` runs one read-only statement (select or with): the local
warehouse is opened read-only, and on Redshift the statement is refused unless it reads; give the
analyst's database user read-only grants as well, which is the real guarantee there.

Column types are the same on both warehouses: dates are `datetime.date` objects, money and every other
numeric(p, s) are exact `decimal.Decimal` objects (cast with `.astype(float)` to plot), integers are
pandas' nullable `Int64`, floats `Float64`, text `string`, booleans `boolean`, timestamps `datetime64`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import pandas as pd

from orchestrator.config import Mode
from orchestrator.errors import DataDirError, UsageError
from orchestrator.ledger import DataAsOf, Ledger
from orchestrator.warehouse import (
    DEFAULT_TIMEOUT_SECONDS,
    PLACEHOLDER,
    REDSHIFT_TARGET,
    Backend,
    ColumnKind,
    checked_schema,
    convert,
    open_warehouse,
)
from orchestrator.window import RefreshWindow, parse_date

if TYPE_CHECKING:
    from orchestrator.config import Config

_LEADING_COMMENTS = re.compile(r"^(\s+|--[^\n]*\n?|/\*.*?\*/)*", re.DOTALL)


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


_DTYPES: dict[ColumnKind, str] = {
    ColumnKind.DATE: "object",
    ColumnKind.DECIMAL: "object",
    ColumnKind.INTEGER: "Int64",
    ColumnKind.FLOAT: "Float64",
    ColumnKind.BOOLEAN: "boolean",
    ColumnKind.TIMESTAMP: "datetime64[us]",
    ColumnKind.TEXT: "string",
    ColumnKind.OTHER: "object",
}


def typed_frame(columns: Sequence[tuple[str, ColumnKind]], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of Python values as a DataFrame with the dtypes of their kinds (see the module's docstring)."""
    data = {
        name: pd.Series([convert(row[index], kind) for row in rows], dtype=_DTYPES[kind])
        for index, (name, kind) in enumerate(columns)
    }
    return pd.DataFrame(data, columns=[name for name, _ in columns])


def placeholders(sql: str) -> set[str]:
    """The `:name` placeholders of a statement."""
    return set(PLACEHOLDER.findall(sql))


def check_read_only(sql: str) -> None:
    """Refuse anything but one statement that reads (select or with)."""
    body = _LEADING_COMMENTS.sub("", sql).rstrip().rstrip(";")
    first_word = body.split(None, 1)[0].lower() if body else ""
    if first_word not in {"select", "with"} or ";" in body:
        raise UsageError(
            "query runs one read-only statement (select ... or with ... select ...): "
            f"refused {' '.join(sql.split())[:80]!r}"
        )


@dataclass(frozen=True)
class Report:
    """A statement ready to run: SQL with `:name` placeholders and the values to bind."""

    sql: str
    parameters: dict[str, str] = field(default_factory=dict)


def daily(schema: str, window: RefreshWindow, city: str | None = None, state: str | None = None) -> Report:
    """Orders and sales per store and day in `window`, optionally for one city and/or state."""
    conditions = ["sold_date between cast(:start_date as date) and cast(:end_date as date)"]
    parameters = {"start_date": window.start.isoformat(), "end_date": window.end.isoformat()}
    if city is not None:
        conditions.append("s_city = :city")
        parameters["city"] = city
    if state is not None:
        conditions.append("s_state = :state")
        parameters["state"] = state
    sql = (
        "select sold_date, s_store_sk, s_store_id, s_store_name, s_city, s_state, orders, sales_lines, quantity, "
        "sales_amount, net_paid, net_profit "
        f"from {checked_schema(schema)}.rpt_daily_store_sales "
        f"where {' and '.join(conditions)} "
        "order by sold_date, s_store_id"
    )
    return Report(sql, parameters)


def weekly(schema: str, region: str, last_day: date, weeks: int) -> Report:
    """Weekly performance of `region` for `weeks` weeks, the last one containing `last_day`."""
    if weeks < 1:
        raise UsageError(f"--weeks must be at least 1, not {weeks}")
    last_week_start = last_day - timedelta(days=last_day.weekday())
    first_week_start = last_week_start - timedelta(weeks=weeks - 1)
    sql = (
        "select week_start_date, region, days_loaded, is_partial_week, stores, orders, sales_amount, net_paid, "
        "net_profit, prior_week_sales_amount, sales_amount_change, sales_amount_change_pct "
        f"from {checked_schema(schema)}.rpt_weekly_region_sales "
        "where region = :region "
        "and week_start_date between cast(:first_week as date) and cast(:last_week as date) "
        "order by week_start_date"
    )
    parameters = {
        "region": region,
        "first_week": first_week_start.isoformat(),
        "last_week": last_week_start.isoformat(),
    }
    return Report(sql, parameters)


def _day(value: date | str, name: str) -> date:
    return value if isinstance(value, date) else parse_date(value, name)


class ReportConnection:
    """The reports and ad hoc questions on one warehouse; every method returns a typed DataFrame."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    @property
    def schema(self) -> str:
        """The schema holding the models (`main` locally), for ad hoc SQL: f"{conn.schema}.fct_store_sales"."""
        return self._backend.schema

    def __repr__(self) -> str:
        return f"<reports connection: {self._backend.describe()}>"

    def run(self, report: Report) -> pd.DataFrame:
        """Run a prepared report (bound parameters) and return its rows typed."""
        columns, rows = self._backend.fetch(report.sql, report.parameters)
        return typed_frame(columns, rows)

    def query(self, sql: str, **params: object) -> pd.DataFrame:
        """One read-only statement with `:name` placeholders, every value bound (never written into the SQL)."""
        check_read_only(sql)
        wanted = placeholders(sql)
        missing = sorted(wanted - params.keys())
        unused = sorted(params.keys() - wanted)
        if missing or unused:
            raise UsageError(
                f"query parameters do not match the statement's :placeholders (missing {missing or 'none'}, "
                f"unused {unused or 'none'})"
            )
        columns, rows = self._backend.fetch(sql, params)
        return typed_frame(columns, rows)

    def data_as_of(self) -> DataAsOf | None:
        """The newest complete load in the ledger (`orchestrator.ledger`: the view pipeline_loads over the run
        log every load writes); None when the warehouse holds none yet."""
        return self.ledger().data_as_of()

    def last_loaded_day(self) -> date | None:
        """The last day the ledger says is loaded (the end of its newest complete load), or None."""
        return self.ledger().last_loaded_day()

    def ledger(self) -> Ledger:
        """The ledger of loads of this warehouse: what is loaded, when and by which execution."""
        return Ledger(self._backend)

    def daily_store_sales(
        self,
        date: date | str | None = None,
        start: date | str | None = None,
        end: date | str | None = None,
        city: str | None = None,
        state: str | None = None,
    ) -> pd.DataFrame:
        """Orders and sales per store and day for `date`, or for `start`..`end`, or else for the last day
        loaded; optionally one city and/or state. One row per day and store version, ordered by day and store."""
        return self.run(daily(self.schema, self._window(date, start, end), city=city, state=state))

    def weekly_region_sales(
        self, region: str = "North America", weeks: int = 8, date: date | str | None = None
    ) -> pd.DataFrame:
        """`weeks` weeks of `region`'s store sales, the last one the week containing `date` (default: the last
        day loaded), with the week-over-week change; a partial week is flagged and compared like for like."""
        last_day = _day(date, "date") if date is not None else self.last_loaded_day() or datetime.now().date()
        return self.run(weekly(self.schema, region, last_day, weeks))

    def _window(self, day: date | str | None, start: date | str | None, end: date | str | None) -> RefreshWindow:
        if day is not None:
            if start is not None or end is not None:
                raise UsageError("give either a date or a start and an end, not both")
            return RefreshWindow.day(_day(day, "date"))
        if start is not None or end is not None:
            if start is None or end is None:
                raise UsageError("give both start and end (YYYY-MM-DD), or one date")
            return RefreshWindow.parse(str(start), str(end))
        last_day = self.last_loaded_day()
        if last_day is None:
            raise DataDirError(
                f"{self._backend.describe()} holds no complete load yet: run the pipeline first "
                "(`python -m orchestrator run`)"
            )
        return RefreshWindow.day(last_day)


def connect(
    mode: Mode | str | None = None,
    *,
    config: Config | None = None,
    secret_arn: str | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> ReportConnection:
    """A connection to the warehouse holding the reports: the one the pipeline of `mode` ("local" or "aws"; None:
    the configuration's, by the same rule as every command) loads (`orchestrator.warehouse.open_warehouse`).

    Without `mode`: AWS, so Redshift through the Data API, when the configuration (store-sales.toml or the
    STORE_SALES_* variables) names a state machine, a cluster or a workgroup, else the local DuckDB warehouse. On
    Redshift the login is a database user with temporary IAM credentials (redshift_db_user) or a Secrets Manager
    secret holding `username` and `password` (`secret_arn`, else redshift_secret_arn), checked here so a wrong one
    fails at once.
    """
    return ReportConnection(
        open_warehouse(_mode(mode), config=config, secret_arn=secret_arn, timeout_seconds=timeout_seconds)
    )


def _mode(value: Mode | str | None) -> Mode | None:
    if value is None or isinstance(value, Mode):
        return value
    if value == REDSHIFT_TARGET:  # the name before the mode layer: Redshift is AWS mode's warehouse
        return Mode.AWS
    try:
        return Mode(value)
    except ValueError:
        raise UsageError(
            f"connect({value!r}): the mode is {' or '.join(repr(m.value) for m in Mode)} (None: the configuration's)"
        ) from None


def _json_value(value: object) -> str:
    """Dates as YYYY-MM-DD; decimals as exact strings."""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render(frame: pd.DataFrame, output: OutputFormat) -> str:
    """The report as text: an aligned table, CSV, or JSON records (dates YYYY-MM-DD, money as exact strings)."""
    if output is OutputFormat.CSV:
        return frame.to_csv(index=False)
    if output is OutputFormat.JSON:
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return json.dumps(records, indent=2, default=_json_value)
    if frame.empty:
        return "(no rows)"
    return frame.to_string(index=False)
