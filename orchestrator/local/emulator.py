"""The local stand-in for AWS: the definition that would be deployed, run by moto's interpreter.

`LocalAws` starts moto's server on 127.0.0.1 (a free port) inside this process, applies
`orchestrator.local.moto_adapt`, and deploys what the CloudFormation stack would: the artifacts bucket, the
alert topic, the runner Lambda function, an ECS cluster and task definition (only when the command's
windows can reach an ECS task: see `LocalOptions.windows`), and the state machine rendered by
`orchestrator.definition.state_machine.render` with their real (local) ARNs. While it is open every
boto3 client of the process talks to it (AWS_ENDPOINT_URL), so the launcher needs no special case;
the warehouse and data paths (orchestrator.settings) are pinned as absolute environment variables, so
in-process and subprocess runners load the same warehouse whatever their working directory:

    with LocalAws(LocalOptions()) as aws:
        sfn = aws.client("stepfunctions")
        sfn.start_execution(stateMachineArn=aws.state_machine_arn, name=..., input=json.dumps(...))
        # then describe_execution / get_execution_history until it ends

Lambda tasks run the runner IN this process (the moto Lambda backend calls it); ECS tasks run the
SAME runner the way the container does, as a subprocess `python -m orchestrator.runtime.runner` with the
container overrides as environment, started by a local "Fargate" thread that picks up RUNNING tasks
and stops them when the process exits (its log: `<work dir>/ecs-logs/<task>-<id>.log`).

Parallel states are real on AWS; locally their tasks take turns on the warehouse: DuckDB allows one
writer process per database file and dbt one invocation per process at a time, so every runner call
(in-process and subprocess alike) holds an exclusive lock on `<warehouse>.lock`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from orchestrator import settings
from orchestrator.definition.graph import Compute, DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.definition.plan import Plan
from orchestrator.definition.state_machine import RenderOptions, plan_for, render
from orchestrator.errors import LocalAwsError
from orchestrator.local import moto_adapt
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

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/store-sales-local"
FUNCTION_NAME = "store-sales-dbt-runner"
CLUSTER_NAME = "store-sales"
TASK_FAMILY = "store-sales-dbt"
CONTAINER_NAME = "dbt"
BUCKET_NAME = "store-sales-artifacts"
TOPIC_NAME = "store-sales-alerts"
STATE_MACHINE_NAME = "store-sales-pipeline"
CONTAINER_MEMORY_MB = 2048
# The local task definition uses bridge networking, so moto's ECS never looks these up: no VPC is
# created (moto's EC2 backend alone took 1.4 s of every local command's start).
LOCAL_SUBNET = "subnet-0local0000000000"
LOCAL_SECURITY_GROUP = "sg-0local0000000000"
FARGATE_POLL_SECONDS = 0.2
WORKER_GRACE_SECONDS = 600.0
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


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


def _may_use_ecs(plan: Plan, windows: tuple[RefreshWindow, ...]) -> bool:
    """Whether an execution of one of `windows` (any window when empty) can reach an ECS task."""
    if not windows:
        return True
    longest = max(window.days for window in windows)
    return any(
        task.compute is Compute.ECS or (task.compute is Compute.AUTO and longest > (task.lambda_max_days or 0))
        for task in plan.tasks
    )


class LocalAws:
    """A context manager: moto server + adaptations + deployed resources + local Fargate."""

    def __init__(self, options: LocalOptions | None = None) -> None:
        self.options = options or LocalOptions()
        self.state_machine_arn = ""
        self.bucket = BUCKET_NAME
        self.topic_arn = ""
        self.endpoint_url = ""
        self.definition = ""
        self.graph: DbtGraph | None = None  # the project's graph as deployed (read from manifest.json once)
        self._server: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._stop = threading.Event()
        self._fargate: threading.Thread | None = None
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._busy = threading.Condition()
        self._containers: list[threading.Thread] = []
        self._in_flight = 0
        self.with_ecs = True
        self._own_work_dir = self.options.work_dir is None
        self.work_dir = self.options.work_dir or Path(tempfile.mkdtemp(prefix="store-sales-local-"))

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LocalAws:
        try:
            if self.options.parsed_manifest is not None:
                adopt_manifest(self.runner_config(), self.options.parsed_manifest)
            self._start_server()
            self._deploy()
        except Exception:
            self.__exit__(None, None, None)
            raise
        if self.with_ecs:
            self._fargate = threading.Thread(target=self._run_fargate, name="local-fargate", daemon=True)
            self._fargate.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.state_machine_arn:
            self.wait_for_workers()
        self._stop.set()
        if self._fargate is not None:
            self._fargate.join()
        with self._busy:
            processes = list(self._processes.values())
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for container in self._containers:
            container.join()
        if self.state_machine_arn:
            moto_adapt.unregister_lambda_handler(FUNCTION_NAME)
        if self._server is not None:
            self._server.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    # -- setup -----------------------------------------------------------------------------------
    def _start_server(self) -> None:
        from moto.server import ThreadedMotoServer

        for name in ("moto", "werkzeug"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        env = {
            **DUMMY_CREDENTIALS,
            **settings.dbt_environment(),
            "MOTO_PORT": str(port),
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }
        self._saved_env = {key: os.environ.get(key) for key in env}
        os.environ.update(env)
        self._post("/moto-api/reset", {})  # moto's backends are per process: start from a clean account
        self._post(
            "/moto-api/config", {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
        )
        self._post(
            "/moto-api/state-manager/set-transition",
            {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 10**9}},
        )
        moto_adapt.apply_all()

    def _post(self, path: str, body: Mapping[str, Any]) -> None:
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
        except OSError as error:
            raise LocalAwsError(f"the local moto server at {self.endpoint_url} refused {path}: {error}") from None

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

    def _deploy(self) -> None:
        options = self.options
        manifest = load_manifest(options.project_dir, options.parsed_dir)
        graph = self.graph = DbtGraph.from_manifest(manifest)
        self.client("s3").create_bucket(Bucket=BUCKET_NAME)
        self.topic_arn = self.client("sns").create_topic(Name=TOPIC_NAME)["TopicArn"]
        iam = self.client("iam")
        role_arn = iam.create_role(RoleName="store-sales-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("handler.py", "def handler(event, context):\n    return event\n")
        function_arn = self.client("lambda").create_function(
            FunctionName=FUNCTION_NAME,
            Runtime="python3.11",
            Role=role_arn,
            Handler="orchestrator.runtime.lambda_handler.handler",
            Code={"ZipFile": archive.getvalue()},
            Timeout=900,
        )["FunctionArn"]
        moto_adapt.register_lambda_handler(FUNCTION_NAME, self._invoke_runner)
        # a Lambda task's ECS fallback is reached only at a deadline, which the in-process Lambda has only
        # when the options give it time (`lambda_remaining_seconds`)
        deadline = options.lambda_remaining_seconds is not None
        self.with_ecs = deadline or _may_use_ecs(plan_for(graph, options.render), options.windows)
        if self.with_ecs:
            ecs = self.client("ecs")
            cluster_arn = ecs.create_cluster(clusterName=CLUSTER_NAME)["cluster"]["clusterArn"]
            task_definition_arn = ecs.register_task_definition(
                family=TASK_FAMILY,
                networkMode="bridge",
                containerDefinitions=[
                    {
                        "name": CONTAINER_NAME,
                        "image": "store-sales-dbt:local",
                        "essential": True,
                        "memory": CONTAINER_MEMORY_MB,
                    }
                ],
            )["taskDefinition"]["taskDefinitionArn"]
        else:
            cluster_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:cluster/{CLUSTER_NAME}"
            task_definition_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task-definition/{TASK_FAMILY}:1"
        render_options = replace(
            options.render,
            lambda_function_arn=function_arn,
            ecs_cluster_arn=cluster_arn,
            ecs_task_definition_arn=task_definition_arn,
            ecs_container_name=CONTAINER_NAME,
            subnets=(LOCAL_SUBNET,),
            security_groups=(LOCAL_SECURITY_GROUP,),
            sns_topic_arn=self.topic_arn,
            artifacts_bucket=BUCKET_NAME,
            admission_seconds=0,  # a local run holds the data directory's lock: no overlapping launch can start
        )
        self.definition = render(graph, render_options, f"dbt project {manifest.project_name} (local)")
        self.state_machine_arn = self.client("stepfunctions").create_state_machine(
            name=STATE_MACHINE_NAME, definition=self.definition, roleArn=ACCOUNT_ROLE
        )["stateMachineArn"]

    def _invoke_runner(self, event: Mapping[str, Any], _context: Any) -> dict[str, Any]:
        with self._busy:
            self._in_flight += 1
        try:
            return lambda_handler.handle(event, self.runner_config(), self.options.lambda_remaining_seconds)
        finally:
            with self._busy:
                self._in_flight -= 1
                self._busy.notify_all()

    def wait_for_workers(self, timeout: float = WORKER_GRACE_SECONDS) -> bool:
        """Wait until no runner is in flight (a failed Parallel does not cancel its other branches'
        running tasks, on AWS or here). True if idle; False if `timeout` seconds passed first."""
        with self._busy:
            idle = self._busy.wait_for(
                lambda: self._in_flight == 0 and all(p.poll() is not None for p in self._processes.values()),
                timeout=timeout,
            )
        return bool(idle)

    # -- local Fargate ---------------------------------------------------------------------------
    def _run_fargate(self) -> None:
        ecs = self.client("ecs")
        started: set[str] = set()
        while not self._stop.wait(FARGATE_POLL_SECONDS):
            arns = ecs.list_tasks(cluster=CLUSTER_NAME, desiredStatus="RUNNING").get("taskArns", [])
            new = [arn for arn in arns if arn not in started]
            if not new:
                continue
            for task in ecs.describe_tasks(cluster=CLUSTER_NAME, tasks=new)["tasks"]:
                started.add(task["taskArn"])
                container = threading.Thread(target=self._run_container, args=(task,), daemon=True)
                self._containers.append(container)
                container.start()

    def container_env(self, overrides: Mapping[str, str]) -> dict[str, str]:
        config = self.runner_config()
        return {
            **os.environ,
            **settings.dbt_environment(),
            **self.options.runner_env,
            settings.PROJECT_DIR_ENV: str(config.project_dir),
            PROFILES_DIR_ENV: str(config.profiles_dir),
            PARSED_DIR_ENV: str(config.parsed_dir),
            WAREHOUSE_LOCK_ENV: str(config.warehouse_lock),
            WORK_DIR_ENV: str(config.work_root),
            # the container's memory, as the task definition gives it: DuckDB sizes itself from it
            settings.MEMORY_ENV: str(CONTAINER_MEMORY_MB),
            "PYTHONPATH": os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p),
            **overrides,
        }

    def _run_container(self, task: Mapping[str, Any]) -> None:
        task_arn = str(task["taskArn"])
        task_id = task_arn.rsplit("/", 1)[-1]
        container: Mapping[str, Any] = next(iter(task.get("overrides", {}).get("containerOverrides", [])), {})
        overrides = {item["name"]: item["value"] for item in container.get("environment", [])}
        logs = self.work_dir / "ecs-logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{overrides.get('STORE_SALES_TASK', 'task')}-{task_id}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                list(self.options.ecs_command),
                env=self.container_env(overrides),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.work_dir,
            )
            with self._busy:
                self._processes[task_arn] = process
            code = process.wait()
            with self._busy:
                self._busy.notify_all()
        if not self._stop.is_set():
            self.client("ecs").stop_task(
                cluster=CLUSTER_NAME, task=task_arn, reason=f"Essential container exited with code {code}"
            )
