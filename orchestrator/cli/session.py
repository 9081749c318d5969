"""Where commands act: the deployed state machine on AWS, or the local emulator on this machine.

`open_session` gives every command the same things (a Step Functions client and the state
machine's ARN) so that launching, watching and resuming are one code path. Local mode also has:
- the journal of finished local executions (`orchestrator.executions.journal`);
- a lock on the data directory held while a local execution runs, so two local runs never load the
  same warehouse at once (the second is refused and names the first);
- a parsed dbt project: `dbt parse` runs first when target/manifest.json is missing or stale, as the
  container image build does for AWS.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator import settings
from orchestrator.aws import aws_client
from orchestrator.config import Config
from orchestrator.definition.graph import DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.errors import DataDirError, ExecutionConflict, ManifestError
from orchestrator.executions import launcher
from orchestrator.executions.journal import Journal
from orchestrator.executions.launcher import ExecutionRef
from orchestrator.protocol import START_SETTLE_SECONDS, ExecutionRequest
from orchestrator.runtime import file_lock
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

LOCK_FILE_NAME = ".pipeline.lock"


class Mode(StrEnum):
    LOCAL = "local"
    AWS = "aws"


LOCAL_MAX_POLL_SECONDS = 0.25  # local polls are in-process HTTP calls: watch closely, so the end is seen at once
AWS_MAX_POLL_SECONDS = 5.0


@dataclass(frozen=True)
class Session:
    mode: Mode
    sfn: SFNClient
    state_machine_arn: str
    config: Config
    journal: Journal | None = None
    max_poll_seconds: float = AWS_MAX_POLL_SECONDS
    # on AWS other launchers may start overlapping windows at the same instant; a local run holds the data
    # directory's lock, so no other local launch can (see orchestrator.executions.launcher)
    start_settle_seconds: float = START_SETTLE_SECONDS
    project_graph: DbtGraph | None = None

    def graph(self) -> DbtGraph:
        """The dbt project's graph: locally the one the emulator deployed (the project parsed for this
        command), on AWS read from target/manifest.json. A command reads the manifest once."""
        if self.project_graph is not None:
            return self.project_graph
        return DbtGraph.from_manifest(load_manifest(settings.project_dir()))

    def known_names(self) -> list[str]:
        return self.journal.names() if self.journal is not None else []

    def start(self, request: ExecutionRequest) -> ExecutionRef:
        """Start an execution of the request, guarded against overlapping windows."""
        return launcher.start(
            self.sfn, self.state_machine_arn, request, self.known_names(), settle_seconds=self.start_settle_seconds
        )


def resolve_mode(requested: Mode | None, config: Config) -> Mode:
    """An explicit --local/--aws wins; otherwise AWS when a state machine ARN is configured."""
    if requested is not None:
        return requested
    return Mode.AWS if config.has_aws else Mode.LOCAL


def ensure_parsed(project_dir: Path) -> Any:
    """Parse the dbt project (partially: cheap when nothing changed) with the environment the runners get;
    returns dbt's Manifest, which the local emulator's in-process runner reuses instead of parsing again.

    dbt discards `partial_parse.msgpack` when the rendered profile differs ("profile has changed"), so a
    parse made with other warehouse paths would cost every task a full parse; parsing here with
    `settings.dbt_environment()` lets every task reuse it, as the image's build-time parse does on AWS.
    """
    from dbt.cli.main import dbtRunner

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
    return Journal(settings.data_dir() / "executions")


def local_run_holder(directory: Path | None = None) -> str | None:
    """Who holds the data directory's pipeline lock (`pid N`), or None when no local run is in progress."""
    return file_lock.holder((directory or settings.data_dir()) / LOCK_FILE_NAME)


@contextlib.contextmanager
def local_run_lock(directory: Path | None = None) -> Iterator[None]:
    """Hold the data directory's pipeline lock (a local run, or sample-data rewriting the extracts),
    or refuse naming the process that holds it."""
    directory = directory or settings.data_dir()

    def refuse(holder: str) -> ExecutionConflict:
        return ExecutionConflict(
            f"a local pipeline run is already in progress ({holder}) on {directory}: "
            "wait for it to finish, then look at it with `python -m orchestrator history`"
        )

    path = directory / LOCK_FILE_NAME
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as error:
        raise DataDirError(f"cannot lock the data directory {directory}: {error.strerror}") from None
    with file_lock.exclusive(path, refuse):
        yield


@contextlib.contextmanager
def open_session(mode: Mode, config: Config, windows: Sequence[RefreshWindow] = ()) -> Iterator[Session]:
    """The state machine to drive: deployed on AWS, or deployed into the local emulator for this command.

    `windows`: locally, the windows this command will run; when none of them can reach an ECS task, the
    emulator deploys no ECS (moto's ECS backend alone costs a second of every command's start)."""
    if mode is Mode.AWS:
        yield Session(mode, aws_client("stepfunctions", config), config.require("state_machine_arn"), config)
        return
    from orchestrator.local.emulator import LocalAws, LocalOptions

    project_dir = settings.project_dir()
    manifest = ensure_parsed(project_dir)
    options = LocalOptions(project_dir=project_dir, parsed_manifest=manifest, windows=tuple(windows))
    with LocalAws(options) as aws:
        yield Session(
            mode,
            aws.client("stepfunctions"),
            aws.state_machine_arn,
            config,
            journal(),
            LOCAL_MAX_POLL_SECONDS,
            start_settle_seconds=0.0,
            project_graph=aws.graph,
        )
