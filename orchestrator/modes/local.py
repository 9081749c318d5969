"""Local mode: this machine (the local emulator, the data directory's landing and lock, the local journal, the
DuckDB file)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from orchestrator import extras, file_lock, settings
from orchestrator.config import Config, Mode
from orchestrator.errors import DataDirError, ExecutionConflict, ManifestError, UsageError
from orchestrator.executions.history import JournalHistory
from orchestrator.executions.journal import Journal
from orchestrator.landing import gate as landing_gate
from orchestrator.modes.backend import (
    LOCAL_LANDING_POLL_SECONDS,
    LOCAL_MAX_POLL_SECONDS,
    Backend,
    Interruption,
    Session,
)
from orchestrator.window import RefreshWindow


class LocalBackend(Backend):
    """This machine: the local emulator, the data directory's landing and lock, the local journal."""

    mode = Mode.LOCAL
    landing_poll_seconds = LOCAL_LANDING_POLL_SECONDS
    knows_landing = True

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self._held: file_lock.HeldLock | None = None  # the pipeline lock, while `exclusive` holds it

    @cached_property
    def history(self) -> JournalHistory:
        return JournalHistory(journal())

    def landing(self) -> landing_gate.LandingStore:
        return landing_gate.LocalLanding(settings.data_dir())

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

    def check_can_run(self) -> None:
        """The local emulator deploys the state machine for each command."""

    def check_window(self, window: RefreshWindow, *, full_refresh: bool = False) -> None:
        """The landing data is at hand: a window outside it, or a full refresh that would drop the history
        before it, is refused before anything starts."""
        from orchestrator.landing.date_range import landing_date_range

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
