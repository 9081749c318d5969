"""The package's extras, by the modules they bring: a command that needs one that is not installed says so in one line.

`pip install .` installs the runtime alone, which is what the runner image carries (dbt-core, dbt-redshift, boto3).
The command line needs the `local` extra (DuckDB and its dbt adapter, the TPC-DS generator, moto, the live display,
the reports' DataFrames); charts need matplotlib, from `analyst`. `make setup` installs `dev`, which holds `local`
and matplotlib. A command that imports a module of an extra that is not installed stops with `EnvironmentProblem`
naming the extra, not with a traceback; tests/test_architecture.py holds this table to pyproject.toml and to every
import of the package.
"""

from __future__ import annotations

import importlib

from orchestrator import settings
from orchestrator.errors import EnvironmentProblem

EXTRA_OF_MODULE: dict[str, str] = {
    "duckdb": "local",
    "duckdb_extension_tpcds": "local",
    "moto": "local",
    "pandas": "local",
    "rich": "local",
    "matplotlib": "analyst",
}
# dbt's `local` target (profiles.yml) is DuckDB: dbt loads its adapter by name, so no import of ours shows it
LOCAL_TARGET_ADAPTER = "dbt.adapters.duckdb"


def _not_installed(module: str, extra: str) -> EnvironmentProblem:
    return EnvironmentProblem(
        f"this command needs {module}, which is not installed: install the {extra} extra "
        f"(`make setup` installs every extra; or pip install -e '.[{extra}]')"
    )


def missing_extra(error: ModuleNotFoundError) -> EnvironmentProblem | None:
    """The one-line error for a module of an extra that is not installed; None for any other missing module."""
    module = (error.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    return None if extra is None else _not_installed(module, extra)


def require_target_adapter(target: str) -> None:
    """Before dbt parses on `target`: the `local` target's adapter comes with the local extra. Without it dbt
    would stop deep inside its parse ("Could not find adapter type duckdb!"); this says which extra instead."""
    if target != settings.DEFAULT_TARGET:
        return
    try:
        importlib.import_module(LOCAL_TARGET_ADAPTER)
    except ModuleNotFoundError:
        raise _not_installed("dbt-duckdb", "local") from None
