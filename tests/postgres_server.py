"""A throw-away PostgreSQL server for the tests, and the loader of the landing tables.

`PostgresServer.start()` uses Debian's binaries (/usr/lib/postgresql/<version>/bin; when missing, as
root, it installs them with `apt-get install -y postgresql`), creates a cluster in a temporary
directory with the C locale (so text sorts like DuckDB), listens on 127.0.0.1 on a free port only and
is stopped (and its directory removed) by `stop()`. initdb refuses to run as root, so as root the
server runs as the `postgres` OS user (created if missing).

`load_landing()` is the Postgres loader of the landing contract: it copies the Parquet extracts and
reference tables of a data directory into real tables `landing.<table>` (extracts with their
`load_date` partition as a column), replacing what was there.
"""

from __future__ import annotations

import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pyarrow as pa
import pyarrow.csv as pa_csv

EXTRACTS = ("customer_address", "item", "store_sales")
REFERENCE_TABLES = ("customer", "store", "date_dim")
SUPERUSER = "store_sales"
DATABASE = "store_sales"


def postgres_bin_dir() -> Path:
    """The newest installed PostgreSQL server binaries; installs Debian's package when there are none."""
    for attempt in range(2):
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
        if found:
            return found[-1].parent
        if attempt == 0 and os.geteuid() == 0 and shutil.which("apt-get"):
            subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True)
            subprocess.run(
                ["apt-get", "install", "-y", "-q", "postgresql"],
                check=True,
                capture_output=True,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
    raise RuntimeError(
        "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: install them "
        "(Debian: apt-get install -y postgresql) to run the Postgres model tests"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_user() -> str | None:
    """The OS user that runs the server: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return "postgres"


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    os_user: str | None
    host: str = "127.0.0.1"
    user: str = SUPERUSER
    database: str = DATABASE

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = postgres_bin_dir()
        os_user = _server_user()
        root = Path(tempfile.mkdtemp(prefix="store-sales-postgres-"))
        if os_user is not None:
            record = pwd.getpwnam(os_user)
            os.chown(root, record.pw_uid, record.pw_gid)
        server = cls(bin_dir=bin_dir, root=root, port=_free_port(), os_user=os_user)
        server._run(
            "initdb", "-D", str(server.data_dir), "-U", SUPERUSER, "--auth=trust", "--locale=C", "--encoding=UTF8"
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {server.port} -k {root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        server._run("pg_ctl", "-D", str(server.data_dir), "-l", str(root / "server.log"), "-o", options, "-w", "start")
        try:
            with server.session("postgres", autocommit=True) as cursor:
                cursor.execute(f"create database {DATABASE}")
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def data_dir(self) -> Path:
        return self.root / "cluster"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if self.os_user is not None:
            command = ["runuser", "-u", self.os_user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.root)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    @contextmanager
    def session(self, database: str | None = None, autocommit: bool = False) -> Iterator[Any]:
        """A cursor on a new connection; commits at the end of the block (rolls back on error), then closes."""
        connection = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=database or self.database)
        connection.autocommit = autocommit
        try:
            with connection.cursor() as cursor:
                yield cursor
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()

    def dbt_env(self, schema: str) -> dict[str, str]:
        """The environment variables of the `postgres` target in profiles.yml."""
        return {
            "STORE_SALES_PG_HOST": self.host,
            "STORE_SALES_PG_PORT": str(self.port),
            "STORE_SALES_PG_USER": self.user,
            "STORE_SALES_PG_PASSWORD": "",
            "STORE_SALES_PG_DATABASE": self.database,
            "STORE_SALES_PG_SCHEMA": schema,
        }

    def reset_schemas(self, *schemas: str) -> None:
        with self.session() as cursor:
            for schema in schemas:
                cursor.execute(f"drop schema if exists {schema} cascade")

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with self.session() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())


def _postgres_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision}, {arrow_type.scale})"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "varchar"
    raise TypeError(f"no PostgreSQL type for the Parquet column type {arrow_type}")


def load_landing(server: PostgresServer, data_dir: Path, schema: str = "landing") -> dict[str, int]:
    """Replace the landing tables with the Parquet files of `data_dir`; returns the row count per table."""
    reader = duckdb.connect()
    tables: dict[str, pa.Table] = {}
    for extract in EXTRACTS:
        pattern = data_dir / "landing" / extract / "*" / "*.parquet"
        tables[extract] = reader.execute(
            "select * from read_parquet(?, hive_partitioning = true, union_by_name = true)", [str(pattern)]
        ).to_arrow_table()
    for table in REFERENCE_TABLES:
        tables[table] = reader.execute(
            "select * from read_parquet(?)", [str(data_dir / "reference" / f"{table}.parquet")]
        ).to_arrow_table()
    counts: dict[str, int] = {}
    with server.session() as cursor:
        cursor.execute(f"create schema if not exists {schema}")
        for name, data in tables.items():
            columns = ", ".join(f"{field.name} {_postgres_type(field.type)}" for field in data.schema)
            cursor.execute(f"drop table if exists {schema}.{name}")
            cursor.execute(f"create table {schema}.{name} ({columns})")
            buffer = io.BytesIO()
            pa_csv.write_csv(data, buffer, pa_csv.WriteOptions(include_header=False))
            buffer.seek(0)
            cursor.copy_expert(f"copy {schema}.{name} from stdin with (format csv)", buffer)
            counts[name] = data.num_rows
    return counts
