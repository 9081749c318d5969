"""Where things live: the dbt project, the landing data and the local DuckDB warehouse.

With no configuration at all everything is under the project: `data/` holds the landing extracts and
`data/warehouse.duckdb` the embedded warehouse. Two environment variables move them:
`STORE_SALES_DATA_DIR` (the landing data directory) and `STORE_SALES_DUCKDB` (the warehouse file).
`STORE_SALES_PROJECT_DIR` points at the dbt project when the package is installed elsewhere
(the container image sets it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

DATA_DIR_ENV = "STORE_SALES_DATA_DIR"
DUCKDB_ENV = "STORE_SALES_DUCKDB"
PROJECT_DIR_ENV = "STORE_SALES_PROJECT_DIR"
TARGET_ENV = "STORE_SALES_TARGET"
# The runner's memory in MB (the ECS task definition sets it): DuckDB's memory limit and threads follow it
# (macros/warehouse_resources.sql; in Lambda the runtime's AWS_LAMBDA_FUNCTION_MEMORY_SIZE serves).
MEMORY_ENV = "STORE_SALES_MEMORY_MB"

DEFAULT_TARGET = "local"
WAREHOUSE_FILE_NAME = "warehouse.duckdb"


def project_dir() -> Path:
    """The dbt project directory (the repository root unless STORE_SALES_PROJECT_DIR says otherwise)."""
    configured = os.environ.get(PROJECT_DIR_ENV)
    if configured:
        return Path(configured).resolve()
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The landing data directory: `<dir>/landing/<extract>/load_date=YYYY-MM-DD/*.parquet`."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).resolve()
    return project_dir() / "data"


def duckdb_path() -> Path:
    """The embedded DuckDB warehouse file."""
    configured = os.environ.get(DUCKDB_ENV)
    if configured:
        return Path(configured).resolve()
    return data_dir() / WAREHOUSE_FILE_NAME


def dbt_target() -> str:
    """The dbt target in use: `local` (embedded DuckDB) unless STORE_SALES_TARGET names another."""
    return os.environ.get(TARGET_ENV, DEFAULT_TARGET)


def dbt_environment() -> dict[str, str]:
    """The environment variables dbt needs to find the data and the warehouse, as absolute paths."""
    return {
        DATA_DIR_ENV: str(data_dir()),
        DUCKDB_ENV: str(duckdb_path()),
        TARGET_ENV: dbt_target(),
    }


@contextlib.contextmanager
def scoped_environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the block, then restore the old values."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
