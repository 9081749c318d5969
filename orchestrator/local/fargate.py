"""The local Fargate: ECS tasks of the emulator run as the container runs them, and the runner work in flight.

`LocalFargate` polls moto's ECS for RUNNING tasks and runs each one's container command (`python -m
orchestrator.runtime.runner` by default) as a subprocess, with the task's container overrides as
environment, its output in `<work dir>/ecs-logs/<task>-<id>.log`; when the process exits it stops the task,
as ECS does when an essential container exits (`override_environment` and `stop_exited` are shared with the
stack test's Fargate, tests/stack_support.py). `Workers` counts the runner work in flight (in-process Lambda
invocations and container processes), so the emulator can wait for it before it closes: a failed Parallel
does not cancel its other branches' running tasks, on AWS or here.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

CLUSTER_NAME = "store-sales"
FARGATE_POLL_SECONDS = 0.2


def override_environment(task: Mapping[str, Any]) -> dict[str, str]:
    """The environment of a described ECS task's container override (the definition sends one, for its container)."""
    container: Mapping[str, Any] = next(iter(task.get("overrides", {}).get("containerOverrides", [])), {})
    return {item["name"]: item["value"] for item in container.get("environment", [])}


def stop_exited(ecs: Any, cluster: str, task_arn: str, code: int) -> None:
    """Stop the task as ECS does when its essential container exits."""
    ecs.stop_task(cluster=cluster, task=task_arn, reason=f"Essential container exited with code {code}")


class Workers:
    """Runner work in flight: Lambda invocations in this process and container processes."""

    def __init__(self) -> None:
        self._busy = threading.Condition()
        self._in_flight = 0
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    @contextlib.contextmanager
    def invocation(self) -> Iterator[None]:
        """Held while an in-process Lambda invocation runs."""
        with self._busy:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._busy:
                self._in_flight -= 1
                self._busy.notify_all()

    def add_process(self, task_arn: str, process: subprocess.Popen[bytes]) -> None:
        with self._busy:
            self._processes[task_arn] = process

    def process_ended(self) -> None:
        with self._busy:
            self._busy.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no work is in flight: True if idle, False if `timeout` seconds passed first."""
        with self._busy:
            idle = self._busy.wait_for(
                lambda: self._in_flight == 0 and all(p.poll() is not None for p in self._processes.values()),
                timeout=timeout,
            )
        return bool(idle)

    def kill_processes(self) -> None:
        """Kill the container processes still running (the emulator is closing)."""
        with self._busy:
            processes = list(self._processes.values())
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


class LocalFargate:
    """A thread that runs the RUNNING tasks of the local ECS cluster as subprocesses, from `start` to `stop`."""

    def __init__(
        self,
        ecs_client: Callable[[], Any],
        workers: Workers,
        command: Sequence[str],
        container_env: Callable[[Mapping[str, str]], dict[str, str]],
        work_dir: Path,
    ) -> None:
        self._ecs_client = ecs_client
        self._workers = workers
        self._command = list(command)
        self._container_env = container_env
        self._work_dir = work_dir
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._containers: list[threading.Thread] = []

    def start(self) -> None:
        self._poller = threading.Thread(target=self._poll, name="local-fargate", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        """Stop picking up tasks, kill the containers still running and wait for their threads."""
        self._stop.set()
        if self._poller is not None:
            self._poller.join()
        self._workers.kill_processes()
        for container in self._containers:
            container.join()

    def _poll(self) -> None:
        ecs = self._ecs_client()
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

    def _run_container(self, task: Mapping[str, Any]) -> None:
        task_arn = str(task["taskArn"])
        task_id = task_arn.rsplit("/", 1)[-1]
        overrides = override_environment(task)
        logs = self._work_dir / "ecs-logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{overrides.get('STORE_SALES_TASK', 'task')}-{task_id}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                self._command,
                env=self._container_env(overrides),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._work_dir,
            )
            self._workers.add_process(task_arn, process)
            code = process.wait()
            self._workers.process_ended()
        if not self._stop.is_set():
            stop_exited(self._ecs_client(), CLUSTER_NAME, task_arn, code)
