"""The one contract between the generated definition, the launcher and the runner.

Everything that crosses a process or service boundary is defined here, once:
- the execution input (`ExecutionRequest`, `INPUT_KEYS`): what the launcher starts an execution with and
  what the definition's `Initialize` state passes on;
- the task request (`TaskRequest`): the payload a Lambda task receives (`from_event`), or the environment
  an ECS container gets (`from_env`, the `ENV_*` names);
- the task summary (`TaskSummary`, `SUMMARY_KEYS`, `TASK_SUMMARY_MARKERS`): what a task returns, which
  the definition selects and the CLI displays;
- the overlap guard's timing (`START_SETTLE_SECONDS`, `ADMISSION_SECONDS`): what the launcher's check after
  a start and the definition's `Admission` state must agree on;
- the run record key (`RECORD_RUN_KEY`): the payload of the execution's last state (orchestrator.runtime.run_record),
  and the failure key (`DESCRIBE_FAILURE_KEY`): the payload of the state that words a failure's alert
  (orchestrator.runtime.failure);
- the error names Retry and Catch match: the class names of `orchestrator.errors.RunnerError` leaves
  (`RUNNER_TRANSIENT_ERROR` is the one retried, `RUNNER_TIMED_OUT_ERROR` the one sent on to ECS).

It imports only the settings, the window and the errors, so the runtime (runner, Lambda handler) loads nothing of the
definition generator, the local emulator or the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from orchestrator import settings
from orchestrator.errors import DbtTaskTimedOut, DbtTransientError, RunnerPayloadError, UsageError
from orchestrator.window import FULL_TESTS_ENV, WINDOW_END_ENV, WINDOW_START_ENV, RefreshWindow

# dbt resource types: the nodes a task builds (its summary's `models`) and the tests it runs (`tests`)
ORCHESTRATED_TYPES = frozenset({"model", "seed", "snapshot"})
TEST_TYPES = frozenset({"test", "unit_test"})

RUNNER_TRANSIENT_ERROR = DbtTransientError.__name__
RUNNER_TIMED_OUT_ERROR = DbtTaskTimedOut.__name__  # a Lambda task at its deadline: the definition reruns it on ECS
# The overlap guard (orchestrator.runtime.step_functions.start): after starting its execution a launcher waits
# START_SETTLE_SECONDS, so that every start made at the same instant is listed (ListExecutions is eventually
# consistent), then stops its own execution when an overlapping RUNNING one goes first. The deployed definition
# holds each execution in its first state, `Admission`, for ADMISSION_SECONDS, well beyond that check, so an
# execution stopped by the guard has run no task.
START_SETTLE_SECONDS = 2.0
ADMISSION_SECONDS = 10
OVERLAP_STOP_ERROR = "OverlappingExecution"
RECORD_RUN_KEY = "record_run"
DESCRIBE_FAILURE_KEY = "describe_failure"  # the payload of `Describe failure` (orchestrator.runtime.failure)
INPUT_KEYS = (
    "refresh_window",
    "window_days",
    "full_refresh",
    "full_tests",
    "nodes",
    "allow_missing",
    "completes_window",
    "allow_gap",
)
SUMMARY_KEYS = (
    "task",
    "status",
    "models",
    "tests",
    "seconds",
    "database_user",
    "invocation_id",
    "refresh_window",
    "artifacts",
    "landing_missing",
    "warnings",
)
TASK_SUMMARY_MARKERS = frozenset({"task", "status", "models", "invocation_id"})

# Environment variables of the ECS container (read by `python -m orchestrator.runtime.runner`; what each
# accepts: orchestrator.settings)
ENV_TASK_TOKEN = settings.TASK_TOKEN.name
ENV_TASK = settings.TASK.name
ENV_MODELS = settings.MODELS.name
ENV_EXTRA_TESTS = settings.EXTRA_TESTS.name
ENV_FULL_REFRESH = settings.FULL_REFRESH.name
ENV_NODES = settings.NODES.name
ENV_ALLOW_MISSING = settings.ALLOW_MISSING.name
ENV_EXECUTION = settings.EXECUTION.name
ENV_ARTIFACTS_BUCKET = settings.ARTIFACTS_BUCKET.name
ENV_ARTIFACTS_PREFIX = settings.ARTIFACTS_PREFIX.name
ENV_HEARTBEAT_SECONDS = settings.HEARTBEAT_SECONDS.name


@dataclass(frozen=True)
class ExecutionRequest:
    """What one execution should do: the state machine's input, keys `INPUT_KEYS`."""

    window: RefreshWindow
    full_refresh: bool = False
    nodes: tuple[str, ...] | None = None
    full_tests: bool = False
    allow_missing: tuple[str, ...] = ()
    # a resume of a run of every model: its nodes are what that run did not finish (see completes_window)
    resumes_complete_load: bool = False
    allow_gap: bool = False  # started with --allow-gap: landed days before the window were left unloaded

    @property
    def completes_window(self) -> bool:
        """Does a success leave every model of the window loaded? A run without selection does, and so does a
        resume of one; the ledger counts only those as loads (input key `completes_window`)."""
        return self.nodes is None or self.resumes_complete_load

    def to_input(self) -> str:
        return json.dumps(
            {
                "refresh_window": {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()},
                "window_days": self.window.days,
                "full_refresh": self.full_refresh,
                "full_tests": self.full_tests,
                "nodes": list(self.nodes) if self.nodes is not None else None,
                "allow_missing": list(self.allow_missing),
                "completes_window": self.completes_window,
                "allow_gap": self.allow_gap,
            },
            sort_keys=True,
        )

    @classmethod
    def from_input(cls, text: str | None) -> ExecutionRequest | None:
        """The request behind an execution's input, or None when the input is not ours."""
        try:
            document = json.loads(text or "")
            window = document["refresh_window"]
            nodes = document.get("nodes")
            return cls(
                window=RefreshWindow(date.fromisoformat(window["start"]), date.fromisoformat(window["end"])),
                full_refresh=bool(document.get("full_refresh", False)),
                nodes=tuple(nodes) if nodes is not None else None,
                full_tests=bool(document.get("full_tests", False)),
                allow_missing=tuple(str(e) for e in document.get("allow_missing") or ()),
                resumes_complete_load=nodes is not None and bool(document.get("completes_window", False)),
                allow_gap=bool(document.get("allow_gap", False)),
            )
        except (ValueError, KeyError, TypeError, UsageError):
            return None


@dataclass(frozen=True)
class TaskRequest:
    """What one task must build (the state machine's payload)."""

    task: str
    models: tuple[str, ...]
    window: RefreshWindow
    execution: str
    full_refresh: bool = False
    nodes: tuple[str, ...] | None = None
    extra_tests: tuple[str, ...] = ()
    artifacts_bucket: str = ""
    artifacts_prefix: str = ""
    full_tests: bool = False
    allow_missing: tuple[str, ...] = ()
    # a Lambda task's state TimeoutSeconds (payload `time_limit_seconds`): the runner stops before it
    time_limit_seconds: float | None = None

    def dbt_environment(self) -> dict[str, str]:
        """The variables dbt reads at execution time: the window, whether tests check whole tables, and the
        execution the task belongs to (its dbt invocation is then not recorded on its own in the ledger)."""
        return {
            **self.window.as_env(),
            FULL_TESTS_ENV: "true" if self.full_tests else "false",
            ENV_EXECUTION: self.execution,
        }

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> TaskRequest:
        """From the Lambda payload."""
        try:
            window = event["refresh_window"]
            nodes = event.get("nodes")
            artifacts = event.get("artifacts") or {}
            limit = event.get("time_limit_seconds")
            return cls(
                task=str(event["task"]),
                models=tuple(str(m) for m in event["models"]),
                window=RefreshWindow.parse(str(window["start"]), str(window["end"])),
                execution=str(event["execution"]),
                full_refresh=bool(event.get("full_refresh") or False),
                nodes=None if nodes is None else tuple(str(n) for n in nodes),
                extra_tests=tuple(str(t) for t in event.get("extra_tests") or ()),
                artifacts_bucket=str(artifacts.get("bucket") or ""),
                artifacts_prefix=str(artifacts.get("prefix") or ""),
                full_tests=bool(event.get("full_tests") or False),
                allow_missing=tuple(str(e) for e in event.get("allow_missing") or ()),
                time_limit_seconds=None if limit is None else float(limit),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise RunnerPayloadError(
                f"task payload is missing or has a malformed {error}: expected task, models, "
                "refresh_window{start,end}, execution (see orchestrator.protocol)"
            ) from None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TaskRequest:
        """From the ECS container's environment."""
        try:
            nodes = json.loads(env.get(ENV_NODES) or "null")
            allow_missing = json.loads(env.get(ENV_ALLOW_MISSING) or "[]")
            return cls(
                task=env[ENV_TASK],
                models=tuple(env[ENV_MODELS].split()),
                window=RefreshWindow.parse(env[WINDOW_START_ENV], env[WINDOW_END_ENV]),
                execution=env.get(ENV_EXECUTION) or "manual",
                full_refresh=settings.FULL_REFRESH.flag(env),
                nodes=None if nodes is None else tuple(str(n) for n in nodes),
                extra_tests=tuple((env.get(ENV_EXTRA_TESTS) or "").split()),
                artifacts_bucket=env.get(ENV_ARTIFACTS_BUCKET, ""),
                artifacts_prefix=env.get(ENV_ARTIFACTS_PREFIX, ""),
                full_tests=settings.FULL_TESTS.flag(env),
                allow_missing=tuple(str(e) for e in allow_missing),
            )
        except KeyError as error:
            raise RunnerPayloadError(f"environment variable {error} is not set: the task cannot start") from None
        except json.JSONDecodeError as error:
            raise RunnerPayloadError(f"{ENV_NODES}/{ENV_ALLOW_MISSING} is not JSON: {error}") from None

    def selected_models(self) -> tuple[str, ...]:
        """The task's models that `nodes` asks for (names or unique ids), all when `nodes` is null."""
        if self.nodes is None:
            return self.models
        wanted = {n.rsplit(".", 1)[-1] for n in self.nodes} | set(self.nodes)
        return tuple(m for m in self.models if m in wanted)


@dataclass(frozen=True)
class TaskSummary:
    """The compact result a task returns to the state machine (well under 256 KiB)."""

    task: str
    status: str
    refresh_window: dict[str, str]
    models: list[dict[str, Any]] = field(default_factory=list)
    tests: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    database_user: str | None = None
    invocation_id: str | None = None
    artifacts: str | None = None
    landing_missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifacts": self.artifacts,
            "database_user": self.database_user,
            "invocation_id": self.invocation_id,
            "landing_missing": self.landing_missing,
            "models": self.models,
            "refresh_window": self.refresh_window,
            "seconds": self.seconds,
            "status": self.status,
            "task": self.task,
            "tests": self.tests,
            "warnings": self.warnings,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TaskSummary:
        return cls(
            task=str(data["task"]),
            status=str(data["status"]),
            refresh_window=dict(data["refresh_window"]),
            models=list(data.get("models") or []),
            tests=dict(data.get("tests") or {}),
            seconds=float(data.get("seconds") or 0.0),
            database_user=data.get("database_user"),
            invocation_id=data.get("invocation_id"),
            artifacts=data.get("artifacts"),
            landing_missing=list(data.get("landing_missing") or []),
            warnings=list(data.get("warnings") or []),
        )
