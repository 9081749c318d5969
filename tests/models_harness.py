"""Runs this dbt project in-process (dbtRunner) against an isolated warehouse, for the model tests.

Every `Warehouse` has its own data directory, DuckDB file (always named warehouse.duckdb, so the
parsed manifest, whose relation names carry the database name, fits every warehouse), target and log
directories. The project is parsed once per target and process; later invocations reuse that
manifest, as the orchestrator's runner does. Invocations are never concurrent (dbt does not support
that in one process).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from dbt.artifacts.schemas.run import RunExecutionResult
from dbt.cli.main import dbtRunner, dbtRunnerResult
from postgres_server import PostgresServer

from orchestrator.settings import scoped_environment

PROJECT_DIR = Path(__file__).resolve().parent.parent
MART_KEYS: Mapping[str, Sequence[str]] = {
    "dim_customer_address": ("ca_address_sk",),
    "dim_item": ("i_item_sk",),
    "fct_store_sales": ("ss_sold_date", "ss_ticket_number", "ss_item_id", "ss_line_number"),
    "rpt_daily_store_sales": ("sold_date", "s_store_sk"),
    "rpt_weekly_region_sales": ("week_start_date", "region"),
}
WINDOW_VARIABLES = ("STORE_SALES_WINDOW_START", "STORE_SALES_WINDOW_END")
# a build that loads data without running tests (the tests are checked elsewhere)
BUILD_WITHOUT_TESTS = ("build", "--exclude", "resource_type:test", "resource_type:unit_test")

_manifests: dict[str, Any] = {}


class DbtFailed(AssertionError):
    """A dbt invocation did not succeed; the message lists the failing nodes."""


@dataclass
class Warehouse:
    root: Path
    target: str = "local"
    extra_env: dict[str, str] = field(default_factory=dict)
    postgres: PostgresServer | None = None
    schema: str = "main"
    profiles_dir: Path = PROJECT_DIR

    @classmethod
    def on_postgres(cls, root: Path, server: PostgresServer, schema: str = "analytics") -> Warehouse:
        """A warehouse on the test PostgreSQL server (schema `schema`, landing tables in `landing`)."""
        return cls(root, target="postgres", extra_env=server.dbt_env(schema), postgres=server, schema=schema)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def duckdb_path(self) -> Path:
        return self.root / "warehouse" / "warehouse.duckdb"

    def env(self, start: date | None, end: date | None) -> dict[str, str | None]:
        self.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
        return {
            "STORE_SALES_DATA_DIR": str(self.data_dir),
            "STORE_SALES_DUCKDB": str(self.duckdb_path),
            "STORE_SALES_TARGET": self.target,
            "STORE_SALES_WINDOW_START": start.isoformat() if start else None,
            "STORE_SALES_WINDOW_END": (end or start).isoformat() if start else None,
            **self.extra_env,
        }

    def invoke(
        self, *args: str, start: date | None = None, end: date | None = None, parsed: bool = True
    ) -> dbtRunnerResult:
        """Run one dbt command; with `parsed`, reuse the manifest parsed once for this target."""
        paths = self._paths("target")
        with scoped_environment(self.env(start, end)):
            manifest = self.manifest() if parsed else None
            return dbtRunner(manifest=manifest).invoke([*args, *paths, "--quiet"])

    def _paths(self, target_folder: str) -> list[str]:
        options = {
            "--project-dir": PROJECT_DIR,
            "--profiles-dir": self.profiles_dir,
            "--target-path": self.root / target_folder,
            "--log-path": self.root / "logs",
        }
        return [part for option, path in options.items() for part in (option, str(path))]

    def manifest(self) -> Any:
        if self.target not in _manifests:
            result = dbtRunner().invoke(["parse", *self._paths("target-parse"), "--quiet"])
            assert result.success, f"dbt parse failed: {result.exception}"
            _manifests[self.target] = result.result
        return _manifests[self.target]

    def run(self, *args: str, start: date | None = None, end: date | None = None) -> dbtRunnerResult:
        """Run one dbt command that must succeed (warnings allowed)."""
        result = self.invoke(*args, start=start, end=end)
        if not result.success:
            raise DbtFailed(describe_failure(result))
        return result

    def build(self, start: date, end: date | None = None, *extra: str) -> dbtRunnerResult:
        return self.run("build", *extra, start=start, end=end)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.postgres is not None:
            return self.postgres.query(sql)
        with duckdb.connect(str(self.duckdb_path)) as connection:
            return connection.execute(sql).fetchall()

    def table(self, name: str) -> list[tuple[Any, ...]]:
        order = ", ".join(f"{key} nulls last" for key in MART_KEYS[name])
        return self.query(f"select * from {self.schema}.{name} order by {order}")

    def marts(self) -> dict[str, list[tuple[Any, ...]]]:
        return {name: self.table(name) for name in MART_KEYS}


def node_results(result: dbtRunnerResult) -> list[Any]:
    """The per-node results of a run, build, test or compile invocation."""
    return list(result.result.results) if isinstance(result.result, RunExecutionResult) else []


def describe_failure(result: dbtRunnerResult) -> str:
    if result.exception is not None:
        return f"dbt raised: {result.exception}"
    failures = [
        f"{r.node.unique_id}: {r.status} {r.message}"
        for r in node_results(result)
        if str(r.status) in {"error", "fail", "runtime error"}
    ]
    return "dbt failed: " + "; ".join(failures or ["(no failing node reported)"])


def warnings(result: dbtRunnerResult) -> dict[str, int]:
    """The warn-severity tests that warned, with their failures count."""
    return {r.node.name: int(r.failures or 0) for r in node_results(result) if str(r.status) == "warn"}
