"""The code inside the Lambda function and the ECS container: one `dbt build` per task.

Lambda calls `orchestrator.runtime.lambda_handler.handler(event, context)` with the payload the state machine
builds (see `orchestrator.definition.state_machine`). The ECS container runs `python -m orchestrator.runtime.runner`: it
reads the same request from environment variables (STORE_SALES_TASK, STORE_SALES_MODELS, the window
variables...), heartbeats while dbt runs, and reports to Step Functions itself with SendTaskSuccess /
SendTaskFailure (STORE_SALES_TASK_TOKEN). Without a token it prints the summary JSON.

What a run does:
- builds only `models` ∩ `nodes` (all `models` when `nodes` is null) and their data tests, not the dbt
  unit tests (those run in CI); an empty intersection returns a `skipped` summary without starting dbt;
- runs dbt through `dbtRunner` with thread locks (`orchestrator.runtime.thread_locks`) and writes ONLY under a
  fresh temp dir (target path, log path, the copy of the pre-built `partial_parse.msgpack`): the
  project directory may be read-only (Lambda's /var/task);
- parses once per process: the first task copies `<parsed dir>/partial_parse.msgpack` (made by
  `dbt parse` when the image was built; STORE_SALES_PARSED_DIR, default `<project>/target`) and
  parses (partial), later tasks of a warm process reuse that Manifest through `dbtRunner(manifest=)`;
- sets STORE_SALES_WINDOW_START/END and STORE_SALES_FULL_TESTS (true/false: whole-table data tests)
  from the request for the run (dbt reads them at execution time);
- holds the warehouse lock when STORE_SALES_WAREHOUSE_LOCK names a file (the local emulator sets it:
  DuckDB takes one writer process, and dbt one invocation per process at a time);
- uploads run_results.json (written by the runner: dbt runs with --no-write-json, which spares it
  writing manifest.json at every invocation) and the image's parsed manifest.json to
  s3://<bucket>/<prefix>/<execution>/<task>/ (also on failure), and returns a compact `TaskSummary`
  with the database user that ran the SQL.

Failures raise `RunnerError` leaves whose class names are the state machine's error names:
`DbtModelFailed`, `DbtTestFailed`, `DbtTransientError` (lock conflicts, refused connections,
throttling: retried), `DbtCrashed`, `ArtifactUploadError`. Messages name the task, node and dbt's message.
An ECS container whose state is over (its heartbeat refused) prints `TaskStateEnded` and exits at once; a
Lambda task that reaches its deadline cancels dbt's queries and fails with `DbtTaskTimedOut` (see `run_task`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from orchestrator import file_lock, settings
from orchestrator.aws import aws_client
from orchestrator.errors import (
    ArtifactUploadError,
    DbtCrashed,
    DbtModelFailed,
    DbtTaskTimedOut,
    DbtTestFailed,
    DbtTransientError,
    LandingIncomplete,
    RunnerError,
    StoreSalesError,
    TaskStateEnded,
)
from orchestrator.landing import gate as landing_gate
from orchestrator.protocol import (
    ENV_TASK_TOKEN,
    ORCHESTRATED_TYPES,
    TEST_TYPES,
    TaskRequest,
    TaskSummary,
)
from orchestrator.runtime import redshift_login, thread_locks

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

thread_locks.install()

PARSED_DIR_ENV = settings.PARSED_DIR.name
WORK_DIR_ENV = settings.WORK_DIR.name
WAREHOUSE_LOCK_ENV = settings.WAREHOUSE_LOCK.name
PROFILES_DIR_ENV = "DBT_PROFILES_DIR"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
RUN_RESULTS_FILE = "run_results.json"
MANIFEST_FILE = "manifest.json"
MESSAGE_LIMIT = 1500
# a long window (a backfill) may hold many anomalies: the summary, the alert and a failure name the first
# ones and count the rest, so the task's result stays far below Step Functions' 256 KiB payload limit
ANOMALIES_SHOWN = 20
CAUSE_LIMIT = 32_000
# A Lambda task stops this long before the function's time limit: the cancel, the artifacts' upload and the
# answer to Step Functions fit in it, so Lambda never kills a task without a word
LAMBDA_STOP_MARGIN_SECONDS = 60.0
CANCEL_INTERVAL_SECONDS = 0.5
# colour codes dbt and DuckDB may leave in a message: a failure is one plain line wherever it is shown
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TRANSIENT_MARKERS = (
    "could not set lock on file",
    "conflicting lock",
    "connection refused",
    "could not connect to server",
    "connection timed out",
    "server closed the connection unexpectedly",
    "throttl",
    "rate exceeded",
    "too many connections",
    "serializable isolation violation",
)


@dataclass(frozen=True)
class RunnerConfig:
    """Where the runner finds the project and writes its files."""

    project_dir: Path
    profiles_dir: Path
    parsed_dir: Path
    target: str
    work_root: Path
    warehouse_lock: Path | None = None

    @classmethod
    def from_env(cls) -> RunnerConfig:
        """From the function's or container's environment, after checking every setting in it (on AWS no CLI
        has checked them: a bad value stops the task here, naming the setting, before dbt starts)."""
        settings.validate()
        project = settings.project_dir()
        lock = settings.WAREHOUSE_LOCK.raw()
        parsed = settings.PARSED_DIR.raw()
        return cls(
            project_dir=project,
            profiles_dir=Path(os.environ.get(PROFILES_DIR_ENV) or project),
            parsed_dir=Path(parsed) if parsed else project / "target",
            target=settings.dbt_target(),
            work_root=Path(settings.WORK_DIR.raw() or tempfile.gettempdir()),
            warehouse_lock=Path(lock) if lock else None,
        )


@dataclass(frozen=True)
class NodeResult:
    name: str
    resource_type: str
    status: str
    seconds: float
    rows_affected: int | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "resource_type": self.resource_type,
            "rows_affected": self.rows_affected,
            "seconds": self.seconds,
            "status": self.status,
        }


_PARSE_LOCK = threading.Lock()
_MANIFESTS: dict[tuple[str, str, str, str], Any] = {}


def run_task(
    request: TaskRequest, config: RunnerConfig, s3_client: S3Client | None = None, deadline: float | None = None
) -> TaskSummary:
    """Build the request's models with dbt; return the summary or raise a `RunnerError` leaf.

    `deadline` (a `time.monotonic()` instant; the Lambda handler's time limit less `LAMBDA_STOP_MARGIN_SECONDS`):
    dbt does not start after it, and from it on dbt's open queries are cancelled (and rolled back by the
    warehouse) until dbt returns; the task then fails with `DbtTaskTimedOut`, which the definition answers by
    running the task on ECS. None (ECS, the local emulator): no limit."""
    started = time.monotonic()
    window = {"end": request.window.end.isoformat(), "start": request.window.start.isoformat()}
    selected = request.selected_models()
    if not selected:
        return TaskSummary(task=request.task, status="skipped", refresh_window=window)
    with scratch_dir(config, request.task) as work:
        with warehouse_session(config), settings.scoped_environment(request.dbt_environment()):
            manifest = parsed_manifest(config, work)
            landing_missing = _check_landing(request, manifest, selected, s3_client)
            if deadline is not None and time.monotonic() >= deadline:
                raise DbtTaskTimedOut(
                    f"task {request.task} ({request.window}): the Lambda's time was up before dbt started "
                    "(nothing was loaded): the definition runs the task on ECS"
                )
            with DeadlineWatch(deadline, manifest.metadata.adapter_type) as watch:
                results, invocation_id, crash, user = _invoke_build(request, config, selected, work)
            if watch.passed:
                raise DbtTaskTimedOut(
                    f"task {request.task} ({request.window}): stopped at the Lambda's deadline after "
                    f"{time.monotonic() - started:.0f} s (dbt's open queries were cancelled and rolled back): the "
                    "definition runs the task on ECS"
                )
            anomalies = _volume_anomalies(request, manifest, results) if crash is None else []
        try:
            artifacts = _upload_artifacts(
                request, (work / "target" / RUN_RESULTS_FILE, config.parsed_dir / MANIFEST_FILE), s3_client
            )
        except ArtifactUploadError:
            _raise_for_failures(request, results, crash, anomalies)  # a dbt failure matters more than its artifacts
            raise
    _raise_for_failures(request, results, crash, anomalies)
    return TaskSummary(
        task=request.task,
        status="success",
        refresh_window=window,
        models=[r.to_dict() for r in results if r.resource_type in ORCHESTRATED_TYPES],
        tests=_test_counts(results),
        seconds=round(time.monotonic() - started, 3),
        database_user=user,
        invocation_id=invocation_id,
        artifacts=artifacts,
        landing_missing=landing_missing,
        warnings=anomalies,
    )


def _check_landing(
    request: TaskRequest, manifest: Any, selected: Sequence[str], s3_client: S3Client | None
) -> list[str]:
    """The landing gate (orchestrator.landing.gate) for the extracts the task's models read (a task never
    fails for an extract it does not read): on DuckDB the local data directory, on Redshift the landing S3
    folder; other warehouses load their landing tables with a loader, which has no markers. Returns the
    deliveries accepted as missing."""
    extracts = {uid: source.name for uid, source in manifest.sources.items() if source.meta.get("landing") == "extract"}
    reads = {
        dependency
        for node in manifest.nodes.values()
        if node.resource_type in ORCHESTRATED_TYPES and node.name in selected
        for dependency in getattr(node.depends_on, "nodes", ())  # a seed depends on macros only
    }
    read = sorted(name for uid, name in extracts.items() if uid in reads)
    if not read:
        return []
    store: landing_gate.LandingStore
    adapter = manifest.metadata.adapter_type
    if adapter == "duckdb":
        store = landing_gate.LocalLanding(settings.data_dir())
    elif adapter == "redshift":
        uri = os.environ.get(landing_gate.LANDING_S3_URI_ENV, "")
        store = landing_gate.S3Landing(uri, s3_client or aws_client("s3"))
    else:
        return []
    try:
        return landing_gate.check_window(store, request.window, request.allow_missing, read)
    except LandingIncomplete as error:
        raise LandingIncomplete(f"task {request.task} ({request.window}): {error}") from None


@contextlib.contextmanager
def scratch_dir(config: RunnerConfig, name: str) -> Iterator[Path]:
    """A fresh directory under the work root for one dbt invocation's target and logs, removed after."""
    config.work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"dbt-{name}-", dir=config.work_root))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def warehouse_session(config: RunnerConfig) -> Iterator[None]:
    """The warehouse lock and login for one dbt invocation (a Redshift password from Secrets Manager when the
    stack names one, see `orchestrator.runtime.redshift_login`); the embedded database is released before the
    lock is."""
    with _warehouse_lock(config.warehouse_lock), settings.scoped_environment(redshift_login.login_environment()):
        try:
            yield
        finally:
            release_embedded_database()


def _warehouse_lock(path: Path | None) -> contextlib.AbstractContextManager[object]:
    """The embedded warehouse's lock (tasks take turns: DuckDB takes one writer); none on a server warehouse."""
    return contextlib.nullcontext() if path is None else file_lock.exclusive(path)


def common_args(config: RunnerConfig, work: Path) -> list[str]:
    """Project, profile and target as the image's `dbt parse` passes them (infra/image-build.sh): dbt counts
    an explicit --target in its partial-parse check, so a parse without it would make every task reparse."""
    return [
        "--project-dir",
        str(config.project_dir),
        "--profiles-dir",
        str(config.profiles_dir),
        "--target",
        config.target,
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]


def _manifest_key(config: RunnerConfig) -> tuple[str, str, str, str]:
    """What a parsed manifest depends on: the project, the profile and target, and the embedded warehouse
    the profile points at (DuckDB names the database after its file, and relation names carry it)."""
    return (str(config.project_dir), str(config.profiles_dir), config.target, str(settings.duckdb_path()))


def adopt_manifest(config: RunnerConfig, manifest: Any) -> None:
    """Use `manifest` (parsed by this process with the same project, profiles and target) for later
    tasks, instead of parsing again: the local emulator's in-process runner after its `dbt parse`."""
    with _PARSE_LOCK:
        _MANIFESTS[_manifest_key(config)] = manifest


def parsed_manifest(config: RunnerConfig, work: Path) -> Any:
    """dbt's Manifest, parsed once per process from the pre-built partial parse file."""
    from dbt.cli.main import dbtRunner

    key = _manifest_key(config)
    with _PARSE_LOCK:
        if key in _MANIFESTS:
            return _MANIFESTS[key]
        prebuilt = config.parsed_dir / PARTIAL_PARSE_FILE
        (work / "target").mkdir(parents=True, exist_ok=True)
        if prebuilt.is_file():
            shutil.copyfile(prebuilt, work / "target" / PARTIAL_PARSE_FILE)
        result = dbtRunner().invoke(["--quiet", "parse", *common_args(config, work)])
        if not result.success or result.result is None:
            raise DbtCrashed(f"dbt could not parse the project {config.project_dir}: {_short(str(result.exception))}")
        _MANIFESTS[key] = result.result
        return result.result


def _invoke_build(
    request: TaskRequest, config: RunnerConfig, selected: Sequence[str], work: Path
) -> tuple[list[NodeResult], str | None, str | None, str | None]:
    from dbt.artifacts.schemas.run import RunExecutionResult
    from dbt.cli.main import dbtRunner

    manifest = parsed_manifest(config, work)
    args = [
        # nothing on the console: a failure reaches the caller as the task's typed error (and dbt's own
        # log file, kept at dbt's default level); in the local emulator the Lambda runs inside the CLI,
        # whose stdout is the user's
        "--log-level",
        "none",
        "--log-level-file",
        "debug",
        # dbt would write manifest.json at every invocation (0.3 s); the runner writes run_results.json
        # itself and uploads the manifest.json parsed with the image instead (the same content)
        "--no-write-json",
        "build",
        "--select",
        *selected,
        *request.extra_tests,
        "--indirect-selection",
        "buildable",
        # unit tests check the models' SQL on fixtures, not the data: they run in CI (`make test`), and
        # production runs leave them out, as dbt recommends (DBT_EXCLUDE_RESOURCE_TYPES=unit_test)
        "--exclude-resource-type",
        "unit_test",
        *common_args(config, work),
    ]
    if request.full_refresh:
        args.append("--full-refresh")
    try:
        outcome = dbtRunner(manifest=manifest).invoke(args)
    except Exception as error:  # dbtRunner reports most failures in its result; this is the rest
        return [], None, dbt_error_text(error), None
    crash = None if outcome.exception is None else dbt_error_text(outcome.exception)
    execution = outcome.result
    if isinstance(execution, RunExecutionResult):
        (work / "target").mkdir(parents=True, exist_ok=True)
        execution.write(str(work / "target" / RUN_RESULTS_FILE))
    results = [_node_result(r) for r in getattr(execution, "results", None) or ()]
    invocation_id = _invocation_id()
    user = _database_user(manifest) if crash is None else None
    return results, invocation_id, crash, user


def release_embedded_database() -> None:
    """Close DuckDB's database file if dbt-duckdb left it open in this process.

    dbt-duckdb keeps the file open after an invocation (profile `keep_open` defaults to true), which
    holds DuckDB's one-writer file lock: the next task in ANOTHER process (an ECS container locally)
    could not open the warehouse. Called inside the warehouse lock, after each build.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    environment = DuckDBConnectionManager._ENV
    DuckDBConnectionManager.close_all_connections()  # type: ignore[no-untyped-call]
    if environment is not None:
        environment.close()


def _node_result(result: Any) -> NodeResult:
    response = result.adapter_response or {}
    rows = response.get("rows_affected") if isinstance(response, Mapping) else None
    return NodeResult(
        name=str(result.node.name),
        resource_type=str(result.node.resource_type),
        status=str(result.status),
        seconds=round(float(result.execution_time or 0.0), 3),
        rows_affected=int(rows) if isinstance(rows, int) and rows >= 0 else None,
        message=None if result.message is None else str(result.message),
    )


def _invocation_id() -> str | None:
    from dbt_common.invocation import get_invocation_id

    return str(get_invocation_id())


def _database_user(manifest: Any) -> str | None:
    """`select current_user` through dbt's adapter (the user that ran the task's SQL)."""
    try:
        rows = _query(manifest, "select current_user as database_user")
    except Exception:  # informational only: a failed look-up must not fail a build that loaded its data
        return None
    return str(rows[0][0]) if rows else None


def _query(manifest: Any, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query through dbt's adapter, on the connection the task's build used."""
    from dbt.adapters.factory import get_adapter_by_type

    adapter = get_adapter_by_type(manifest.metadata.adapter_type)  # type: ignore[no-untyped-call]
    try:
        with adapter.connection_named("store_sales_runner_query"):
            _, table = adapter.execute(sql, fetch=True)
    finally:
        adapter.cleanup_connections()
    return [tuple(row) for row in table.rows]


def _volume_anomalies(request: TaskRequest, manifest: Any, results: Sequence[NodeResult]) -> list[str]:
    """The lines of a volume check that warned or failed: its model's meta `volume_monitor` names the date
    and message columns (models/monitoring); read for the window's days, in order."""
    flagged = {r.name for r in results if r.resource_type in TEST_TYPES and r.status in {"warn", "fail"}}
    lines: list[str] = []
    for node in manifest.nodes.values():
        attached = getattr(node, "attached_node", None)
        if node.resource_type not in TEST_TYPES or node.name not in flagged or attached not in manifest.nodes:
            continue
        model = manifest.nodes[attached]
        monitor = model.config.meta.get("volume_monitor")
        if not monitor:
            continue
        date_column, message_column = monitor["date_column"], monitor["message_column"]
        start, end = request.window.start.isoformat(), request.window.end.isoformat()
        where = (
            f"{date_column} between cast('{start}' as date) and cast('{end}' as date) and {message_column} is not null"
        )
        sql = f"select {message_column} from {model.relation_name} where {where} order by 1"
        try:
            found = [str(row[0]) for row in _query(manifest, sql)]
        except Exception as error:  # the test's verdict stands; only its details are missing
            found = [f"{node.name}: the anomalies could not be read from {model.relation_name}: {_short(str(error))}"]
        lines.extend(found[:ANOMALIES_SHOWN])
        if len(found) > ANOMALIES_SHOWN:
            lines.append(f"and {len(found) - ANOMALIES_SHOWN} more in {model.relation_name} where {where}")
    return lines


def dbt_error_text(error: BaseException) -> str:
    """What stopped dbt, on one line: the error's own message, where it happened when that is a node (a model,
    a test), without dbt's framing ("Compilation Error in operation store_sales-on-run-start-2", the macro
    call chain "> in macro ... > called by ...") or colour codes."""
    from dbt_common.exceptions import DbtRuntimeError

    if not isinstance(error, DbtRuntimeError):
        return _short(f"{type(error).__name__}: {error}")
    node = error.node
    where = f" in {error.node_to_string(node)}" if getattr(node, "resource_type", "operation") != "operation" else ""
    return _short(f"{error.type} error{where}: {error.msg}")


def _short(text: str) -> str:
    flat = " ".join(ANSI_ESCAPE.sub("", text).split())
    return flat if len(flat) <= MESSAGE_LIMIT else flat[: MESSAGE_LIMIT - 3] + "..."


def _is_transient(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in TRANSIENT_MARKERS)


def _raise_for_failures(
    request: TaskRequest, results: Sequence[NodeResult], crash: str | None, anomalies: Sequence[str] = ()
) -> None:
    where = f"task {request.task} ({request.window})"
    if crash is not None:
        leaf: type[RunnerError] = DbtTransientError if _is_transient(crash) else DbtCrashed
        raise leaf(f"{where}: dbt stopped: {_short(crash)}")
    failed_models = [r for r in results if r.resource_type in ORCHESTRATED_TYPES and r.status == "error"]
    if failed_models:
        details = "; ".join(f"{r.resource_type} {r.name} failed: {_short(r.message or '')}" for r in failed_models)
        transient = all(_is_transient(r.message or "") for r in failed_models)
        raise (DbtTransientError if transient else DbtModelFailed)(f"{where}: {details}")
    failed_tests = [r for r in results if r.resource_type in TEST_TYPES and r.status in {"fail", "error"}]
    if failed_tests:
        details = "; ".join(f"test {r.name} {r.status}: {_short(r.message or '')}" for r in failed_tests)
        volume = f"; volume anomalies: {'; '.join(anomalies)}" if anomalies else ""
        raise DbtTestFailed(f"{where}: {len(failed_tests)} test(s) failed: {details}{volume}")


def _test_counts(results: Sequence[NodeResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        if r.resource_type in TEST_TYPES:
            counts[r.status] = counts.get(r.status, 0) + 1
    return dict(sorted(counts.items()))


def _upload_artifacts(request: TaskRequest, files: Sequence[Path], s3_client: S3Client | None) -> str | None:
    if not request.artifacts_bucket:
        return None
    prefix = "/".join(p for p in (request.artifacts_prefix.strip("/"), request.execution, request.task) if p)
    client = s3_client or aws_client("s3")
    try:
        for path in files:
            if path.is_file():
                client.upload_file(str(path), request.artifacts_bucket, f"{prefix}/{path.name}")
    except Exception as error:  # botocore raises several unrelated types (ClientError, EndpointError...)
        raise ArtifactUploadError(
            f"task {request.task}: uploading dbt artifacts to s3://{request.artifacts_bucket}/{prefix}/ "
            f"failed: {error}; check the bucket name and the task role's s3:PutObject permission"
        ) from None
    return f"s3://{request.artifacts_bucket}/{prefix}/"


class BackgroundThread:
    """A daemon thread that runs `_run` for the length of a `with` block; `_done` is set when the block ends."""

    def __init__(self, name: str) -> None:
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()


class DeadlineWatch(BackgroundThread):
    """From `deadline` on (None: never), until the block ends, cancels dbt's open queries every
    `CANCEL_INTERVAL_SECONDS` (a node that starts after a cancel is cancelled in turn); `passed` says whether
    the deadline came."""

    def __init__(self, deadline: float | None, adapter_type: str) -> None:
        super().__init__("lambda-deadline")
        self.deadline = deadline
        self.adapter_type = adapter_type
        self.passed = False

    def __enter__(self) -> Self:
        return super().__enter__() if self.deadline is not None else self  # no deadline, no thread

    def _run(self) -> None:
        assert self.deadline is not None
        if self._done.wait(max(0.0, self.deadline - time.monotonic())):
            return
        self.passed = True
        from dbt.adapters.factory import get_adapter_by_type

        while True:
            with contextlib.suppress(Exception):  # no adapter or no open connection yet: nothing to cancel
                get_adapter_by_type(self.adapter_type).cancel_open_connections()  # type: ignore[no-untyped-call]
            if self._done.wait(CANCEL_INTERVAL_SECONDS):
                return


# Step Functions' answers to SendTaskHeartbeat that mean the state is over: it timed out, or its execution ended
STATE_ENDED_ERRORS = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})
# the definition beats every HeartbeatSeconds / 4: four intervals without an accepted beat and the state has
# timed out for sure, even when Step Functions cannot be reached to say so
BEATS_BEFORE_GIVING_UP = 4


def stop_container(error: TaskStateEnded) -> None:
    """End the container now: dbt's open transaction dies with it, so the warehouse keeps what it had."""
    print(f"error: {error}", file=sys.stderr, flush=True)
    os._exit(int(error.exit_code))


class Heartbeat(BackgroundThread):
    """Sends SendTaskHeartbeat every `interval` seconds from a daemon thread until stopped.

    When the state is over (Step Functions answers TaskTimedOut, TaskDoesNotExist or InvalidToken, or no beat
    was accepted for `BEATS_BEFORE_GIVING_UP` intervals) it calls `on_state_ended`, which by default stops the
    container: a timed-out or aborted task leaves no ECS task running behind it."""

    def __init__(
        self,
        sfn: SFNClient,
        token: str,
        interval: float,
        task: str = "",
        on_state_ended: Callable[[TaskStateEnded], None] = stop_container,
    ) -> None:
        super().__init__("sfn-heartbeat")
        self._sfn = sfn
        self._token = token
        self._interval = interval
        self._task = task
        self._on_state_ended = on_state_ended

    def _run(self) -> None:
        accepted = time.monotonic()
        while not self._done.wait(self._interval):
            try:
                self._sfn.send_task_heartbeat(taskToken=self._token)
                accepted = time.monotonic()
                continue
            except Exception as error:  # a missed beat is what HeartbeatSeconds is for
                code = getattr(error, "response", {}).get("Error", {}).get("Code")
            silent = time.monotonic() - accepted
            if code in STATE_ENDED_ERRORS:
                reason = f"Step Functions answered its heartbeat with {code}"
            elif silent >= BEATS_BEFORE_GIVING_UP * self._interval:
                reason = f"no heartbeat was accepted for {silent:.0f} s, so its state has timed out"
            else:
                continue
            self._on_state_ended(
                TaskStateEnded(
                    f"task {self._task}: {reason}; the container stops without finishing (the execution has "
                    "moved on; a rerun of the window loads it)"
                )
            )
            return


def main(env: Mapping[str, str] | None = None) -> int:
    """The ECS container's command: run the task from the environment, report to Step Functions."""
    values = os.environ if env is None else env
    token = values.get(ENV_TASK_TOKEN)
    sfn = aws_client("stepfunctions") if token else None
    try:
        output = _run_from_env(values, sfn, token)
    except StoreSalesError as error:
        if sfn is not None and token is not None:
            sfn.send_task_failure(taskToken=token, error=type(error).__name__, cause=str(error)[:CAUSE_LIMIT])
        print(f"error: {error}", file=sys.stderr)
        return int(error.exit_code)
    except Exception as error:  # the container must always report, or the state waits for its heartbeat
        if sfn is not None and token is not None:
            cause = f"{type(error).__name__}: {error}"[:CAUSE_LIMIT]
            sfn.send_task_failure(taskToken=token, error=DbtCrashed.__name__, cause=cause)
        raise
    if sfn is not None and token is not None:
        sfn.send_task_success(taskToken=token, output=output)
    else:
        print(output)
    return 0


def _run_from_env(values: Mapping[str, str], sfn: SFNClient | None, token: str | None) -> str:
    config = RunnerConfig.from_env()
    request = TaskRequest.from_env(values)
    if sfn is None or token is None:
        summary = run_task(request, config)
    else:
        with Heartbeat(sfn, token, settings.HEARTBEAT_SECONDS.seconds(values), request.task):
            summary = run_task(request, config)
    return json.dumps(summary.to_dict(), sort_keys=True)


if __name__ == "__main__":
    raise SystemExit(main())
