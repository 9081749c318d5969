"""Where commands act: the deployed state machine on AWS, or the local emulator on this machine.

A command gets a `Backend` for its mode and never asks which one it has. The backend carries everything
that differs between the two:
- the execution history (`orchestrator.executions.history`): Step Functions itself, or the local journal;
- the warehouse's ledger of loads (`orchestrator.ledger`): Redshift through the Data API when the
  configuration names a cluster or workgroup, else the local DuckDB file (the reports' rule,
  `orchestrator.warehouse.open_warehouse`), so `run`, `status` and `report` read the same warehouse;
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
import shlex
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator import file_lock, settings
from orchestrator.aws import aws_client
from orchestrator.cli import extras
from orchestrator.config import Config
from orchestrator.definition.graph import DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.errors import (
    DataDirError,
    ExecutionConflict,
    ManifestError,
    UsageError,
    WatchDeadlineExceeded,
)
from orchestrator.executions import launcher
from orchestrator.executions.history import (
    ExecutionHistory,
    JournalHistory,
    StepFunctionsHistory,
)
from orchestrator.executions.journal import Journal
from orchestrator.executions.launcher import ExecutionResult
from orchestrator.protocol import START_SETTLE_SECONDS, ExecutionRequest
from orchestrator.runtime import landing_gate, step_functions
from orchestrator.runtime.step_functions import ExecutionRef
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

    from orchestrator.ledger import Ledger


class Mode(StrEnum):
    LOCAL = "local"
    AWS = "aws"


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

    landing_poll_seconds: float

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

    @property
    @abstractmethod
    def ledger(self) -> Ledger:
        """The warehouse's ledger of loads: what is loaded, when, by which execution."""

    @abstractmethod
    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        """Held while this command's executions run."""

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


class AwsBackend(Backend):
    """The deployed stack: its state machine, the landing S3 folder, Step Functions' own history."""

    landing_poll_seconds = AWS_LANDING_POLL_SECONDS

    def __init__(self, config: Config) -> None:
        self.config = config

    @property
    def knows_landing(self) -> bool:
        return bool(self.config.landing_s3_uri)

    @cached_property
    def _sfn(self) -> SFNClient:
        return aws_client("stepfunctions", self.config.require("region"))

    @cached_property
    def history(self) -> StepFunctionsHistory:
        return StepFunctionsHistory(self._sfn, self.config.require("state_machine_arn"))

    def landing(self) -> landing_gate.LandingStore:
        uri = self.config.require("landing_s3_uri")  # the catch-up, --wait-for-landing and status read it
        return landing_gate.S3Landing(uri, aws_client("s3", self.config.require("region")))

    @cached_property
    def ledger(self) -> Ledger:
        from orchestrator.ledger import Ledger
        from orchestrator.warehouse import open_warehouse

        return Ledger(open_warehouse(config=self.config))

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # the launcher's overlap guard serializes executions

    def check_window(self, window: RefreshWindow, *, full_refresh: bool = False) -> None:
        """Nothing to check here: the landing is in S3, and each task's landing gate checks its window."""

    def check_detached(self) -> None:
        """The deployed execution outlives the command: --no-wait is fine."""

    def running(self) -> str | None:
        return None  # Step Functions lists running executions itself

    @contextlib.contextmanager
    def open(self, windows: Sequence[RefreshWindow] = ()) -> Iterator[Session]:
        history = self.history
        read = f" --config {shlex.quote(self.config.source)}" if self.config.source != "environment" else ""
        yield Session(
            self._sfn, history.state_machine_arn, history, Interruption.LEAVE_RUNNING, watch_options=f" --aws{read}"
        )


class LocalBackend(Backend):
    """This machine: the local emulator, the data directory's landing and lock, the local journal."""

    landing_poll_seconds = LOCAL_LANDING_POLL_SECONDS
    knows_landing = True

    def __init__(self) -> None:
        self._held: file_lock.HeldLock | None = None  # the pipeline lock, while `exclusive` holds it

    @cached_property
    def history(self) -> JournalHistory:
        return JournalHistory(journal())

    def landing(self) -> landing_gate.LandingStore:
        return landing_gate.LocalLanding(settings.data_dir())

    @cached_property
    def ledger(self) -> Ledger:
        from orchestrator.ledger import Ledger
        from orchestrator.warehouse import DuckDBBackend

        return Ledger(DuckDBBackend(settings.duckdb_path()))

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with local_run_lock() as held:
            self._held = held
            try:
                yield
            finally:
                self._held = None

    def _announce(self, execution: str) -> None:
        """Name the execution in the pipeline lock: `report` and `connect()` wait for it by name."""
        if self._held is not None:
            self._held.announce(execution)

    def check_window(self, window: RefreshWindow, *, full_refresh: bool = False) -> None:
        """The landing data is at hand: a window outside it, or a full refresh that would drop the history
        before it, is refused before anything starts."""
        from orchestrator.local.sample_data import landing_date_range

        available = landing_date_range(settings.data_dir())
        if window.start < available.start or window.end > available.end:
            raise UsageError(
                f"refresh window {window} is outside the landing data ({available}) in {settings.data_dir()}: "
                f"pick dates in that range or generate more data"
            )
        if full_refresh and window.start != available.start:
            raise UsageError(
                f"--full-refresh rebuilds every table from the window alone, so {window} would drop the history "
                f"before it: start the window at the first load date, {available.start}"
            )

    def check_detached(self) -> None:
        raise UsageError("--no-wait needs --aws: the local emulator lives only as long as this command")

    def running(self) -> str | None:
        return local_run_holder()

    @contextlib.contextmanager
    def open(self, windows: Sequence[RefreshWindow] = ()) -> Iterator[Session]:
        """The emulator, for this command. When none of `windows` can reach an ECS task, it deploys no ECS
        (moto's ECS backend alone costs a second of every command's start)."""
        from orchestrator.local.emulator import LocalAws, LocalOptions

        project_dir = settings.project_dir()
        manifest = ensure_parsed(project_dir)
        options = LocalOptions(project_dir=project_dir, parsed_manifest=manifest, windows=tuple(windows))
        with LocalAws(options) as aws:
            yield Session(
                aws.client("stepfunctions"),
                aws.state_machine_arn,
                self.history,
                Interruption.STOP_AND_RECORD,
                LOCAL_MAX_POLL_SECONDS,
                start_settle_seconds=0.0,
                project_graph=aws.graph,
                announce=self._announce,
            )


def resolve_mode(requested: Mode | None, config: Config) -> Mode:
    """An explicit --local/--aws wins; otherwise AWS when a state machine ARN is configured."""
    if requested is not None:
        return requested
    return Mode.AWS if config.has_aws else Mode.LOCAL


def backend(mode: Mode, config: Config) -> Backend:
    return AwsBackend(config) if mode is Mode.AWS else LocalBackend()


def ensure_parsed(project_dir: Path) -> Any:
    """Parse the dbt project (partially: cheap when nothing changed) with the environment the runners get;
    returns dbt's Manifest, which the local emulator's in-process runner reuses instead of parsing again.

    dbt discards `partial_parse.msgpack` when the rendered profile differs ("profile has changed"), so a
    parse made with other warehouse paths would cost every task a full parse; parsing here with
    `settings.dbt_environment()` lets every task reuse it, as the image's build-time parse does on AWS.
    """
    from dbt.cli.main import dbtRunner

    extras.require_target_adapter(settings.dbt_target())
    with settings.scoped_environment(settings.dbt_environment()):
        # the same arguments as the runner's: dbt counts an explicit --target in its partial-parse check
        result = dbtRunner().invoke(
            [
                "parse",
                "--project-dir",
                str(project_dir),
                "--profiles-dir",
                str(project_dir),
                "--target",
                settings.dbt_target(),
                "--quiet",
            ]
        )
    if not result.success:
        raise ManifestError(
            f"`dbt parse` failed in {project_dir}: {result.exception or 'see logs/dbt.log'}; fix the project"
        ) from None
    return result.result


def journal() -> Journal:
    """The local journal of executions, in the data directory."""
    return Journal(settings.data_dir() / "executions")


def local_run_holder(directory: Path | None = None) -> str | None:
    """Who holds the data directory's pipeline lock (`pid N`), or None when no local run is in progress."""
    found = file_lock.holder((directory or settings.data_dir()) / file_lock.PIPELINE_LOCK_FILE_NAME)
    return None if found is None else str(found)


@contextlib.contextmanager
def local_run_lock(directory: Path | None = None) -> Iterator[file_lock.HeldLock]:
    """Hold the data directory's pipeline lock (a local run, or sample-data rewriting the extracts),
    or refuse naming the process that holds it."""
    directory = directory or settings.data_dir()

    def refuse(holder: file_lock.Holder) -> ExecutionConflict:
        return ExecutionConflict(
            f"a local pipeline run is already in progress ({holder}) on {directory}: "
            "wait for it to finish, then look at it with `python -m orchestrator history`"
        )

    path = directory / file_lock.PIPELINE_LOCK_FILE_NAME
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as error:
        raise DataDirError(f"cannot lock the data directory {directory}: {error.strerror}") from None
    with file_lock.exclusive(path, refuse) as held:
        yield held
