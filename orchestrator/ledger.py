"""The ledger of loads: what the warehouse holds, read from the warehouse itself.

Every path that loads writes one row to `<schema>.pipeline_runs` (macros/pipeline_runs.sql): an orchestrated
execution (a run, a resume, a backfill chunk) in its last state, `Record run` or `Record failure`; a plain
`dbt build`/`dbt run` catch-up in its hooks (macros/catch_up.sql). Which rows count as a complete load, one
that publishes every day of its window, is decided ONCE, by the view `<schema>.pipeline_loads` that the same
macro file defines; this module, the catch-up macro and the analyst's SQL all read that view:

- the last loaded day: the newest window end in `pipeline_loads` (what `run` without a date and a plain
  `dbt build` catch up from, and what a new window must not leave a gap after);
- is day D published, by whom and when: the first load whose window holds D (a later failed or aborted
  attempt never unpublishes it);
- "data as of": the newest load;
- every attempt at a day: every row of `pipeline_runs` whose window holds it, with whether it published.

What is running, and where a failed execution stopped, is the execution history's to say (Step Functions,
or the local journal): an execution stopped from outside writes no row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from orchestrator.errors import LedgerOutdated
from orchestrator.warehouse import Backend, convert
from orchestrator.window import RefreshWindow

RUNS_TABLE = "pipeline_runs"
LOADS_VIEW = "pipeline_loads"
PLAIN_DBT_PREFIX = "dbt-"  # the row of a plain dbt run is named after dbt's invocation id
_COLUMNS = (
    "execution_name",
    "window_start",
    "window_end",
    "started_at",
    "finished_at",
    "status",
    "selection",
    "rows_written",
    "anomalies",
    "error",
    "allowed_gap",
)


class LedgerState(StrEnum):
    """What the warehouse holds of the ledger."""

    EMPTY = "empty"  # no warehouse, or no pipeline_runs table: nothing was ever loaded there
    READY = "ready"


@dataclass(frozen=True)
class LedgerEntry:
    """One row of `pipeline_runs`: an attempt at a window, and whether it published it."""

    execution: str
    window: RefreshWindow
    started: datetime  # UTC
    finished: datetime | None  # UTC; None while a plain dbt run runs (or was killed)
    status: str  # SUCCEEDED, FAILED, or RUNNING (a plain dbt run in progress)
    selection: str | None
    published: bool  # a complete load: its window's days are published (the view pipeline_loads says)
    rows_written: Mapping[str, int]
    anomalies: tuple[str, ...]
    error: str | None
    allowed_gap: bool

    @property
    def by_plain_dbt(self) -> bool:
        return self.execution.startswith(PLAIN_DBT_PREFIX)

    def to_dict(self) -> dict[str, Any]:
        return {
            "execution": self.execution,
            "window": str(self.window),
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat() if self.finished else None,
            "status": self.status,
            "selection": self.selection,
            "published": self.published,
            "rows_written": dict(self.rows_written),
            "anomalies": list(self.anomalies),
            "error": self.error,
            "allowed_gap": self.allowed_gap,
        }


@dataclass(frozen=True)
class DataAsOf:
    """What the reports hold: the last day of the newest complete load, and which execution wrote it."""

    day: date
    execution: str
    finished: datetime  # UTC
    anomalies: int

    def line(self) -> str:
        warned = f", published with {self.anomalies} volume warning(s)" if self.anomalies else ""
        return f"data as of {self.day}: execution {self.execution} finished {self.finished:%Y-%m-%d %H:%M} UTC{warned}"


class Ledger:
    """The ledger of one warehouse; every answer is one small query (bounded by a day or a window)."""

    def __init__(self, warehouse: Backend) -> None:
        self._warehouse = warehouse
        self._state: LedgerState | None = None

    def describe(self) -> str:
        return self._warehouse.describe()

    def state(self) -> LedgerState:
        """EMPTY when nothing was ever recorded; raises `LedgerOutdated` for a run log without the view."""
        if self._state is None:
            self._state = self._read_state()
        return self._state

    def last_loaded_day(self) -> date | None:
        """The end of the newest complete load, or None when the warehouse holds none."""
        if self.state() is LedgerState.EMPTY:
            return None
        rows = self._rows(f"select max(window_end) as last_day from {self._relation(LOADS_VIEW)}")
        return rows[0]["last_day"] if rows else None

    def data_as_of(self) -> DataAsOf | None:
        """The newest complete load (by window end, then finish), or None."""
        if self.state() is LedgerState.EMPTY:
            return None
        rows = self._rows(
            f"select window_end, execution_name, finished_at, anomalies from {self._relation(LOADS_VIEW)} "
            "order by window_end desc, finished_at desc limit 1"
        )
        if not rows:
            return None
        row = rows[0]
        return DataAsOf(
            day=row["window_end"],
            execution=str(row["execution_name"]),
            finished=_utc(row["finished_at"]),
            anomalies=len(_json_list(row["anomalies"])),
        )

    def attempts(self, window: RefreshWindow) -> list[LedgerEntry]:
        """Every recorded attempt whose window overlaps `window`, oldest first."""
        if self.state() is LedgerState.EMPTY:
            return []
        return self._entries(
            "r.window_start <= cast(:last as date) and r.window_end >= cast(:first as date)",
            {"first": window.start.isoformat(), "last": window.end.isoformat()},
        )

    def since(self, moment: datetime) -> list[LedgerEntry]:
        """Every attempt started at or after `moment`, oldest first."""
        if self.state() is LedgerState.EMPTY:
            return []
        return self._entries(
            "r.started_at >= cast(:since as timestamp)",
            {"since": moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")},
        )

    def newest(self, limit: int) -> list[LedgerEntry]:
        """The `limit` newest attempts, oldest first (what `history` lists beside the executions)."""
        if self.state() is LedgerState.EMPTY:
            return []
        return self._entries("true", {}, newest=int(limit))

    def loaded_days(self, window: RefreshWindow) -> set[date]:
        """The days of `window` that a complete load holds."""
        return {
            day
            for entry in self.attempts(window)
            if entry.published
            for day in window.dates()
            if entry.window.start <= day <= entry.window.end
        }

    def _entries(
        self, condition: str, parameters: Mapping[str, object], newest: int | None = None
    ) -> list[LedgerEntry]:
        """The rows matching `condition` (all of them, or the `newest` few), oldest first."""
        runs, loads = self._relation(RUNS_TABLE), self._relation(LOADS_VIEW)
        order = "r.started_at, r.execution_name" if newest is None else "r.started_at desc, r.execution_name desc"
        rows = self._rows(
            f"select {', '.join(f'r.{name}' for name in _COLUMNS)}, "
            f"r.execution_name in (select execution_name from {loads}) as published "
            f"from {runs} as r where {condition} order by {order}" + ("" if newest is None else f" limit {newest}"),
            parameters,
        )
        entries = [_entry(row) for row in rows]
        return entries if newest is None else entries[::-1]

    def _read_state(self) -> LedgerState:
        if not self._warehouse.exists():
            return LedgerState.EMPTY
        rows = self._rows(
            "select table_name from information_schema.tables where table_schema = :schema "
            f"and table_name in ('{RUNS_TABLE}', '{LOADS_VIEW}')",
            {"schema": self._warehouse.schema},
        )
        found = {str(row["table_name"]) for row in rows}
        if RUNS_TABLE not in found:
            return LedgerState.EMPTY
        if LOADS_VIEW not in found:
            raise LedgerOutdated(
                f"{self.describe()} has the run log {RUNS_TABLE} but not its view {LOADS_VIEW} (an older version "
                f"wrote it): add the view with `dbt run-operation create_pipeline_runs` on that target, then retry"
            )
        return LedgerState.READY

    def _relation(self, name: str) -> str:
        return f"{self._warehouse.schema}.{name}"

    def _rows(self, sql: str, parameters: Mapping[str, object] | None = None) -> list[dict[str, Any]]:
        columns, rows = self._warehouse.fetch(sql, parameters or {})
        return [{name: convert(value, kind) for (name, kind), value in zip(columns, row, strict=True)} for row in rows]


def _entry(row: Mapping[str, Any]) -> LedgerEntry:
    counts = json.loads(row["rows_written"]) if row["rows_written"] else {}
    return LedgerEntry(
        execution=str(row["execution_name"]),
        window=RefreshWindow(row["window_start"], row["window_end"]),
        started=_utc(row["started_at"]),
        finished=_utc(row["finished_at"]) if row["finished_at"] is not None else None,
        status=str(row["status"]),
        selection=row["selection"],
        published=bool(row["published"]),
        rows_written={str(name): int(count) for name, count in counts.items()},
        anomalies=tuple(str(line) for line in _json_list(row["anomalies"])),
        error=row["error"],
        allowed_gap=bool(row["allowed_gap"]),
    )


def _json_list(text: str | None) -> Sequence[Any]:
    return json.loads(text) if text else []


def _utc(moment: datetime) -> datetime:
    """The run log's timestamps are UTC without a zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
