"""Where read-only statements run: the local DuckDB warehouse, or Redshift through the Data API.

One small interface, `Warehouse` (`fetch` a statement with `:name` placeholders and bound values, `describe`
it, say whether it `exists`), behind the reports (`orchestrator.reports`, which turns rows into typed
DataFrames) and the ledger of loads (`orchestrator.ledger`). It imports no pandas, so a command that only
asks the ledger pays no DataFrame import.

`open_warehouse` reads the warehouse the pipeline of the mode loads (the mode: `Config.mode`, one rule for
every command and the notebook): the dbt target's, STORE_SALES_TARGET when set, else the mode's own. Locally
that is `local`, the DuckDB file the local emulator loads (`STORE_SALES_DUCKDB`, default `DIR/warehouse.duckdb`);
on AWS it is `redshift`, what the deployed stack's runner loads (infra/template.yaml), read through the Data
API. An emulated stack whose runner loads the DuckDB file says so with STORE_SALES_TARGET=local, as its runner
does.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from orchestrator import config as config_module
from orchestrator import file_lock, settings
from orchestrator.config import Mode
from orchestrator.errors import ConfigurationError, DataDirError, UsageError, WarehouseBusy
from orchestrator.redshift_data import RedshiftTarget, check_secret
from orchestrator.redshift_data import query as data_api_query

if TYPE_CHECKING:
    import duckdb
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient

    from orchestrator.config import Config

LOCAL_SCHEMA = "main"
REDSHIFT_TARGET = "redshift"  # the deployed runner's dbt target (infra/template.yaml, profiles.yml.example)
DEFAULT_TIMEOUT_SECONDS = 300.0
# DuckDB's refusals to open a file another writer has open: another process ("Conflicting lock is held in
# <program> (PID 1234)"), or this one with another configuration (an in-process task holds it read-write)
_DUCKDB_LOCK_CONFLICT = re.compile(r"Conflicting lock is held in .*\(PID (?P<pid>\d+)\)")
_DUCKDB_OPEN_HERE = "same database file with a different configuration"
WRITER_POLL_SECONDS = 0.25
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# `:name`, but not the second colon of a `::type` cast
PLACEHOLDER = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")


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


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _connect(duckdb: Any, warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection; when this very process already has the file open for writing (a task its local
    emulator runs in-process), a connection to that open database instead (DuckDB opens a file once per
    process, with one configuration): the statements are checked reads either way."""
    try:
        return duckdb.connect(str(warehouse), read_only=True)  # type: ignore[no-any-return]
    except duckdb.ConnectionException as error:
        if _DUCKDB_OPEN_HERE not in str(error):
            raise
        return duckdb.connect(str(warehouse))  # type: ignore[no-any-return]


def _conflicting_writer(error: duckdb.Error) -> str | None:
    """The process DuckDB names when another one has the file open for writing (`pid N`); None for other errors."""
    match = _DUCKDB_LOCK_CONFLICT.search(str(error))
    return None if match is None else f"pid {match['pid']}"


@dataclass(frozen=True)
class DuckDBBackend:
    """The local warehouse, opened read-only for each statement (so a pipeline run can write in between).

    A statement waits, up to `timeout_seconds`, while a local run holds the data directory's pipeline lock
    (`run_lock`: for the whole command, so no table is read half-loaded between two of its tasks) and while
    another process (a plain `dbt build`) has the file open for writing; `say` hears one line when it waits."""

    warehouse: Path
    schema: str = LOCAL_SCHEMA
    run_lock: Path | None = None
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    say: Callable[[str], None] = _say

    def fetch(self, sql: str, parameters: Mapping[str, object]) -> tuple[list[tuple[str, ColumnKind]], list[Any]]:
        import duckdb

        statement = PLACEHOLDER.sub(lambda match: f"${match.group(1)}", sql)
        waiting = _Wait(self, time.monotonic() + self.timeout_seconds)
        while True:
            waiting.for_the_run()  # a first run creates the warehouse
            if not self.warehouse.is_file():
                raise DataDirError(
                    f"no local warehouse at {self.warehouse}: load it first with "
                    "`python -m orchestrator run --date YYYY-MM-DD`"
                )
            try:
                with _connect(duckdb, self.warehouse) as connection:
                    cursor = connection.execute(statement, dict(parameters))
                    columns = [(name, duckdb_kind(str(code))) for name, code, *_ in cursor.description or []]
                    return columns, cursor.fetchall()
            except duckdb.CatalogException as error:
                raise DataDirError(
                    f"the warehouse {self.warehouse} has no such table or column "
                    f"({' '.join(str(error).split())[:160]}): run the pipeline first "
                    "(`python -m orchestrator run --date YYYY-MM-DD`) or check the query"
                ) from None
            except duckdb.IOException as error:
                writer = _conflicting_writer(error)
                if writer is None:
                    raise DataDirError(f"cannot open the warehouse {self.warehouse}: {error}") from None
                waiting.for_the_writer(writer)
            except duckdb.Error as error:
                raise UsageError(f"DuckDB refused the query: {' '.join(str(error).split())}") from None

    def describe(self) -> str:
        return f"local DuckDB warehouse {self.warehouse} (schema {self.schema})"

    def exists(self) -> bool:
        return self.warehouse.is_file()


@dataclass
class _Wait:
    """One statement's wait for the warehouse's writers, up to its deadline, said once."""

    backend: DuckDBBackend
    deadline: float
    said: bool = False

    def for_the_run(self) -> None:
        """Wait while a local run holds the data directory (the whole run, not one of its tasks)."""
        if self.backend.run_lock is None:
            return
        holder = file_lock.wait_for_release(
            self.backend.run_lock,
            max(0.0, self.deadline - time.monotonic()),
            lambda found: self._say(self._run_holder(found)),
        )
        if holder is not None:
            self._give_up(self._run_holder(holder))

    def for_the_writer(self, writer: str) -> None:
        """Another process has the file open for writing (DuckDB takes one writer): look again shortly."""
        who = f"{writer} (it has the warehouse open for writing)"
        if time.monotonic() >= self.deadline:
            self._give_up(who)
        self._say(who)
        time.sleep(min(WRITER_POLL_SECONDS, max(0.0, self.deadline - time.monotonic())))

    @staticmethod
    def _run_holder(holder: file_lock.Holder) -> str:
        if holder.work is not None:
            return f"{holder.work} (a local pipeline run, {holder.process})"
        return f"{holder.process} (it holds the data directory's pipeline lock: a local run or sample-data)"

    def _say(self, who: str) -> None:
        if not self.said:
            self.said = True
            self.backend.say(
                f"waiting for {who} to finish before reading {self.backend.warehouse} "
                f"(up to {self.backend.timeout_seconds:g} s)"
            )

    def _give_up(self, who: str) -> NoReturn:
        raise WarehouseBusy(
            f"the local warehouse {self.backend.warehouse} was still being loaded by {who} after "
            f"{self.backend.timeout_seconds:g} s of waiting: read it once that has finished, or wait longer "
            "with --timeout SECONDS (connect(timeout_seconds=...))"
        )


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


def reads_redshift(mode: Mode) -> bool:
    """Whether the warehouse the mode's pipeline loads is Redshift: the dbt target's, STORE_SALES_TARGET when it
    names the `local` DuckDB target or a Redshift one (`redshift`, `redshift_serverless`, ...: profiles.yml.example),
    else the mode's own: DuckDB locally, Redshift on AWS (the deployed runner's target, infra/template.yaml). Any
    other target (the tests' `postgres`) leaves the mode's choice."""
    named = settings.TARGET.raw() or ""
    if named == settings.DEFAULT_TARGET:
        return False
    return named.startswith(REDSHIFT_TARGET) or mode is Mode.AWS


def open_warehouse(
    mode: Mode | None = None,
    *,
    config: Config | None = None,
    secret_arn: str | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    wait_for_local_run: bool = True,
) -> Backend:
    """The warehouse holding the marts, the reports and the ledger: the one the pipeline of `mode` loads
    (None: the configuration's mode, `Config.mode`).

    Locally, a statement waits for a local run in progress to finish (`wait_for_local_run`; not for the ledger
    a run reads under its own lock). On Redshift the login is a database user with temporary IAM credentials
    (redshift_db_user) or a Secrets Manager secret holding `username` and `password` (`secret_arn`, else
    redshift_secret_arn), checked here so a wrong one fails at once.
    """
    cfg = config if config is not None else config_module.load()
    chosen = cfg.mode(mode)
    if not reads_redshift(chosen):
        run_lock = settings.data_dir() / file_lock.PIPELINE_LOCK_FILE_NAME if wait_for_local_run else None
        return DuckDBBackend(settings.duckdb_path(), run_lock=run_lock, timeout_seconds=timeout_seconds)
    if not cfg.redshift_configured:
        where = cfg.source if cfg.source != "environment" else config_module.CONFIG_FILE_NAME
        if chosen is Mode.AWS:
            why, instead = "AWS mode reads the Redshift warehouse the deployed stack loads", "or use --local"
        else:
            why = f"{settings.TARGET.name}={settings.TARGET.raw()} loads and reads Redshift"
            instead = f"or unset {settings.TARGET.name}"
        raise ConfigurationError(
            f"{why}, and the configuration names no Redshift: set redshift_cluster_id or redshift_workgroup (and "
            f"redshift_database) in the [aws] table of {where} or the STORE_SALES_REDSHIFT_* variables, {instead} "
            "to act on this machine's pipeline and DuckDB file"
        )
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
