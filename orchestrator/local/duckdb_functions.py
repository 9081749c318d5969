"""The landing rules as DuckDB functions: a plain `dbt build` on the local target applies the very rules the
orchestrator applies, written once in Python (orchestrator/landing) and called from the Jinja.

dbt-duckdb loads this module as a plugin of the `local` output (profiles.yml, `plugins`) and calls
`configure_connection` on each connection it opens, which registers:
- `store_sales_landed_window(data_dir, after)`: the catch-up rule (`landing.catch_up.landed_window` over the
  landing under `data_dir`), as JSON `{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}`, or NULL when the day after
  `after` (the first landed day when `after` is NULL) has not landed; macros/catch_up.sql pins it;
- `store_sales_parquet_problem(file)`: NULL when the file is one the landing gate reads
  (`landing.parquet_footer.file_rows`), else why not; macros/landing_validation.sql's `landing_rule_parquet`.
So the dbt project's local target needs this package installed (`make setup` does), as every command does.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.func import SPECIAL
from duckdb.sqltypes import DATE, VARCHAR

from orchestrator.landing import catch_up, parquet_footer
from orchestrator.landing.gate import LocalLanding


def landed_window(data_dir: str, after: date | None) -> str | None:
    """The catch-up window of the landing under `data_dir` after the day `after`, as JSON; None when none."""
    window = catch_up.landed_window(LocalLanding(Path(data_dir)), after)
    return None if window is None else json.dumps({"start": window.start.isoformat(), "end": window.end.isoformat()})


def parquet_problem(file: str) -> str | None:
    """Why the file at `file` is not a Parquet file the gate can read; None when it is."""
    try:
        parquet_footer.file_rows(Path(file))
    except (OSError, parquet_footer.ParquetFooterError) as error:
        return " ".join(str(error).split())[:200]
    return None


class Plugin(BasePlugin):
    """dbt-duckdb's plugin interface: the functions above on every connection of the local target."""

    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        # SPECIAL null handling: a NULL `after` reaches the rule, and a NULL result means "none" (DuckDB's
        # default would refuse a function that returns NULL)
        conn.create_function(
            "store_sales_landed_window", landed_window, [VARCHAR, DATE], VARCHAR, null_handling=SPECIAL,
            side_effects=True,
        )  # fmt: skip
        conn.create_function(
            "store_sales_parquet_problem", parquet_problem, [VARCHAR], VARCHAR, null_handling=SPECIAL,
            side_effects=True,
        )  # fmt: skip
