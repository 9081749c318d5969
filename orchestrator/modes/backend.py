"""What a mode is made of, for the commands: a `Backend` (see `orchestrator.modes`) and the `Session` it opens.

A command gets a `Backend` for its mode and never asks which one it has. The backend carries everything
that differs between the two:
- the execution history (`orchestrator.executions.history`): Step Functions itself, or the local journal;
- the warehouse (`orchestrator.warehouse.open_warehouse`, by the mode): the reports read it, and the ledger of
  loads on it (`orchestrator.ledger`) says what is loaded, so `run`, `status` and `report` read the same one;
- where the extracts land (the landing S3 folder, or the data directory) and how often to look;
- the lock held while executions run: none on AWS (the launcher's overlap guard serializes executions),
  the data directory's lock locally, so two local runs never load the same warehouse at once (the second
  is refused and names the first);
- the checks only a local run can make before it starts (the window lies in the landing data at hand);
- `open()`, the `Session` of the state machine to drive: the deployed one, or one deployed into the
  local emulator for this command after `dbt parse` (run when target/manifest.json is missing or stale,
  as the container image build does for AWS);
- what stopping the watch does (`Interruption`): on AWS the execution goes on; locally it lives inside the
  command, so it is stopped and recorded.
"""

from __future__ import annotations

import contextlib
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

from orchestrator import settings
from orchestrator.config import Config, Mode
from orchestrator.definition.graph import DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.errors import WatchDeadlineExceeded
from orchestrator.executions import launcher
from orchestrator.executions.history import ExecutionHistory
from orchestrator.executions.launcher import ExecutionResult
from orchestrator.landing import gate as landing_gate
from orchestrator.protocol import START_SETTLE_SECONDS, ExecutionRequest
from orchestrator.runtime import step_functions
from orchestrator.runtime.step_functions import ExecutionRef
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

    from orchestrator.ledger import Ledger
    from orchestrator.reports import ReportConnection


class Interruption(StrEnum):
    """What stopping the watch (Ctrl-C, --timeout) does to the execution being watched."""

    LEAVE_RUNNING = "leave running"  # on AWS: the execution goes on; say how to find it again
    STOP_AND_RECORD = "stop and record"  # locally: the emulator ends with the command, so stop it first


LOCAL_MAX_POLL_SECONDS = 0.25  # local polls are in-process HTTP calls: watch closely, so the end is seen at once
AWS_MAX_POLL_SECONDS = 5.0
LOCAL_LANDING_POLL_SECONDS = 1.0  # a local look at the landing is a few stats
AWS_LANDING_POLL_SECONDS = 15.0  # on AWS, S3 requests
# a stopped local execution ends once the task that was running has finished (as long as LocalAws waits for it)
STOP_WAIT_SECONDS = 600.0


@dataclass(frozen=True)
class Session:
    """A state machine to drive for the length of a command."""

    sfn: SFNClient
    state_machine_arn: str
    history: ExecutionHistory
    interruption: Interruption
    max_poll_seconds: float = AWS_MAX_POLL_SECONDS
    # on AWS other launchers may start overlapping windows at the same instant; a local run holds the data
    # directory's lock, so no other local launch can (see orchestrator.runtime.step_functions)
    start_settle_seconds: float = START_SETTLE_SECONDS
    project_graph: DbtGraph | None = None
    # told the name of each execution started: locally, the run's lock names it to the readers waiting for it
    announce: Callable[[str], None] | None = None
    # the options that find this state machine again (on AWS: `--aws` and the configuration file read), for the
    # `watch` command a stopped watch prints
    watch_options: str = ""

    def graph(self) -> DbtGraph:
        """The dbt project's graph: locally the one the emulator deployed (the project parsed for this
        command), on AWS read from target/manifest.json. A command reads the manifest once."""
        if self.project_graph is not None:
            return self.project_graph
        return DbtGraph.from_manifest(load_manifest(settings.project_dir()))

    def start(self, request: ExecutionRequest) -> ExecutionRef:
        """Start an execution of the request, guarded against overlapping windows."""
        ref = step_functions.start(
            self.sfn,
            self.state_machine_arn,
            request,
            self.history.names(),
            settle_seconds=self.start_settle_seconds,
        )
        if self.announce is not None:
            self.announce(ref.name)
        return ref

    def stop_watching(self, ref: ExecutionRef, stopped: KeyboardInterrupt | WatchDeadlineExceeded) -> ExecutionResult:
        """The watch of `ref` was interrupted: on AWS leave the execution running (raising `stopped` again);
        locally stop it, wait for the task that is running to finish, and return it as recorded (ABORTED)."""
        if self.interruption is Interruption.LEAVE_RUNNING:
            if isinstance(stopped, KeyboardInterrupt):  # a watch out of time says so in its own error line
                print(
                    f"\nstopped watching; {ref.name} goes on. Watch it again with `python -m orchestrator watch "
                    f"{ref.name}{self.watch_options}` or stop it with `aws stepfunctions stop-execution "
                    f"--execution-arn {ref.arn}`",
                    file=sys.stderr,
                )
            raise stopped
        reason = "Ctrl-C" if isinstance(stopped, KeyboardInterrupt) else "its --timeout"
        print(
            f"\nstopping {ref.name} ({reason}): the local execution runs inside this command, so it is stopped with it "
            "once the task that is running has finished, and recorded as ABORTED",
            file=sys.stderr,
            flush=True,
        )
        self.sfn.stop_execution(executionArn=ref.arn, error="Local.Stopped", cause=f"stopped by {reason}")
        result = launcher.watch(self.sfn, ref.arn, deadline_seconds=STOP_WAIT_SECONDS)
        self.history.record(result)
        return result


class Backend(ABC):
    """What differs between AWS and local mode, for the commands (see the module's docstring)."""

    mode: Mode
    landing_poll_seconds: float

    def __init__(self, config: Config) -> None:
        self.config = config

    def reports(self, *, timeout_seconds: float, secret_arn: str | None = None) -> ReportConnection:
        """The reports on the warehouse this mode's pipeline loads (`orchestrator.warehouse.open_warehouse`, by the
        mode): what `run` loads is what `report` reads."""
        from orchestrator.reports import ReportConnection
        from orchestrator.warehouse import open_warehouse

        return ReportConnection(
            open_warehouse(self.mode, config=self.config, secret_arn=secret_arn, timeout_seconds=timeout_seconds)
        )

    @cached_property
    def ledger(self) -> Ledger:
        """The warehouse's ledger of loads: what is loaded, when, by which execution. It never waits for a local
        run (`run` and `backfill` read it under their own lock; `status` and `history` read it as it is)."""
        from orchestrator.ledger import Ledger
        from orchestrator.warehouse import open_warehouse

        return Ledger(open_warehouse(self.mode, config=self.config, wait_for_local_run=False))

    @property
    @abstractmethod
    def knows_landing(self) -> bool:
        """Whether `landing()` can say which days have landed (on AWS only with the landing S3 folder)."""

    @property
    @abstractmethod
    def history(self) -> ExecutionHistory:
        """The executions run so far."""

    @abstractmethod
    def landing(self) -> landing_gate.LandingStore:
        """Where the extracts land."""

    @abstractmethod
    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Held while this command's executions run."""

    @abstractmethod
    def check_can_run(self) -> None:
        """Refuse, before anything is read, to start executions this mode has no state machine for."""

    @abstractmethod
    def check_window(self, window: RefreshWindow, *, full_refresh: bool = False) -> None:
        """Refuse, before anything starts, a window this mode can tell is wrong."""

    @abstractmethod
    def check_detached(self) -> None:
        """Refuse --no-wait where the execution cannot outlive the command."""

    @abstractmethod
    def running(self) -> str | None:
        """Who runs the pipeline now when only this machine can know (a local run's `pid N`), else None."""

    @abstractmethod
    def open(self, windows: Sequence[RefreshWindow] = ()) -> contextlib.AbstractContextManager[Session]:
        """The state machine to drive, for `windows` (the windows this command will run)."""
