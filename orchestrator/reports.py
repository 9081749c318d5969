"""The analyst's ad hoc reports, from the report models, locally (DuckDB) or on AWS (Redshift Data API).

Each report is one SQL text with `:name` placeholders. User values are always bound parameters:
on Redshift through the Data API's `Parameters`, on DuckDB as prepared-statement parameters. The
only thing formatted into the SQL is the schema name, which must be a plain identifier.

- daily: orders (distinct tickets) and sales per store and day, filtered by city and/or state, for a
  date or a date range (model `rpt_daily_store_sales`).
- weekly: store sales performance per region and week with the week-over-week change, for the weeks
  (Monday to Sunday) ending with the one that contains `--date` (model `rpt_weekly_region_sales`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from orchestrator.errors import DataDirError, UsageError
from orchestrator.redshift_data import RedshiftTarget, query
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACEHOLDER = re.compile(r":([a-z_]+)\b")


class ReportKind(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True)
class Report:
    """A report ready to run: SQL with `:name` placeholders and the values to bind."""

    kind: ReportKind
    sql: str
    parameters: dict[str, str] = field(default_factory=dict)


def _schema(schema: str) -> str:
    if not _IDENTIFIER.match(schema):
        raise UsageError(f"schema {schema!r} is not a plain identifier (letters, digits, underscores)")
    return schema


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
        "select sold_date, s_store_id, s_store_name, s_city, s_state, orders, sales_lines, quantity, "
        "sales_amount, net_paid, net_profit "
        f"from {_schema(schema)}.rpt_daily_store_sales "
        f"where {' and '.join(conditions)} "
        "order by sold_date, s_store_id"
    )
    return Report(ReportKind.DAILY, sql, parameters)


def weekly(schema: str, region: str, last_day: date, weeks: int) -> Report:
    """Weekly performance of `region` for `weeks` weeks, the last one containing `last_day`."""
    if weeks < 1:
        raise UsageError(f"--weeks must be at least 1, not {weeks}")
    last_week_start = last_day - timedelta(days=last_day.weekday())
    first_week_start = last_week_start - timedelta(weeks=weeks - 1)
    sql = (
        "select week_start_date, region, stores, orders, sales_amount, net_paid, net_profit, "
        "prior_week_sales_amount, sales_amount_change, sales_amount_change_pct "
        f"from {_schema(schema)}.rpt_weekly_region_sales "
        "where region = :region "
        "and week_start_date between cast(:first_week as date) and cast(:last_week as date) "
        "order by week_start_date"
    )
    parameters = {
        "region": region,
        "first_week": first_week_start.isoformat(),
        "last_week": last_week_start.isoformat(),
    }
    return Report(ReportKind.WEEKLY, sql, parameters)


def run_on_duckdb(report: Report, warehouse: Path) -> pd.DataFrame:
    """Run a report on the embedded warehouse, read-only."""
    if not warehouse.is_file():
        raise DataDirError(
            f"no local warehouse at {warehouse}: load it first with `python -m orchestrator run --date YYYY-MM-DD`"
        )
    sql = _PLACEHOLDER.sub(lambda match: f"${match.group(1)}", report.sql)
    try:
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            frame: pd.DataFrame = (
                connection.execute(sql, report.parameters).to_arrow_table().to_pandas(date_as_object=True)
            )
            return frame
    except duckdb.CatalogException:
        raise DataDirError(
            f"the warehouse {warehouse} has no report tables yet: run the pipeline first "
            "(`python -m orchestrator run --date YYYY-MM-DD`)"
        ) from None
    except duckdb.IOException as error:
        raise DataDirError(f"cannot open the warehouse {warehouse}: {error}") from None


def run_on_redshift(
    report: Report, client: RedshiftDataAPIServiceClient, target: RedshiftTarget, deadline_seconds: float
) -> pd.DataFrame:
    """Run a report through the Redshift Data API with bound parameters."""
    return query(client, target, report.sql, report.parameters, deadline_seconds=deadline_seconds)


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
