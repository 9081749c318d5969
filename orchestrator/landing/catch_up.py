"""The catch-up rule, on the Python side: which days `run` without a date loads.

Every day after the last loaded one whose every extract has its `_SUCCESS` marker, up to the first day that has
not landed. Written once: the orchestrator applies it before dbt (to name the execution by its window, and to
read the landing in S3), and a plain `dbt build` without a window on the local target calls this very function
from its hook (`macros/catch_up.sql`, through the DuckDB function orchestrator/local/duckdb_functions.py registers).
"""

from __future__ import annotations

from datetime import date, timedelta

from orchestrator.landing.contract import EXTRACTS
from orchestrator.landing.gate import LandingStore
from orchestrator.window import RefreshWindow


def landed_window(store: LandingStore, after: date | None) -> RefreshWindow | None:
    """The days after `after` (from the first landed day when None) whose every extract has its marker, up
    to the first day that has not landed; None when the next day has not landed. The gate still checks them."""
    days = set.intersection(*(store.marker_days(extract, after) for extract in EXTRACTS))
    if not days:
        return None
    start = min(days) if after is None else after + timedelta(days=1)
    if start not in days:
        return None
    end = start
    while end + timedelta(days=1) in days:
        end += timedelta(days=1)
    return RefreshWindow(start, end)
