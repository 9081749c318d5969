"""AWS mode: the deployed stack (its state machine, the landing S3 folder, Step Functions' own history, the
Redshift warehouse its runner loads)."""

from __future__ import annotations

import contextlib
import shlex
from collections.abc import Iterator, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from orchestrator.aws import aws_client
from orchestrator.config import Mode
from orchestrator.executions.history import StepFunctionsHistory
from orchestrator.landing import gate as landing_gate
from orchestrator.modes.backend import AWS_LANDING_POLL_SECONDS, Backend, Interruption, Session
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class AwsBackend(Backend):
    """The deployed stack: its state machine, the landing S3 folder, Step Functions' own history."""

    mode = Mode.AWS
    landing_poll_seconds = AWS_LANDING_POLL_SECONDS

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

    def exclusive(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # the launcher's overlap guard serializes executions

    def check_can_run(self) -> None:
        self.config.require("state_machine_arn")

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
