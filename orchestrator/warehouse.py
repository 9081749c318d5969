"""Where read-only statements run: the local DuckDB warehouse, or Redshift through the Data API.

One small interface, `Warehouse` (`fetch` a statement with `:name` placeholders and bound values, `describe`
it, say whether it `exists`), behind the reports (`orchestrator.reports`, which turns rows into typed
DataFrames) and the ledger of loads (`orchestrator.ledger`). It imports no pandas, so a command that only
asks the ledger pays no DataFrame import.

`open_warehouse` picks it by one rule: Redshift when the configuration (store-sales.toml or the
STORE_SALES_REDSHIFT_* variables) names a cluster or a workgroup, else the local DuckDB file
(`STORE_SALES_DUCKDB`, default `DIR/warehouse.duckdb`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from orchestrator import config as config_module
from orchestrator import settings
from orchestrator.errors import DataDirError, UsageError
from orchestrator.redshift_data import RedshiftTarget, check_secret
from orchestrator.redshift_data import query as data_api_query

if TYPE_CHECKING:
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient

    from orchestrator.config import Config

LOCAL_SCHEMA = "main"
DEFAULT_TIMEOUT_SECONDS = 300.0
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# `:name`, but not the second colon of a `::type` cast
PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")


class ReportSource(StrEnum):
    """Which warehouse to read: the local DuckDB file or Redshift through the Data API."""

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


def convert(value: Any, kind: ColumnKind) -> Any:
    """A fetched value as the Python type of its kind (the Data API returns dates and timestamps as text)."""
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
    if kind is ColumnKind.TIMESTAMP and not isinstance(value, datetime):
        return datetime.fromisoformat(str(value))
    return value


class Backend(Protocol):
    """Where statements run; `fetch` returns each column's name and kind, and the rows."""

    @property
    def schema(self) -> str: ...

    def fetch(self, sql: str, parameters: Mapping[str, object]) -> tuple[list[tuple[str, ColumnKind]], list[Any]]: ...

    def describe(self) -> str: ...

    def exists(self) -> bool:
        """False when there is no warehouse at all yet (a local file never created)."""
        ...


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
        statement = PLACEHOLDER.sub(lambda match: f"${match.group(1)}", sql)
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

    def exists(self) -> bool:
        return self.warehouse.is_file()


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

    def exists(self) -> bool:
        return True  # a cluster or workgroup named in the configuration; a wrong one fails the first statement


def redshift_configured(cfg: Config) -> bool:
    """True when the configuration names a Redshift cluster or workgroup for the reports."""
    return bool(cfg.redshift_cluster_id or cfg.redshift_workgroup)


def open_warehouse(
    source: ReportSource | str | None = None,
    *,
    config: Config | None = None,
    secret_arn: str | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> Backend:
    """The warehouse holding the marts, the reports and the ledger.

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
        return DuckDBBackend(settings.duckdb_path())
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
    schema = checked_schema(cfg.reports_schema or config_module.DEFAULT_REPORTS_SCHEMA)
    return DataApiBackend(aws_client("redshift-data", cfg.require("region")), target, schema, timeout_seconds)


def checked_schema(schema: str) -> str:
    """A schema name safe to write into SQL: a plain identifier."""
    if not _IDENTIFIER.match(schema):
        raise UsageError(f"schema {schema!r} is not a plain identifier (letters, digits, underscores)")
    return schema
