"""The CLI's AWS side against the stack created in moto's CloudFormation (the `fresh_stack` fixture: one per
test), as a user sees it with `--aws` and the `store-sales.toml` written from the stack's outputs: Ctrl-C while
watching, the catch-up, the wait for the landing, and status, history and resume around a failed day.

The stack's runner function is answered in-process on the local DuckDB target (see tests/infra/test_stack.py),
so the landing exists twice: the data directory that runner reads, and the stack's landing S3 folder
(LandingS3Uri) the CLI reads. `Deployment.deliver` lands an extract's day in both, its marker last, as a
producer does. The warehouse the CLI reads (the ledger) is the DuckDB file that runner writes.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import boto3
import pytest
from engine_support import project_parsed_dir
from faults_support import FIRST, SECOND
from iam_support import (
    OPERATOR,
    CallRecorder,
    documented_grants,
    documented_unused,
    evaluate,
    grant_rows,
    markdown_table,
)
from infra_support import INFRA_README, ROOT
from stack_support import HARNESS, PARAMETERS, STACK, local_warehouse, stack_policies

from orchestrator import cli, settings
from orchestrator.cli import deploy
from orchestrator.errors import ExitCode
from orchestrator.landing.contract import EXTRACTS
from orchestrator.landing.gate import MARKER_FILE, folder_name
from orchestrator.local import moto_adapt
from orchestrator.modes.aws import AwsBackend
from orchestrator.modes.local import ensure_parsed
from orchestrator.runtime import lambda_handler
from orchestrator.runtime.runner import RunnerConfig

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

pytestmark = pytest.mark.slow

REGION = "us-east-1"
LANDING_URI = PARAMETERS["LandingS3Uri"]
BUCKET, _, PREFIX = LANDING_URI.removeprefix("s3://").partition("/")
BOUND_SECONDS = 120.0  # every wait of these tests is bounded


@dataclass(frozen=True)
class Deployment:
    """The stack, and the producers' deliveries waiting in `outbox` to land."""

    data: Path
    outbox: Path
    machine_arn: str
    s3: S3Client
    sfn: SFNClient
    recorder: CallRecorder  # the CLI's calls, as the operator's (the test's own calls act as the harness)

    def deliver(self, extract: str, day: date) -> None:
        """Land one extract's day in the data directory and in the landing S3 folder, the marker last."""
        folder = Path(extract) / folder_name(day)
        (self.data / "landing" / folder).mkdir(parents=True)
        for path in sorted((self.outbox / folder).iterdir(), key=lambda p: p.name == MARKER_FILE):
            shutil.copy2(path, self.data / "landing" / folder / path.name)
            with self.recorder.acting_as(HARNESS):
                self.s3.upload_file(str(path), BUCKET, f"{PREFIX}/landing/{folder}/{path.name}")

    def deliver_days(self, days: Iterable[date], *, but: tuple[str, date] | None = None) -> None:
        """Every extract of `days`, but the one named."""
        for day in days:
            for extract in EXTRACTS:
                if (extract, day) != but:
                    self.deliver(extract, day)

    def executions(self) -> dict[str, str]:
        """Every execution of the stack's state machine: name -> status, as Step Functions has it."""
        with self.recorder.acting_as(HARNESS):
            listed = self.sfn.list_executions(stateMachineArn=self.machine_arn)["executions"]
        return {execution["name"]: execution["status"] for execution in listed}


def assert_the_operator_may(deployment: Deployment) -> None:
    """Every call the CLI made in the test is allowed by the stack's OperatorPolicy, and infra/README.md's tables
    ("IAM, proven") list it and do not call its statement unused."""
    calls = [call for call in deployment.recorder.calls if call.principal == OPERATOR]
    with deployment.recorder.acting_as(HARNESS):
        policies = stack_policies()
    verdict = evaluate({OPERATOR: policies[OPERATOR]}, calls)
    assert verdict.denied == [], verdict.denied
    readme = INFRA_README.read_text(encoding="utf-8")
    rows = grant_rows(verdict.granted)
    assert rows <= documented_grants(readme), f"add to infra/README.md's table of calls:\n{markdown_table(rows)}"
    assert not {row[2] for row in rows} & set(documented_unused(readme))


@pytest.fixture(scope="module")
def parsed_project() -> None:
    """target/manifest.json, which `resume` reads on AWS to know the models (the image has its own)."""
    ensure_parsed(settings.project_dir())


@pytest.fixture
def deployment(fresh_stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Deployment]:
    """The configuration `deploy` writes from the stack's outputs, the landing S3 folder, and nothing landed yet;
    the test's own thread acts as the operator (the CLI's calls are recorded as OperatorPolicy's)."""
    outputs = fresh_stack["description"]["Outputs"]
    written = deploy.config_from_outputs(outputs)
    config = tmp_path / "store-sales.toml"
    config.write_text(deploy.config_toml(written))
    monkeypatch.setenv("STORE_SALES_CONFIG", str(config))
    assert written["landing_s3_uri"] == LANDING_URI  # the stack's LandingS3Uri, read by the catch-up, the wait, status
    monkeypatch.delenv("STORE_SALES_LANDING_S3_URI", raising=False)
    data: Path = fresh_stack["data"]
    # moto answers no Redshift statement: the warehouse is the DuckDB file the in-process runner writes, so the CLI
    # takes the runner's one substitution (STORE_SALES_TARGET=local) and reads the ledger there
    for name, value in local_warehouse(data).items():
        monkeypatch.setenv(name, value)
    # The CLI runs in this process while the runner answers the state machine's invocations, so the runner cannot
    # take its function's environment (the process's, which the CLI would read meanwhile): here it runs on a
    # configuration of its own, on the same DuckDB file. The runner as deployed is tests/infra/test_stack.py's.
    runner = RunnerConfig(
        project_dir=ROOT,
        profiles_dir=ROOT,
        parsed_dir=project_parsed_dir(),
        target="local",
        work_root=tmp_path,
        warehouse_lock=tmp_path / "warehouse.lock",
    )
    moto_adapt.register_lambda_handler(f"{STACK}-runner", lambda event, _: lambda_handler.handle(event, runner))
    outbox = tmp_path / "outbox"
    (data / "landing").rename(outbox)
    (data / "landing").mkdir()
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)  # the landing bucket is the producers', not the stack's
    machine = next(output["OutputValue"] for output in outputs if output["OutputKey"] == "StateMachineArn")
    recorder = CallRecorder()
    recorder.install()
    try:
        with recorder.acting_as(OPERATOR):
            yield Deployment(data, outbox, machine, s3, boto3.client("stepfunctions", region_name=REGION), recorder)
    finally:
        recorder.uninstall()


@dataclass(frozen=True)
class Said:
    """What one command printed, and its exit code."""

    code: int
    out: str
    err: str


def aws(capsys: pytest.CaptureFixture[str], *args: str) -> Said:
    code = cli.main([*args, "--aws"])
    captured = capsys.readouterr()
    return Said(code, captured.out, captured.err)


def as_json(said: Said) -> Any:
    assert said.out.strip(), said.err
    return json.loads(said.out)


@dataclass(frozen=True)
class Hold:
    reached: threading.Event  # the state machine invoked the task
    released: threading.Event  # the task may run


@contextlib.contextmanager
def held(task: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hold]:
    """The stack's runner holds `task` when the state machine invokes it, until released: the execution stays
    RUNNING in that task as long as the test needs (the fixture's function answers through `lambda_handler.handle`)."""
    hold = Hold(threading.Event(), threading.Event())
    answer = lambda_handler.handle

    def holding(event: Mapping[str, Any], config: RunnerConfig, remaining_seconds: float | None = None) -> Any:
        if event.get("task") == task:
            hold.reached.set()
            hold.released.wait(BOUND_SECONDS)
        return answer(event, config, remaining_seconds)

    monkeypatch.setattr(lambda_handler, "handle", holding)
    try:
        yield hold
    finally:
        hold.released.set()


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Processes started here get Ctrl-C as from a terminal, even when these tests run where SIGINT is ignored (a
    shell's background job): an ignored signal stays ignored across exec, a handled one is reset to the default."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Lines:
    """A process's output, line by line as it comes (read by a thread, so a wait for a line is bounded)."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, wanted: str) -> None:
        while not any(wanted in line for line in self.seen):
            line = self._queue.get(timeout=BOUND_SECONDS)
            assert line is not None, f"the output ended without {wanted!r}: {self.seen}"
            self.seen.append(line)

    def rest(self) -> list[str]:
        self._reader.join(BOUND_SECONDS)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.seen.append(line)
        return self.seen


def test_ctrl_c_stops_the_watch_not_the_execution_and_the_command_it_prints_watches_it_again(
    deployment: Deployment,
    moto_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C arrives as a user's does: SIGINT to `run --aws` in its own process, while the fact's task runs. That
    process reaches the stack through moto's server, which answers from this process's moto account."""
    deployment.deliver_days([FIRST])
    name = f"store-sales-{FIRST}-r1"
    errors = tmp_path / "stderr.txt"
    with (
        held("store_sales", monkeypatch) as hold,
        errors.open("w") as stderr,
        interruptible(),
        subprocess.Popen(
            [sys.executable, "-m", "orchestrator", "run", "--date", FIRST.isoformat(), "--aws"],
            cwd=ROOT,
            env={**os.environ, "AWS_ENDPOINT_URL": moto_server, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
        ) as command,
    ):
        try:
            assert command.stdout is not None
            out = Lines(command.stdout)
            out.wait_for("Build store_sales on Lambda")  # the live line of the task starting
            assert hold.reached.wait(BOUND_SECONDS)
            command.send_signal(signal.SIGINT)
            code = command.wait(BOUND_SECONDS)
            printed = out.rest()
        finally:
            if command.poll() is None:
                command.kill()
        assert deployment.executions() == {name: "RUNNING"}  # still in the fact's task, without its watcher
    said = errors.read_text(encoding="utf-8")

    assert code == ExitCode.TIMED_OUT, said
    assert printed[0] == f"started {name} ({FIRST})"
    arn = f"{deployment.machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
    config = os.environ["STORE_SALES_CONFIG"]  # the file the run read: the printed watch reads it again, on AWS
    assert said.strip().splitlines() == [
        f"stopped watching; {name} goes on. Watch it again with `python -m orchestrator watch {name} --aws --config "
        f"{config}` or stop it with `aws stepfunctions stop-execution --execution-arn {arn}`",
        "interrupted",
    ]

    watch = re.search(r"Watch it again with `([^`]+)`", said)
    assert watch is not None
    printed_command = shlex.split(watch.group(1))
    assert printed_command[:3] == ["python", "-m", "orchestrator"]
    code = cli.main([*printed_command[3:], "--json"])
    watched = as_json(Said(code, *capsys.readouterr()))
    assert code == ExitCode.OK, watched
    assert (watched["name"], watched["status"]) == (name, "SUCCEEDED")
    assert {state["name"]: state["status"] for state in watched["states"]}["Build store_sales on Lambda"] == "SUCCEEDED"
    # nothing stopped it (moto would end a stopped execution ABORTED once the held task returns)
    assert deployment.executions() == {name: "SUCCEEDED"}
    assert_the_operator_may(deployment)


def test_a_watch_out_of_time_leaves_the_execution_running_and_names_the_command_that_finds_it_again(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.deliver_days([FIRST])
    name = f"store-sales-{FIRST}-r1"
    with held("store_sales", monkeypatch) as hold:
        said = aws(capsys, "run", "--date", FIRST.isoformat(), "--timeout", "2")
        assert deployment.executions() == {name: "RUNNING"}  # the fact's task, held, cannot have ended
        hold.released.set()
    config = os.environ["STORE_SALES_CONFIG"]
    assert said.code == ExitCode.TIMED_OUT, said
    assert said.err.strip().splitlines()[-1] == (
        f"error: execution {name} is still RUNNING after 2 s of watching; it goes on: watch it again with "
        f"`python -m orchestrator watch {name} --aws --config {config}`"
    )
    assert_the_operator_may(deployment)


def test_run_without_a_date_loads_the_landed_days_after_the_ledger_s_last_one(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.deliver_days([FIRST, SECOND], but=("item", SECOND))  # the second day has not fully landed

    first = aws(capsys, "run", "--json")
    assert first.code == ExitCode.OK, first.err
    assert first.err.splitlines()[0] == f"catch-up: loading {FIRST} (1 landed day(s), nothing loaded before)"
    assert (as_json(first)["name"], as_json(first)["status"]) == (f"store-sales-{FIRST}-r1", "SUCCEEDED")

    deployment.deliver("item", SECOND)
    second = aws(capsys, "run", "--json")
    assert second.code == ExitCode.OK, second.err
    assert second.err.splitlines()[0] == (
        f"catch-up: loading {SECOND} (1 landed day(s), after the last loaded day {FIRST})"
    )
    assert as_json(second)["input"]["refresh_window"] == {"start": str(SECOND), "end": str(SECOND)}

    nothing = aws(capsys, "run")
    assert (nothing.code, nothing.out) == (ExitCode.OK, "")
    assert nothing.err.splitlines() == [
        f"catch-up: nothing new has landed after the last loaded day {SECOND}; nothing to do"
    ]
    nothing_json = aws(capsys, "run", "--json")  # a script reads one document, even when nothing starts
    assert json.loads(nothing_json.out) == {"status": "NOTHING_TO_DO", "last_loaded_day": SECOND.isoformat()}
    assert deployment.executions() == {f"store-sales-{FIRST}-r1": "SUCCEEDED", f"store-sales-{SECOND}-r1": "SUCCEEDED"}
    assert_the_operator_may(deployment)


def test_run_wait_for_landing_starts_once_the_last_marker_lands(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(AwsBackend, "landing_poll_seconds", 0.5)  # S3 is looked at every 15 s; no need to wait so
    deployment.deliver_days([FIRST], but=("store_sales", FIRST))
    sent: list[datetime] = []

    def deliver_late() -> None:
        sent.append(datetime.now(UTC))
        deployment.deliver("store_sales", FIRST)

    late = threading.Timer(2.0, deliver_late)
    late.start()
    try:
        said = aws(capsys, "run", "--date", FIRST.isoformat(), "--wait-for-landing", "--timeout", "60", "--json")
    finally:
        late.cancel()
        late.join()

    assert said.code == ExitCode.OK, said.err
    waiting = said.err.splitlines()[0]
    assert waiting.startswith(f"waiting for {FIRST} to land (0 s): store_sales {FIRST}: not delivered"), said.err
    assert "customer_address" not in waiting and "item" not in waiting
    result = as_json(said)
    assert (result["name"], result["status"]) == (f"store-sales-{FIRST}-r1", "SUCCEEDED")
    assert datetime.fromisoformat(result["started"]) > sent[0]  # started once the marker was on its way, not before
    assert_the_operator_may(deployment)


def test_run_wait_for_landing_times_out_naming_what_never_came_and_starts_nothing(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    deployment.deliver_days([FIRST], but=("item", FIRST))

    said = aws(capsys, "run", "--date", FIRST.isoformat(), "--wait-for-landing", "--timeout", "1")

    assert said.code == ExitCode.TIMED_OUT
    assert said.out == ""
    assert said.err.splitlines()[-1].startswith(
        f"error: {FIRST} had not landed after 1 s: item {FIRST}: not delivered"
    ), said.err
    assert said.err.splitlines()[-1].endswith("; nothing was started")
    assert deployment.executions() == {}
    assert_the_operator_may(deployment)


def test_status_history_and_resume_around_a_failed_day(
    deployment: Deployment, parsed_project: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fact's extract of the day has not landed: its task fails, the dimensions are loaded; once it lands,
    `resume` reruns from the failed task and the day is published."""
    failed_name, resumed_name = f"store-sales-{FIRST}-r1", f"store-sales-{FIRST}-r2"
    deployment.deliver_days([FIRST], but=("store_sales", FIRST))

    run = aws(capsys, "run", "--date", FIRST.isoformat(), "--json")
    assert run.code == ExitCode.PIPELINE_FAILED
    assert (as_json(run)["name"], as_json(run)["status"]) == (failed_name, "FAILED")
    assert run.err.splitlines()[-1].startswith(
        f"error: execution {failed_name} FAILED: task store_sales ({FIRST}): landing incomplete: store_sales {FIRST}: "
        "not delivered"
    ), run.err

    failed = aws(capsys, "status", "--date", FIRST.isoformat())
    assert failed.code == ExitCode.PIPELINE_FAILED
    assert failed.out.splitlines()[0].startswith(f"{FIRST}: failed"), failed.out
    assert failed_name in failed.out
    failed_json = as_json(aws(capsys, "status", "--date", FIRST.isoformat(), "--json"))
    assert failed_json["published"] is None
    assert [(a["execution"], a["status"], a["task"]) for a in failed_json["attempts"]] == [
        (failed_name, "FAILED", "store_sales")
    ]
    history = as_json(aws(capsys, "history", "--json"))
    assert [(row["name"], row["status"], row["window"]) for row in history] == [(failed_name, "FAILED", str(FIRST))]

    deployment.deliver("store_sales", FIRST)
    resumed = aws(capsys, "resume", failed_name, "--json")
    assert resumed.code == ExitCode.OK, resumed.err
    result = as_json(resumed)
    assert (result["name"], result["status"]) == (resumed_name, "SUCCEEDED")
    built = {model["name"] for summary in result["dbt"] for model in summary["models"]}
    assert "fct_store_sales" in built and "rpt_daily_store_sales" in built
    assert not built & {"dim_customer_address", "dim_item"}  # loaded by the failed execution, not rerun

    published = aws(capsys, "status", "--date", FIRST.isoformat())
    assert published.code == ExitCode.PIPELINE_FAILED  # published, but late: the deadline of a 2002 day is long past
    assert published.out.splitlines()[0].startswith(f"{FIRST}: published late"), published.out
    assert f"by {resumed_name}" in published.out and failed_name in published.out
    published_json = as_json(aws(capsys, "status", "--date", FIRST.isoformat(), "--json"))
    assert published_json["published"]["execution"] == resumed_name
    history = as_json(aws(capsys, "history", "--json"))
    assert [(row["name"], row["status"], row["published"]) for row in history] == [
        (resumed_name, "SUCCEEDED", True),
        (failed_name, "FAILED", False),
    ]
    assert_the_operator_may(deployment)
