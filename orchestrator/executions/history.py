"""Past executions, wherever they are kept: Step Functions itself on AWS, the local journal on this machine.

The commands ask the same questions in both modes (what ran recently, what ran for a window, what failed and
can be resumed, what tried a day); `ExecutionHistory` is those questions, answered by
`StepFunctionsHistory` (the service keeps every execution and its events) and by `JournalHistory` (the
local emulator lives only as long as its command, so each local execution is recorded once it ends,
`orchestrator.executions.journal`). The commands never ask which one they have.

The history is the truth of what is running and where a failed execution stopped; what is LOADED is the
warehouse's ledger's to say (`orchestrator.ledger`), which every load writes, plain dbt included.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from orchestrator.errors import UsageError
from orchestrator.executions import launcher
from orchestrator.executions.journal import Journal
from orchestrator.executions.launcher import ExecutionResult, ProgressCallback
from orchestrator.runtime import step_functions
from orchestrator.runtime.step_functions import ExecutionRef, ExecutionStatus
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

RESUMABLE = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED})
RECORD_READ_SECONDS = 60  # reading a finished execution's events: never a wait for it to end


class ExecutionHistory(Protocol):
    def names(self) -> list[str]:
        """Execution names already taken that the service does not list (step_functions.start counts attempts)."""
        ...

    def recent(self, limit: int) -> list[ExecutionRef]:
        """The newest `limit` executions, newest first."""
        ...

    def follow(
        self, name_or_arn: str, deadline_seconds: float, on_progress: ProgressCallback | None = None
    ) -> ExecutionResult:
        """An execution to its end (watched while it runs)."""
        ...

    def finished(self, name_or_arn: str, deadline_seconds: float) -> ExecutionResult:
        """An execution that has ended (UsageError while it runs): what `resume` starts from."""
        ...

    def of_windows(self, windows: Collection[RefreshWindow]) -> dict[RefreshWindow, list[ExecutionResult]]:
        """The ended executions of these windows, grouped by window, oldest first."""
        ...

    def covering(self, window: RefreshWindow) -> list[ExecutionResult]:
        """Every execution whose window overlaps `window` (a day: holds it), as it is now (running or not), oldest
        first."""
        ...

    def record(self, result: ExecutionResult) -> None:
        """Keep an execution that has ended where the next command finds it."""
        ...


def by_window(records: Sequence[ExecutionResult]) -> dict[RefreshWindow, list[ExecutionResult]]:
    """Executions grouped by their window, oldest first (those not started by this orchestrator left out)."""
    runs: dict[RefreshWindow, list[ExecutionResult]] = {}
    for record in sorted(records, key=lambda item: item.ref.started):
        if record.request is not None:
            runs.setdefault(record.request.window, []).append(record)
    return runs


@dataclass(frozen=True)
class JournalHistory:
    """Local executions: each recorded by the command that ran it, so every record is of an ended execution."""

    journal: Journal

    def names(self) -> list[str]:
        return self.journal.names()

    def recent(self, limit: int) -> list[ExecutionRef]:
        return self.journal.executions()[:limit]

    def follow(
        self, name_or_arn: str, deadline_seconds: float, on_progress: ProgressCallback | None = None
    ) -> ExecutionResult:
        return self.journal.load(name_or_arn)

    def finished(self, name_or_arn: str, deadline_seconds: float) -> ExecutionResult:
        return self.journal.load(name_or_arn)

    def of_windows(self, windows: Collection[RefreshWindow]) -> dict[RefreshWindow, list[ExecutionResult]]:
        runs = by_window(self._every_record())
        return {window: attempts for window, attempts in runs.items() if window in windows}

    def covering(self, window: RefreshWindow) -> list[ExecutionResult]:
        return [self.journal.load(ref.name) for ref in _oldest_first(_overlapping(self.journal.executions(), window))]

    def record(self, result: ExecutionResult) -> None:
        self.journal.save(result)

    def _every_record(self) -> list[ExecutionResult]:
        return [self.journal.load(name) for name in self.journal.names()]


@dataclass(frozen=True)
class StepFunctionsHistory:
    """Executions of the deployed state machine, read from Step Functions."""

    sfn: SFNClient
    state_machine_arn: str

    def names(self) -> list[str]:
        return []  # Step Functions lists every execution itself

    def recent(self, limit: int) -> list[ExecutionRef]:
        return list(itertools.islice(step_functions.list_executions(self.sfn, self.state_machine_arn), limit))

    def follow(
        self, name_or_arn: str, deadline_seconds: float, on_progress: ProgressCallback | None = None
    ) -> ExecutionResult:
        arn = step_functions.resolve_execution(self.sfn, self.state_machine_arn, name_or_arn)
        return launcher.watch(self.sfn, arn, deadline_seconds=deadline_seconds, on_progress=on_progress)

    def finished(self, name_or_arn: str, deadline_seconds: float) -> ExecutionResult:
        arn = step_functions.resolve_execution(self.sfn, self.state_machine_arn, name_or_arn)
        if step_functions.describe(self.sfn, arn)["status"] == ExecutionStatus.RUNNING:
            raise UsageError(f"execution {name_or_arn} is still RUNNING: watch it, and resume it only if it fails")
        return launcher.watch(self.sfn, arn, deadline_seconds=deadline_seconds)

    def of_windows(self, windows: Collection[RefreshWindow]) -> dict[RefreshWindow, list[ExecutionResult]]:
        return by_window(
            [
                launcher.watch(self.sfn, ref.arn, deadline_seconds=RECORD_READ_SECONDS)
                for ref in step_functions.list_executions(self.sfn, self.state_machine_arn)
                if ref.window in windows and ref.status is not ExecutionStatus.RUNNING
            ]
        )

    def covering(self, window: RefreshWindow) -> list[ExecutionResult]:
        refs = _overlapping(step_functions.list_executions(self.sfn, self.state_machine_arn), window)
        return [launcher.snapshot(self.sfn, ref.arn) for ref in _oldest_first(refs)]

    def record(self, result: ExecutionResult) -> None:
        """Nothing to do: Step Functions keeps every execution and its events."""


def _overlapping(refs: Iterable[ExecutionRef], window: RefreshWindow) -> list[ExecutionRef]:
    return [ref for ref in refs if ref.window is not None and ref.window.overlaps(window)]


def _oldest_first(refs: Sequence[ExecutionRef]) -> list[ExecutionRef]:
    return sorted(refs, key=lambda ref: ref.started)
