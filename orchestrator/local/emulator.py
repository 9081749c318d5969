"""The local stand-in for AWS: the definition that would be deployed, run by moto's interpreter.

`LocalAws` puts together four parts, one module each:
- `orchestrator.local.moto_server`: moto's server on 127.0.0.1 (a free port) inside this process, with
  `orchestrator.local.moto_adapt` applied; while it is open every boto3 client of the process talks to it
  (AWS_ENDPOINT_URL), so the launcher needs no special case, and the warehouse and data paths
  (orchestrator.settings) are pinned as absolute environment variables, so in-process and subprocess
  runners load the same warehouse whatever their working directory;
- `orchestrator.local.resources`: what the CloudFormation stack would create (bucket, topic, runner
  function, ECS cluster and task definition when the command's windows can reach an ECS task: see
  `LocalOptions.windows`, and the state machine rendered from the dbt graph with their local ARNs);
- the runner function's invocations, answered IN this process by the runtime's Lambda handler (here);
- `orchestrator.local.fargate`: ECS tasks run the SAME runner the way the container does, as a subprocess
  `python -m orchestrator.runtime.runner` with the container overrides as environment.

    with LocalAws(LocalOptions()) as aws:
        sfn = aws.client("stepfunctions")
        sfn.start_execution(stateMachineArn=aws.state_machine_arn, name=..., input=json.dumps(...))
        # then describe_execution / get_execution_history until it ends

Parallel states are real on AWS; locally their tasks take turns on the warehouse: DuckDB allows one
writer process per database file and dbt one invocation per process at a time, so every runner call
(in-process and subprocess alike) holds an exclusive lock on `<warehouse>.lock`.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator import settings
from orchestrator.definition.graph import DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.definition.state_machine import RenderOptions
from orchestrator.local import resources
from orchestrator.local.fargate import LocalFargate, Workers
from orchestrator.local.moto_server import MotoServer
from orchestrator.local.resources import BUCKET_NAME, CONTAINER_MEMORY_MB
from orchestrator.runtime import lambda_handler
from orchestrator.runtime.runner import (
    PARSED_DIR_ENV,
    PROFILES_DIR_ENV,
    WAREHOUSE_LOCK_ENV,
    WORK_DIR_ENV,
    RunnerConfig,
    adopt_manifest,
)
from orchestrator.window import RefreshWindow

__all__ = ["BUCKET_NAME", "LocalAws", "LocalOptions"]

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
WORKER_GRACE_SECONDS = 600.0


@dataclass(frozen=True)
class LocalOptions:
    """What to deploy locally. Paths default to the project, its target/ and the local warehouse."""

    project_dir: Path = field(default_factory=settings.project_dir)
    parsed_dir: Path | None = None
    profiles_dir: Path | None = None
    warehouse_lock: Path | None = None
    render: RenderOptions = field(default_factory=RenderOptions)
    # the time each in-process Lambda invocation has, as Lambda's context would say (None: no limit; tests
    # give a short one to see a task stop at its deadline and go on to ECS)
    lambda_remaining_seconds: float | None = None
    runner_env: Mapping[str, str] = field(default_factory=dict)
    ecs_command: tuple[str, ...] = (sys.executable, "-m", "orchestrator.runtime.runner")
    work_dir: Path | None = None
    parsed_manifest: Any = None  # dbt's Manifest, already parsed by this process with the runners' profile
    # The windows the command will run; empty = any. When no task can run on ECS for them (no `ecs` task,
    # every `auto` task within its lambda_max_days), no ECS cluster, task definition or local Fargate is set
    # up: the definition still names their ARNs, and an ECS call would fail with ClusterNotFoundException.
    windows: tuple[RefreshWindow, ...] = ()


class LocalAws:
    """A context manager: moto server + deployed resources + in-process Lambda + local Fargate."""

    def __init__(self, options: LocalOptions | None = None) -> None:
        self.options = options or LocalOptions()
        self.state_machine_arn = ""
        self.topic_arn = ""
        self.definition = ""
        self.graph: DbtGraph | None = None  # the project's graph as deployed (read from manifest.json once)
        self.with_ecs = True
        self._server = MotoServer()
        self._workers = Workers()
        self._fargate: LocalFargate | None = None
        self._own_work_dir = self.options.work_dir is None
        self.work_dir = self.options.work_dir or Path(tempfile.mkdtemp(prefix="store-sales-local-"))

    def client(self, service: str) -> Any:
        return self._server.client(service)

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LocalAws:
        try:
            if self.options.parsed_manifest is not None:
                adopt_manifest(self.runner_config(), self.options.parsed_manifest)
            self._server.start(settings.dbt_environment())
            self._deploy()
        except Exception:
            self.__exit__(None, None, None)
            raise
        if self.with_ecs:
            self._fargate = LocalFargate(
                lambda: self.client("ecs"), self._workers, self.options.ecs_command, self.container_env, self.work_dir
            )
            self._fargate.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.state_machine_arn:
            self.wait_for_workers()
        if self._fargate is not None:
            self._fargate.stop()
        if self.state_machine_arn:
            resources.unregister()
        self._server.stop()
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def wait_for_workers(self, timeout: float = WORKER_GRACE_SECONDS) -> bool:
        """Wait until no runner is in flight (a failed Parallel does not cancel its other branches'
        running tasks, on AWS or here). True if idle; False if `timeout` seconds passed first."""
        return self._workers.wait_idle(timeout)

    # -- the runner ------------------------------------------------------------------------------
    def runner_config(self) -> RunnerConfig:
        options = self.options
        return RunnerConfig(
            project_dir=options.project_dir,
            profiles_dir=options.profiles_dir or options.project_dir,
            parsed_dir=options.parsed_dir or options.project_dir / "target",
            target=settings.dbt_target(),
            work_root=self.work_dir / "runner",
            warehouse_lock=self.warehouse_lock(),
        )

    def warehouse_lock(self) -> Path:
        return self.options.warehouse_lock or settings.duckdb_path().with_name(settings.duckdb_path().name + ".lock")

    def _invoke_runner(self, event: Mapping[str, Any], _context: Any) -> dict[str, Any]:
        """The runner function's invocations, in this process."""
        with self._workers.invocation():
            return lambda_handler.handle(event, self.runner_config(), self.options.lambda_remaining_seconds)

    def container_env(self, overrides: Mapping[str, str]) -> dict[str, str]:
        """A container's environment: the task definition's (paths, memory) and the task's overrides."""
        config = self.runner_config()
        return {
            **os.environ,
            **settings.dbt_environment(),
            **self.options.runner_env,
            settings.PROJECT_DIR.name: str(config.project_dir),
            PROFILES_DIR_ENV: str(config.profiles_dir),
            PARSED_DIR_ENV: str(config.parsed_dir),
            WAREHOUSE_LOCK_ENV: str(config.warehouse_lock),
            WORK_DIR_ENV: str(config.work_root),
            # the container's memory, as the task definition gives it: DuckDB sizes itself from it
            settings.MEMORY.name: str(CONTAINER_MEMORY_MB),
            "PYTHONPATH": os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p),
            **overrides,
        }

    # -- deployment ------------------------------------------------------------------------------
    def _deploy(self) -> None:
        options = self.options
        manifest = load_manifest(options.project_dir, options.parsed_dir)
        graph = self.graph = DbtGraph.from_manifest(manifest)
        # a Lambda task's ECS fallback is reached only at a deadline, which the in-process Lambda has only
        # when the options give it time (`lambda_remaining_seconds`)
        with_ecs = options.lambda_remaining_seconds is not None or resources.may_use_ecs(
            graph, options.render, options.windows
        )
        deployed = resources.deploy(
            self.client, graph, manifest.project_name, options.render, self._invoke_runner, with_ecs
        )
        self.state_machine_arn = deployed.state_machine_arn
        self.topic_arn = deployed.topic_arn
        self.definition = deployed.definition
        self.with_ecs = deployed.with_ecs
