"""dbt-redshift without a cluster: every statement dbt would send is recorded, and dbt's questions about the
warehouse are answered from a declared catalog.

There is no Redshift here, and redshift_connector cannot talk to PostgreSQL, so the project's Redshift SQL
is produced by the real dbt-redshift adapter with three seams replaced:
- the connection: `get_connection_method` returns a handle whose cursor records each statement (with the dbt
  node running it, or the hook) and returns no rows;
- introspection: `list_relations_without_caching` and `get_columns_in_relation` answer from a `Catalog`
  (which relations exist, with their contract columns: none on a first load, every model on a daily run);
- a model's column schema from its SQL (contract enforcement) answers the model's declared columns.
Everything else (materializations, incremental strategies, hooks, transactions) is dbt-redshift's own code.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dbt.adapters.redshift.connections as redshift_connections
from dbt.adapters.contracts.relation import RelationType
from dbt.adapters.redshift.impl import RedshiftAdapter
from dbt.task.run import ModelRunner
from models_harness import Warehouse

HOOKS = "(hooks)"
TEMPORARY_SUFFIX = re.compile(r"__dbt_(tmp|backup)\w*$")
QUERY_COMMENT = re.compile(r"^\s*/\*.*?\*/\s*", re.DOTALL)


@dataclass
class Catalog:
    """The relations that exist in the warehouse, each with its columns (name, data type)."""

    schema: str
    relations: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def columns(self, identifier: str) -> list[tuple[str, str]]:
        return self.relations.get(TEMPORARY_SUFFIX.sub("", identifier), [])


@dataclass
class Recording:
    """Statements in the order dbt sent them, each with the node that sent it (HOOKS outside any node)."""

    statements: list[tuple[str, str]] = field(default_factory=list)
    current: threading.local = field(default_factory=threading.local)

    def node(self) -> str:
        return getattr(self.current, "node", HOOKS)

    def by_node(self) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for node, sql in self.statements:
            grouped.setdefault(node, []).append(sql)
        return grouped


class _Cursor:
    def __init__(self, recording: Recording) -> None:
        self._recording = recording
        self._rows: list[tuple[Any, ...]] = []
        self.rowcount = -1
        self.description: list[tuple[Any, ...]] | None = None

    def execute(self, sql: str, bindings: Any = None) -> _Cursor:
        if "pg_backend_pid()" in sql:
            self._rows = [(1,)]
            return self
        self._recording.statements.append((self._recording.node(), QUERY_COMMENT.sub("", sql).strip()))
        self._rows = []
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._rows)

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        return self._rows[:size]

    def close(self) -> None:
        return None

    def __enter__(self) -> _Cursor:
        return self

    def __exit__(self, *_: object) -> None:
        return None


class _Handle:
    autocommit = True

    def __init__(self, recording: Recording) -> None:
        self._recording = recording

    def cursor(self) -> _Cursor:
        return _Cursor(self._recording)

    def commit(self) -> None:
        return None

    def rollback(self) -> None:
        return None

    def close(self) -> None:
        return None


@contextlib.contextmanager
def offline_redshift(catalog: Catalog, declared: dict[str, list[tuple[str, str]]]) -> Iterator[Recording]:
    """Inside: dbt-redshift records instead of connecting and answers introspection from `catalog`;
    `declared` holds every model's contract columns (for contract enforcement)."""
    recording = Recording()
    original_execute = ModelRunner.execute

    def execute(self: ModelRunner, model: Any, manifest: Any) -> Any:
        recording.current.node = model.unique_id
        try:
            return original_execute(self, model, manifest)
        finally:
            recording.current.node = HOOKS

    def list_relations(self: RedshiftAdapter, schema_relation: Any) -> list[Any]:
        if (schema_relation.schema or "").lower() != catalog.schema:
            return []
        return [
            self.Relation.create(
                database=schema_relation.database, schema=catalog.schema, identifier=name, type=RelationType.Table
            )
            for name in catalog.relations
        ]

    def columns_in_relation(self: RedshiftAdapter, relation: Any) -> list[Any]:
        return [self.Column.create(name, data_type) for name, data_type in catalog.columns(relation.identifier)]

    def column_schema_from_query(self: RedshiftAdapter, sql: str) -> list[Any]:
        name = recording.node().rsplit(".", 1)[-1]
        return [self.Column.create(column, data_type) for column, data_type in declared.get(name, [])]

    patches = {
        (redshift_connections, "get_connection_method"): lambda credentials: lambda: _Handle(recording),
        (ModelRunner, "execute"): execute,
        (RedshiftAdapter, "list_relations_without_caching"): list_relations,
        (RedshiftAdapter, "get_columns_in_relation"): columns_in_relation,
        (RedshiftAdapter, "get_column_schema_from_query"): column_schema_from_query,
    }
    originals = {key: getattr(*key) for key in patches}
    try:
        for (owner, name), replacement in patches.items():
            setattr(owner, name, replacement)
        yield recording
    finally:
        for (owner, name), original in originals.items():
            setattr(owner, name, original)


PROFILE = """
store_sales:
  target: redshift
  outputs:
    redshift:
      type: redshift
      method: database
      host: redshift.invalid
      port: 5439
      user: dbt_store_sales
      password: "{{ env_var('STORE_SALES_REDSHIFT_PASSWORD', 'not-a-secret') }}"
      dbname: dev
      schema: store_sales
      threads: 1
      connect_timeout: 1
      retries: 0
"""
S3_URI = "s3://landing-bucket/store-sales"


def redshift_target(root: Path) -> Warehouse:
    """The project with a Redshift profile in `root` whose host does not resolve: parse and compile only."""
    (root / "profiles.yml").write_text(PROFILE)
    return Warehouse(
        root,
        target="redshift",
        profiles_dir=root,
        extra_env={
            "STORE_SALES_LANDING_S3_URI": S3_URI,
            "STORE_SALES_SPECTRUM_ROLE_ARN": "arn:aws:iam::123456789012:role/store-sales-spectrum",
        },
    )
