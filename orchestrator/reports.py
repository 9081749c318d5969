"""The analyst's reports as a small library: typed pandas DataFrames from the local DuckDB warehouse or
from Redshift through the Data API, with one implementation behind the notebook and the CLI.

    from orchestrator import reports

    conn = reports.connect()  # local warehouse, or Redshift when a cluster or workgroup is configured
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from orchestrator import config as config_module
from orchestrator import settings
from orchestrator.errors import DataDirError, UsageError
from orchestrator.redshift_data import RedshiftTarget, check_secret
from orchestrator.redshift_data import query as data_api_query
from orchestrator.window import RefreshWindow, parse_date

if TYPE_CHECKING:
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient

    from orchestrator.config import Config

LOCAL_SCHEMA = "main"
DEFAULT_TIMEOUT_SECONDS = 300.0
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# `:name`, but not the second colon of a `::type` cast
_PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")
_LEADING_COMMENTS = re.compile(r"^(\s+|--[^\n]*\n?|/\*.*?\*/)*", re.DOTALL)


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class ReportSource(StrEnum):
    """Which warehouse `connect` reads: the local DuckDB file or Redshift through the Data API."""

    LOCAL = "local"
    REDSHIFT = "redshift"


class ColumnKind(StrEnum):
    """A result column's type, named the same for both warehouses."""

    DATE = "date"
    DECIMAL = "decimal"
    INTEGER = "integer"
    FLOAT = "float"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"
    TEXT = "text"
    OTHER = "other"


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
_DUCKDB_INTEGERS = {
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
}  # fmt: skip
_REDSHIFT_KINDS: dict[str, ColumnKind] = {
    **dict.fromkeys(("numeric", "decimal"), ColumnKind.DECIMAL),
    **dict.fromkeys(("int2", "int4", "int8", "smallint", "integer", "bigint"), ColumnKind.INTEGER),
    **dict.fromkeys(("float4", "float8", "real", "float", "double precision"), ColumnKind.FLOAT),
    **dict.fromkeys(("bool", "boolean"), ColumnKind.BOOLEAN),
    **dict.fromkeys(("timestamp", "timestamptz"), ColumnKind.TIMESTAMP),
    **dict.fromkeys(("varchar", "bpchar", "char", "text", "name", "character varying"), ColumnKind.TEXT),
    "date": ColumnKind.DATE,
}


def duckdb_kind(type_name: str) -> ColumnKind:
    """The kind of a DuckDB result column, from its type as DuckDB prints it (e.g. `DECIMAL(18,2)`)."""
    name = type_name.upper()
    if name.startswith("DECIMAL"):
        return ColumnKind.DECIMAL
    if name in _DUCKDB_INTEGERS:
        return ColumnKind.INTEGER
    if name in {"FLOAT", "DOUBLE", "REAL"}:
        return ColumnKind.FLOAT
    if name.startswith("TIMESTAMP"):
        return ColumnKind.TIMESTAMP
    kinds = {"DATE": ColumnKind.DATE, "BOOLEAN": ColumnKind.BOOLEAN, "VARCHAR": ColumnKind.TEXT}
    return kinds.get(name, ColumnKind.OTHER)


def redshift_kind(type_name: str) -> ColumnKind:
    """The kind of a Data API result column, from its metadata's `typeName` (e.g. `numeric`, `int8`)."""
    return _REDSHIFT_KINDS.get(type_name.lower(), ColumnKind.OTHER)


def _convert(value: Any, kind: ColumnKind) -> Any:
    if value is None:
        return None
    if kind is ColumnKind.DATE:
        return (
            value
            if isinstance(value, date) and not isinstance(value, datetime)
            else date.fromisoformat(str(value)[:10])
        )
    if kind is ColumnKind.DECIMAL:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    if kind is ColumnKind.INTEGER:
        return int(value)
    if kind is ColumnKind.FLOAT:
        return float(value)
    if kind is ColumnKind.TEXT:
        return str(value)
    return value


def typed_frame(columns: Sequence[tuple[str, ColumnKind]], rows: Sequence[Sequence[Any]]) -> pd.DataFrame:
    """Rows of Python values as a DataFrame with the dtypes of their kinds (see the module's docstring)."""
    data = {
        name: pd.Series([_convert(row[index], kind) for row in rows], dtype=_DTYPES[kind])
        for index, (name, kind) in enumerate(columns)
    }
    return pd.DataFrame(data, columns=[name for name, _ in columns])


def _schema(schema: str) -> str:
    if not _IDENTIFIER.match(schema):
        raise UsageError(f"schema {schema!r} is not a plain identifier (letters, digits, underscores)")
    return schema


def placeholders(sql: str) -> set[str]:
    """The `:name` placeholders of a statement."""
    return set(_PLACEHOLDER.findall(sql))


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
        f"from {_schema(schema)}.rpt_daily_store_sales "
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
    return Report(sql, parameters)


class Backend(Protocol):
    """Where statements run; `fetch` returns each column's name and kind, and the rows."""

    @property
    def schema(self) -> str: ...

    def fetch(self, sql: str, parameters: Mapping[str, object]) -> tuple[list[tuple[str, ColumnKind]], list[Any]]: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class DuckDBBackend:
    """The local warehouse, opened read-only for each statement (so a pipeline run can write in between)."""

    warehouse: Path
    schema: str = LOCAL_SCHEMA

    def fetch(self, sql: str, parameters: Mapping[str, object]) -> tuple[list[tuple[str, ColumnKind]], list[Any]]:
        import duckdb

        if not self.warehouse.is_file():
            raise DataDirError(
                f"no local warehouse at {self.warehouse}: load it first with "
                "`python -m orchestrator run --date YYYY-MM-DD`"
            )
        statement = _PLACEHOLDER.sub(lambda match: f"${match.group(1)}", sql)
        try:
            with duckdb.connect(str(self.warehouse), read_only=True) as connection:
                cursor = connection.execute(statement, dict(parameters))
                columns = [(name, duckdb_kind(str(type_code))) for name, type_code, *_ in cursor.description or []]
                return columns, cursor.fetchall()
        except duckdb.CatalogException as error:
            raise DataDirError(
                f"the warehouse {self.warehouse} has no such table or column ({' '.join(str(error).split())[:160]}): "
                "run the pipeline first (`python -m orchestrator run --date YYYY-MM-DD`) or check the query"
            ) from None
        except duckdb.IOException as error:
            raise DataDirError(f"cannot open the warehouse {self.warehouse}: {error}") from None
        except duckdb.Error as error:
            raise UsageError(f"DuckDB refused the query: {' '.join(str(error).split())}") from None

    def describe(self) -> str:
        return f"local DuckDB warehouse {self.warehouse} (schema {self.schema})"


@dataclass(frozen=True)
class DataApiBackend:
    """Redshift through the Data API: one statement per call, polled until it ends or `timeout_seconds`."""

    client: RedshiftDataAPIServiceClient
    target: RedshiftTarget
    schema: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def fetch(self, sql: str, parameters: Mapping[str, object]) -> tuple[list[tuple[str, ColumnKind]], list[Any]]:
        result = data_api_query(self.client, self.target, sql, parameters, deadline_seconds=self.timeout_seconds)
        return [(name, redshift_kind(type_name)) for name, type_name in result.columns], result.rows

    def describe(self) -> str:
        where = f"cluster {self.target.cluster_id}" if self.target.cluster_id else f"workgroup {self.target.workgroup}"
        login = "a Secrets Manager secret" if self.target.secret_arn else f"database user {self.target.db_user}"
        return f"Redshift {where}, database {self.target.database}, schema {self.schema}, login by {login}"


def _day(value: date | str, name: str) -> date:
    return value if isinstance(value, date) else parse_date(value, name)


@dataclass(frozen=True)
class DataAsOf:
    """What the reports hold: the last day of the newest complete load, and which execution wrote it."""

    day: date
    execution: str
    finished: datetime  # UTC
    anomalies: int

    def line(self) -> str:
        warned = f", published with {self.anomalies} volume warning(s)" if self.anomalies else ""
        return f"data as of {self.day}: execution {self.execution} finished {self.finished:%Y-%m-%d %H:%M} UTC{warned}"


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
        """The newest complete load in the run log (`pipeline_runs`, written by every execution): the latest
        window end of a SUCCEEDED execution that built everything; None when there is none yet."""
        tables = self.query(
            "select count(*) as found from information_schema.tables where table_schema = :schema "
            "and table_name = 'pipeline_runs'",
            schema=self.schema,
        )
        if not int(tables["found"].iloc[0]):
            return None
        frame = self.query(
            f"select window_end, execution_name, finished_at, anomalies from {self.schema}.pipeline_runs "
            "where status = 'SUCCEEDED' and selection is null order by window_end desc, finished_at desc limit 1"
        )
        if frame.empty:
            return None
        row = frame.iloc[0]
        anomalies = json.loads(str(row["anomalies"])) if pd.notna(row["anomalies"]) else []
        return DataAsOf(
            day=row["window_end"],
            execution=str(row["execution_name"]),
            finished=pd.Timestamp(row["finished_at"]).to_pydatetime(),
            anomalies=len(anomalies),
        )

    def last_loaded_day(self) -> date | None:
        """The last sale day in the daily report, or None when it is empty."""
        frame = self.query(f"select max(sold_date) as last_day from {self.schema}.rpt_daily_store_sales")
        value = frame["last_day"].iloc[0] if len(frame) else None
        return None if value is None or pd.isna(value) else value

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
            raise DataDirError("the daily report is empty: run the pipeline first (`python -m orchestrator run`)")
        return RefreshWindow.day(last_day)


def redshift_configured(cfg: Config) -> bool:
    """True when the configuration names a Redshift cluster or workgroup for the reports."""
    return bool(cfg.redshift_cluster_id or cfg.redshift_workgroup)


def connect(
    source: ReportSource | str | None = None,
    *,
    config: Config | None = None,
    secret_arn: str | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> ReportConnection:
    """A connection to the warehouse holding the reports.

    Without `source`: Redshift when the configuration (store-sales.toml or STORE_SALES_REDSHIFT_* variables)
    names a cluster or a workgroup, else the local DuckDB warehouse. On Redshift the login is a database user
    with temporary IAM credentials (redshift_db_user) or a Secrets Manager secret holding `username` and
    `password` (`secret_arn`, else redshift_secret_arn), checked here so a wrong one fails at once.
    """
    cfg = config if config is not None else config_module.load()
    chosen = ReportSource(source) if source is not None else None
    if chosen is None:
        chosen = ReportSource.REDSHIFT if redshift_configured(cfg) else ReportSource.LOCAL
    if chosen is ReportSource.LOCAL:
        return ReportConnection(DuckDBBackend(settings.duckdb_path()))
    from orchestrator.aws import aws_client

    target = RedshiftTarget(
        database=cfg.require("redshift_database"),
        cluster_id=cfg.redshift_cluster_id,
        workgroup=cfg.redshift_workgroup,
        db_user=cfg.redshift_db_user,
        secret_arn=secret_arn or cfg.redshift_secret_arn,
    )
    if target.secret_arn is not None:
        check_secret(aws_client("secretsmanager", cfg.require("region")), target.secret_arn)
    schema = _schema(cfg.reports_schema or config_module.DEFAULT_REPORTS_SCHEMA)
    return ReportConnection(
        DataApiBackend(aws_client("redshift-data", cfg.require("region")), target, schema, timeout_seconds)
    )


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
