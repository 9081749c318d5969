"""The package's extras, by the modules they bring: a command that needs one that is not installed says so in one line.

`pip install .` installs the runtime alone, which is what the runner image carries (dbt-core, dbt-redshift, boto3).
The command line needs the `local` extra (DuckDB and its dbt adapter, the TPC-DS generator, moto, the live display,
the reports' DataFrames); charts need `analyst`. `make setup` installs both (through `dev`). A command that imports a
module of an extra that is not installed stops with `EnvironmentProblem` naming the extra, not with a traceback;
tests/test_architecture.py holds this table to pyproject.toml and to every import of the package.
"""

from __future__ import annotations

from orchestrator.errors import EnvironmentProblem

EXTRA_OF_MODULE: dict[str, str] = {
    "duckdb": "local",
    "duckdb_extension_tpcds": "local",
    "moto": "local",
    "pandas": "local",
    "rich": "local",
    "matplotlib": "analyst",
}


def missing_extra(error: ModuleNotFoundError) -> EnvironmentProblem | None:
    """The one-line error for a module of an extra that is not installed; None for any other missing module."""
    module = (error.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return EnvironmentProblem(
        f"this command needs {module}, which is not installed: install the {extra} extra, pip install -e '.[{extra}]'"
    )
