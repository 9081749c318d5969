"""The run log: the row each execution writes to `pipeline_runs` in the warehouse (macros/pipeline_runs.sql).

The state machine ends both of its paths with a Lambda invoke of the runner whose payload is
`{"record_run": {...}}` (`orchestrator.definition.state_machine`): the execution's name and start, its status
(SUCCEEDED, or FAILED with the failing task's error), the window and selection from its input, and the
task summaries. The runner turns them into one row (the anomalies the reports published with, the
database user) and inserts it with `dbt run-operation record_pipeline_run`, through the same profile, lock
and parsed manifest as the builds; the macro counts the rows each windowed model holds for the window.
A failed record fails that state only: the definition catches it, so the execution's outcome is what its
tasks made it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.errors import RunnerPayloadError, RunRecordFailed
from orchestrator.runtime.failure import describe as describe_failure
from orchestrator.runtime.runner import (
    RunnerConfig,
    common_args,
    dbt_error_text,
    parsed_manifest,
    scratch_dir,
    warehouse_session,
)
from orchestrator.window import RefreshWindow

RECORD_MACRO = "record_pipeline_run"
ERROR_LIMIT = 4000
ANOMALIES_LIMIT = 60_000  # Redshift's varchar(65535) counts bytes


@dataclass(frozen=True)
class RunRecord:
    """One row of `pipeline_runs`."""

    execution: str
    window: RefreshWindow
    started: datetime
    finished: datetime
    status: str
    selection: tuple[str, ...] | None
    database_user: str | None
    anomalies: tuple[str, ...]
    error: str | None
    completes_window: bool
    allowed_gap: bool

    @classmethod
    def from_event(cls, event: Mapping[str, Any], finished: datetime) -> RunRecord:
        """From the definition's `record_run` payload; `finished` is now (UTC)."""
        try:
            window = event["refresh_window"]
            nodes = event.get("nodes")
            summaries = [s for s in (event.get("results") or {}).values() if isinstance(s, Mapping)]
            error = event.get("error")
            return cls(
                execution=str(event["execution"]),
                window=RefreshWindow.parse(str(window["start"]), str(window["end"])),
                started=_instant(str(event["started"])),
                finished=finished,
                status=str(event["status"]),
                selection=None if nodes is None else tuple(str(n) for n in nodes),
                database_user=next((str(s["database_user"]) for s in summaries if s.get("database_user")), None),
                anomalies=tuple(str(line) for s in summaries for line in s.get("warnings") or ()),
                error=None if not error else _error_text(error),
                completes_window=bool(event.get("completes_window", nodes is None)),
                allowed_gap=bool(event.get("allow_gap", False)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise RunnerPayloadError(
                f"record_run payload is missing or has a malformed {error}: expected execution, started, status, "
                "refresh_window{start,end}, nodes, completes_window, allow_gap, results "
                "(see orchestrator.definition.state_machine._record_state)"
            ) from None

    def macro_args(self) -> dict[str, Any]:
        """The `run` argument of the record_pipeline_run macro: every value a string or null."""
        anomalies = json.dumps(list(self.anomalies))
        if len(anomalies) > ANOMALIES_LIMIT:
            anomalies = json.dumps([f"{len(self.anomalies)} anomalies, too long to record: see the execution's output"])
        return {
            "anomalies": anomalies,
            "database_user": self.database_user,
            "error": self.error,
            "execution_name": self.execution,
            "finished_at": _timestamp(self.finished),
            "selection": None if self.selection is None else ",".join(self.selection),
            "started_at": _timestamp(self.started),
            "status": self.status,
            "window_end": self.window.end.isoformat(),
            "window_start": self.window.start.isoformat(),
            "completes_window": "true" if self.completes_window else "false",
            "allowed_gap": "true" if self.allowed_gap else "false",
        }


def record_run(record: RunRecord, config: RunnerConfig) -> dict[str, Any]:
    """Insert `record` into the warehouse's pipeline_runs; raise `RunRecordFailed` when dbt could not."""
    from dbt.cli.main import dbtRunner

    with scratch_dir(config, "record") as work, warehouse_session(config):
        manifest = parsed_manifest(config, work)
        arguments = json.dumps({"run": record.macro_args()})
        args = ["--log-level", "none", "--no-write-json", "run-operation", RECORD_MACRO, "--args", arguments]
        outcome = dbtRunner(manifest=manifest).invoke([*args, *common_args(config, work)])
    if not outcome.success:
        cause = dbt_error_text(outcome.exception) if outcome.exception else "the macro failed (see dbt's log)"
        raise RunRecordFailed(
            f"execution {record.execution}: its row could not be written to pipeline_runs: {cause}; "
            "check the runner's database user may create and insert into a table in the target schema"
        )
    return {"recorded": record.execution, "status": record.status}


def _error_text(error: Mapping[str, Any]) -> str:
    """`<Error>: <the failure's one line>` (orchestrator.runtime.failure: no Lambda JSON error, no stack trace)."""
    line = describe_failure("", error).line
    return f"{error.get('Error') or 'unknown error'}: {line}"[:ERROR_LIMIT]


def _instant(text: str) -> datetime:
    """An ISO 8601 instant (Step Functions' `$$.Execution.StartTime`) in UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def now() -> datetime:
    return datetime.now(UTC)
