"""The five measurements of issue 7, run as real commands in subprocesses (see bench/README.md).

Every measured run starts from its own copy of a prepared warehouse (`bench.warehouse`), so runs
never see each other's state; variants that are compared with each other run in the same round,
one after the other, and the ratios are taken per round, because the machine is shared and noisy.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.errors import BenchmarkError
from bench.measure import Measured, run_measured
from bench.warehouse import (
    Comparison,
    RunDir,
    compare,
    fresh_run_dir,
    remove,
    trim_history,
    warehouse_rows,
)
from orchestrator.window import RefreshWindow

PROJECT_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DBT = str(Path(sys.executable).with_name("dbt"))
DAILY_DATE = date(2002, 12, 31)
SHORT_HISTORY_DAYS = 30
POLL_SECONDS = 10
TRANSITION_PRICE_PER_1000 = 0.025
CLEARED_ENV = (
    "STORE_SALES_WINDOW_START",
    "STORE_SALES_WINDOW_END",
    "STORE_SALES_STATE_MACHINE_ARN",
    "STORE_SALES_CONFIG",
    "STORE_SALES_TARGET",
    "STORE_SALES_DATA_DIR",
    "STORE_SALES_DUCKDB",
    "STORE_SALES_DEBUG",
)


@dataclass(frozen=True)
class BenchOptions:
    scale: float
    runs: int
    sequence_days: int
    work_dir: Path
    results: Path
    quick: bool
    render_only: bool = False


@dataclass
class Results:
    """Everything measured, JSON-ready (bench/runs/<scale>/results.json) and rendered by bench.report."""

    options: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, str] = field(default_factory=dict)
    dates: dict[str, str] = field(default_factory=dict)
    setup: dict[str, float] = field(default_factory=dict)
    daily: list[dict[str, Any]] = field(default_factory=list)
    history_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    backfill: list[dict[str, Any]] = field(default_factory=list)
    sequence: list[dict[str, Any]] = field(default_factory=list)
    short_backfill_seconds: float = 0.0
    execution: dict[str, Any] = field(default_factory=dict)
    footprint: list[dict[str, Any]] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)


class Bench:
    def __init__(self, options: BenchOptions) -> None:
        self.options = options
        self.work = options.work_dir.resolve()
        self.data_dir = self.work / "data"
        self.prep_dir = self.work / "prep"
        self.scratch = self.work / "scratch"
        self.logs = self.work / "logs"
        self.dbt_target = self.work / "dbt-target"
        self.results = Results()
        self._log_number = 0

    # -- plumbing --------------------------------------------------------------------------------
    def _log(self, label: str) -> Path:
        self._log_number += 1
        return self.logs / f"{self._log_number:04d}-{label}.log"

    def _env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in CLEARED_ENV}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_DIR), os.environ.get("PYTHONPATH")) if p)
        env.update(extra or {})
        return env

    def _measure(self, label: str, command: list[str], extra_env: dict[str, str] | None = None) -> Measured:
        return run_measured(command, self._env(extra_env), PROJECT_DIR, self._log(label))

    def _run_dir(self, name: str, warehouse: Path | None) -> RunDir:
        return fresh_run_dir(self.scratch / name, self.data_dir, warehouse)

    # -- the variants ----------------------------------------------------------------------------
    def handwritten(self, run: RunDir, window: RefreshWindow, label: str) -> dict[str, Any]:
        command = [PYTHON, "-m", "bench.handwritten", "--database", str(run.warehouse), "--data-dir", str(run.path)]
        measured = self._measure(label, [*command, "--start", str(window.start), "--end", str(window.end)])
        sql = float(_json(measured.stdout, label)["seconds"])
        return {"seconds": measured.seconds, "sql_seconds": sql, "peak_rss_mb": measured.peak_rss_mb}

    def dbt_build(self, run: RunDir, window: RefreshWindow, label: str) -> dict[str, Any]:
        target = self.dbt_target
        logs = run.path / "dbt-logs"
        command = [DBT, "--log-format-file", "json", "build", "--target-path", str(target), "--log-path", str(logs)]
        measured = self._measure(label, command, {**run.env(), **window.as_env()})
        return {"seconds": measured.seconds, "peak_rss_mb": measured.peak_rss_mb, **_dbt_breakdown(target, logs)}

    def pipeline_run(self, run: RunDir, day: date, label: str) -> dict[str, Any]:
        command = [PYTHON, "-m", "orchestrator", "run", "--date", str(day), "--json"]
        measured = self._measure(label, command, run.env())
        return {**_process(measured), **_execution_breakdown(_json(measured.stdout, label), label)}

    def pipeline_backfill(self, run: RunDir, window: RefreshWindow, label: str) -> dict[str, Any]:
        """`backfill` prints progress lines only: the execution's record is read from the run's journal."""
        command = [PYTHON, "-m", "orchestrator", "backfill", "--start", str(window.start), "--end", str(window.end)]
        measured = self._measure(label, command, run.env())
        records = sorted((run.path / "executions").glob("*.json"))
        if len(records) != 1:
            raise BenchmarkError(f"{label}: expected one execution in {run.path / 'executions'}, found {len(records)}")
        document = json.loads(records[0].read_text(encoding="utf-8"))
        return {**_process(measured), **_execution_breakdown(document, label)}

    def parse_as_pipeline(self, name: str) -> None:
        """Parse the project the way `run` and `backfill` do in the run directory `name` (the CLI's
        `ensure_parsed`), untimed. dbt discards its partial parse when the profile changes, and the profile holds
        the warehouse path, which differs per run directory: without this, the first measured command in a new
        directory pays a full parse (about 4 s at SF 1) that repeated runs in one place never pay. In the daily
        rounds that first command is always (c) on five years, which made history look expensive."""
        code = "from orchestrator import settings; from orchestrator.modes.local import ensure_parsed; " + (
            "ensure_parsed(settings.project_dir())"
        )
        self._measure(f"parse-{name}", [PYTHON, "-c", code], RunDir(self.scratch / name).env())

    def import_seconds(self) -> float:
        command = [PYTHON, "-c", "import dbt.cli.main, dbt.adapters.duckdb"]
        return self._measure("import-dbt", command).seconds

    # -- preparation -----------------------------------------------------------------------------
    def prepare(self) -> tuple[RefreshWindow, date, Path, Path]:
        """Sample data, the parsed project, the five-year and the one-month warehouses (cached)."""
        for stale in (self.logs, self.scratch):
            shutil.rmtree(stale, ignore_errors=True)
        marker = self.data_dir / "landing" / "_sample.json"
        scale_ok = marker.is_file() and float(json.loads(marker.read_text())["scale"]) == self.options.scale
        if not scale_ok:
            command = [PYTHON, "-m", "orchestrator", "sample-data", "--scale", f"{self.options.scale:g}"]
            measured = self._measure("sample-data", [*command, "--data-dir", str(self.data_dir), "--force"])
            self.results.setup["sample_data_seconds"] = measured.seconds
            self.results.setup["sample_data_peak_mb"] = measured.peak_rss_mb
        self.results.setup["sales_lines"] = float(json.loads(marker.read_text())["rows"]["store_sales"])
        self.results.setup["landing_mb"] = _megabytes(self.data_dir / "landing")
        sales_dates = _sales_dates(self.data_dir)
        full = RefreshWindow(sales_dates[0], sales_dates[-1])
        daily = max(day for day in sales_dates if day <= DAILY_DATE)
        history = RefreshWindow(full.start, daily - timedelta(days=1))
        self.dbt_target.mkdir(parents=True, exist_ok=True)
        # parsed with the environment (b) runs with, so that its first run finds a valid partial parse
        parse = [DBT, "parse", "--target-path", str(self.dbt_target), "--log-path", str(self.work / "dbt-logs")]
        parse_env = RunDir(self.scratch / "daily-b").env()
        self.results.setup["dbt_parse_seconds"] = self._measure("dbt-parse", parse, parse_env).seconds
        self.prep_dir.mkdir(parents=True, exist_ok=True)
        # keyed on the models too: a history built by other models fails the measured runs (on_schema_change)
        long_history = (
            self.prep_dir / f"history-{history.start}-{history.end}-{project_fingerprint(PROJECT_DIR)}.duckdb"
        )
        for stale in self.prep_dir.glob("history-*"):  # with their write-ahead logs
            if stale.name not in (long_history.name, f"{long_history.name}.wal"):
                stale.unlink()
        if not long_history.is_file():
            run = self._run_dir("prepare-history", None)
            self.results.setup["history_backfill_seconds"] = self.pipeline_backfill(run, history, "prepare")["seconds"]
            run.warehouse.replace(long_history)
            remove(run)
        self.results.setup["warehouse_mb"] = _megabytes(long_history)
        keep_from = daily - timedelta(days=SHORT_HISTORY_DAYS)
        short_history = self.prep_dir / f"short-history-{keep_from}-{history.end}.duckdb"
        self.results.history_rows = {
            "five_years": warehouse_rows(long_history),
            "one_month": trim_history(long_history, short_history, keep_from),
        }
        self.results.dates = {
            "full_window": str(full),
            "full_window_days": str(full.days),
            "sales_dates": str(len(sales_dates)),
            "daily_date": str(daily),
            "history": str(history),
            "short_history": str(RefreshWindow(keep_from, history.end)),
        }
        return full, daily, long_history, short_history

    # -- 1 and 3: the daily refresh against five years and one month of history ------------------------
    def measure_daily(self, daily: date, long_history: Path, short_history: Path) -> None:
        window = RefreshWindow.day(daily)
        self.parse_as_pipeline("daily-c")
        for round_number in range(1, self.options.runs + 1):
            for history, warehouse in (("five_years", long_history), ("one_month", short_history)):
                row: dict[str, Any] = {"round": round_number, "history": history}
                for variant in ("a", "b", "c"):
                    # one path per variant whatever the history: the dbt profile (warehouse path) stays the
                    # same, so dbt's partial parse stays valid, as on a developer's machine
                    run = self._run_dir(f"daily-{variant}", warehouse)
                    label = f"daily-{history}-{variant}-{round_number}"
                    if variant == "a":
                        row[variant] = self.handwritten(run, window, label)
                    elif variant == "b":
                        row[variant] = self.dbt_build(run, window, label)
                    else:
                        row[variant] = self.pipeline_run(run, daily, label)
                row["import_dbt_seconds"] = self.import_seconds()
                self.results.daily.append(row)
                if round_number == 1 and history == "five_years":
                    self._check_daily_equal(daily)
                for variant in ("a", "b", "c"):
                    remove(RunDir(self.scratch / f"daily-{variant}"))

    def _check_daily_equal(self, daily: date) -> None:
        warehouses = {v: self.scratch / f"daily-{v}" / "warehouse.duckdb" for v in ("a", "b", "c")}
        scope = f"whole tables after the daily refresh of {daily} on the five-year warehouse"
        for left, right in (("a", "b"), ("b", "c")):
            names = (f"({left}) {_VARIANTS[left]}", f"({right}) {_VARIANTS[right]}")
            self._record(compare(warehouses[left], warehouses[right], names=names, scope=scope))

    def _record(self, comparison: Comparison) -> None:
        self.results.checks.append(
            {
                "left": comparison.left,
                "right": comparison.right,
                "scope": comparison.scope,
                "equal": comparison.equal,
                "summary": comparison.summary(),
            }
        )

    # -- 2: the backfill of the whole history -------------------------------------------------------
    def measure_backfill(self, full: RefreshWindow) -> None:
        self.parse_as_pipeline("backfill-c")
        for round_number in range(1, self.options.runs + 1):
            row: dict[str, Any] = {"round": round_number}
            hand = self._run_dir("backfill-a", None)
            row["a"] = self.handwritten(hand, full, f"backfill-a-{round_number}")
            pipeline = self._run_dir("backfill-c", None)
            row["c"] = self.pipeline_backfill(pipeline, full, f"backfill-c-{round_number}")
            self.results.backfill.append(row)
            if round_number == 1:
                scope = f"whole tables after loading {full} from an empty warehouse"
                names = ("(a) hand-written set-based rebuild", "(c) backfill")
                self._record(compare(hand.warehouse, pipeline.warehouse, names=names, scope=scope))
                pipeline.warehouse.replace(self.prep_dir / "full-backfill.duckdb")
            remove(hand)
            remove(pipeline)
        sequence_window = RefreshWindow(full.start, full.start + timedelta(days=self.options.sequence_days - 1))
        self.parse_as_pipeline("sequence-b")
        daily_runs = self._run_dir("sequence-b", None)
        for day in sequence_window.dates():
            measured = self.pipeline_run(daily_runs, day, f"sequence-{day}")
            self.results.sequence.append({"date": str(day), **measured})
        self.parse_as_pipeline("sequence-c")
        short = self._run_dir("sequence-c", None)
        self.results.short_backfill_seconds = self.pipeline_backfill(short, sequence_window, "sequence-backfill")[
            "seconds"
        ]
        names = (f"{sequence_window.days} daily runs", f"(c) backfill of {sequence_window}")
        scope = f"whole tables, both from an empty warehouse, window {sequence_window}"
        self._record(compare(daily_runs.warehouse, short.warehouse, names=names, scope=scope))
        last = sequence_window.end
        self._record(
            compare(
                daily_runs.warehouse,
                self.prep_dir / "full-backfill.duckdb",
                names=(f"{sequence_window.days} daily runs", f"(c) backfill of {full}"),
                scope=f"the rows both histories must share up to {last} (see 'Checks')",
                projections=_shared_history(last),
            )
        )
        remove(daily_runs)
        remove(short)
        (self.prep_dir / "full-backfill.duckdb").unlink(missing_ok=True)

    # -- 4: state transitions of one execution ----------------------------------------------------------
    def measure_execution(self, daily: date, long_history: Path) -> None:
        run = self._run_dir("history", long_history)
        command = [PYTHON, "-m", "bench.history", "--start", str(daily)]
        measured = self._measure("history", command, run.env())
        self.results.execution = _json(measured.stdout, "bench.history")
        remove(run)

    # -- 5: footprint of the runner ---------------------------------------------------------------------
    def measure_footprint(self, daily: date, long_history: Path) -> None:
        """The runner processes of a daily refresh, one per task, the way the ECS container runs them
        (the backfill's runner peaks come from the (c) backfill runs: see `_process`)."""
        tasks = _plan_tasks()
        window = RefreshWindow.day(daily)
        parsed = self.work / "footprint-parsed"
        for round_number in range(1, self.options.runs + 1):
            run = self._run_dir("footprint-daily", long_history)
            # what the image build does: parse once with the profile the runners will see, so every
            # cold task starts from a valid partial parse (a different warehouse path forces a full parse)
            # (with --target, as the image build and the runner pass it: dbt counts it in that check)
            parse = [DBT, "parse", "--target", "local", "--target-path", str(parsed)]
            self._measure(f"footprint-parse-{round_number}", parse, run.env())
            for key, models, extra_tests in tasks:
                env = {
                    **run.env(),
                    **window.as_env(),
                    "STORE_SALES_TASK": key,
                    "STORE_SALES_MODELS": " ".join(models),
                    "STORE_SALES_EXTRA_TESTS": " ".join(extra_tests),
                    "STORE_SALES_EXECUTION": f"bench-daily-{round_number}",
                    "STORE_SALES_WORK_DIR": str(run.path / "runner"),
                    "DBT_PROFILES_DIR": str(PROJECT_DIR),
                    "STORE_SALES_PARSED_DIR": str(parsed),
                }
                label = f"runner-daily-{key}-{round_number}"
                measured = self._measure(label, [PYTHON, "-m", "orchestrator.runtime.runner"], env)
                summary = _json(measured.stdout, label)
                self.results.footprint.append(
                    {
                        "round": round_number,
                        "task": key,
                        "seconds": measured.seconds,
                        "task_seconds": summary.get("seconds"),
                        "peak_rss_mb": measured.peak_rss_mb,
                    }
                )
            remove(run)


_VARIANTS = {"a": "hand-written SQL", "b": "dbt build", "c": "run (local emulator)"}


def _shared_history(last: date) -> dict[str, str]:
    """What a short daily sequence and a longer backfill must agree on, up to `last`: the fact and the
    daily report rows of those days, the weekly rows of weeks that ended by then, the keys of the
    addresses first seen by then, and the item versions opened by then (key, start, price). Later
    days may legitimately change dimension attributes in place and close versions."""
    day = f"date '{last}'"
    return {
        "fct_store_sales": f"select * from {{relation}} where ss_sold_date <= {day}",
        "rpt_daily_store_sales": f"select * from {{relation}} where sold_date <= {day}",
        "rpt_weekly_region_sales": f"select * from {{relation}} where week_start_date + 6 <= {day}",
        "dim_customer_address": (
            f"select ca_address_sk, ca_address_id, ca_first_load_date from {{relation}} "
            f"where ca_first_load_date <= {day}"
        ),
        "dim_item": (
            f"select i_item_sk, i_item_id, i_rec_start_date, i_current_price from {{relation}} "
            f"where i_rec_start_date <= {day}"
        ),
    }


def _json(text: str, what: str) -> dict[str, Any]:
    """The JSON document in a command's output (after any progress lines)."""
    start = text.find("{")
    end = text.rfind("}")
    if start < 0 or end < start:
        raise BenchmarkError(f"{what} printed no JSON document: {text[-300:]!r}")
    try:
        document = json.loads(text[start : end + 1])
    except json.JSONDecodeError as error:
        raise BenchmarkError(f"{what} printed malformed JSON ({error}): {text[-300:]!r}") from None
    if not isinstance(document, dict):
        raise BenchmarkError(f"{what} printed JSON that is not an object")
    return document


def _dbt_breakdown(target: Path, logs: Path) -> dict[str, Any]:
    """Where `dbt build`'s time went. From dbt's JSON log: the span of its events (first to last), cut at
    "Found N models…" into start-up + partial parse and the rest; the on-run-start hooks; the time spent
    waiting for the database (every SQLQueryStatus `elapsed`, summed over 2 threads). From
    run_results.json: the models' and the tests' execution times, summed per node."""
    results = json.loads((target / "run_results.json").read_text())
    model_seconds = 0.0
    test_seconds = 0.0
    for node in results["results"]:
        kind = str(node["unique_id"]).split(".", 1)[0]
        if kind in ("test", "unit_test"):
            test_seconds += float(node["execution_time"])
        else:
            model_seconds += float(node["execution_time"])
    moments: dict[str, datetime] = {}
    hooks_seconds = 0.0
    sql_seconds = 0.0
    for line in (logs / "dbt.log").read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        info = event.get("info", {})
        name = str(info.get("name"))
        if name not in moments:
            moments[name] = datetime.fromisoformat(str(info["ts"]).replace("Z", "+00:00"))
        if name == "LogHookEndLine":
            hooks_seconds += float(event["data"].get("execution_time") or 0)
        elif name == "SQLQueryStatus":
            sql_seconds += float(event["data"].get("elapsed") or 0)
    first = min(moments.values())
    last = max(moments.values())
    found = moments.get("FoundStats", first)
    return {
        "log_span_seconds": (last - first).total_seconds(),
        "parse_seconds": (found - first).total_seconds(),
        "after_parse_seconds": (last - found).total_seconds(),
        "dbt_elapsed": float(results["elapsed_time"]),
        "hooks_seconds": hooks_seconds,
        "models_seconds": model_seconds,
        "tests_seconds": test_seconds,
        "sql_seconds": sql_seconds,
        "nodes": len(results["results"]),
    }


def _process(measured: Measured) -> dict[str, Any]:
    """Seconds and memory of a `run`/`backfill` command: the tree's exact peak (wait4), the CLI process's
    peak (emulator + in-process Lambda runners) and the ECS runner subprocess's peak (sampled VmHWM)."""
    runner = [peak for name, peak in measured.process_peaks_mb.items() if "orchestrator.runtime.runner" in name]
    cli = [peak for name, peak in measured.process_peaks_mb.items() if " orchestrator " in f"{name} "]
    return {
        "seconds": measured.seconds,
        "peak_rss_mb": measured.peak_rss_mb,
        "cli_peak_mb": max(cli, default=0.0),
        "ecs_runner_peak_mb": max(runner, default=0.0),
    }


def _execution_breakdown(document: dict[str, Any], label: str) -> dict[str, Any]:
    """Per-state seconds and the runner's per-task seconds of an execution record (`run --json`, journal)."""
    if document.get("status") != "SUCCEEDED":
        raise BenchmarkError(f"{label}: the execution ended {document.get('status')}: {document.get('message')}")
    states = [
        {"name": s["name"], "type": s["type"], "seconds": s["seconds"], "retries": s["retries"]}
        for s in document["states"]
    ]
    tasks = {}
    for key, summary in (document.get("output") or {}).get("results", {}).items():
        tasks[key] = {
            "seconds": summary.get("seconds"),
            "models_seconds": sum(float(m["seconds"] or 0) for m in summary.get("models", [])),
        }
    started = datetime.fromisoformat(str(document["started"]))
    stopped = datetime.fromisoformat(str(document["stopped"]))
    return {"states": states, "tasks": tasks, "execution_seconds": (stopped - started).total_seconds()}


def _megabytes(path: Path) -> float:
    """Bytes on disk of a file, or of every file under a folder, in MB."""
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def _sales_dates(data_dir: Path) -> list[date]:
    folder = data_dir / "landing" / "store_sales"
    days = sorted(
        date.fromisoformat(p.name.removeprefix("load_date="))
        for p in folder.iterdir()
        if p.name.startswith("load_date=") and any(p.glob("*.parquet"))
    )
    if not days:
        raise BenchmarkError(f"no store_sales extracts in {folder}: the sample data generation failed")
    return days


def _plan_tasks() -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """The state machine's tasks (key, models, extra tests), as rendered from the parsed project."""
    from orchestrator.definition.graph import DbtGraph
    from orchestrator.definition.manifest import load_manifest
    from orchestrator.definition.state_machine import RenderOptions, plan_for

    plan = plan_for(DbtGraph.from_manifest(load_manifest(PROJECT_DIR)), RenderOptions())
    return [(task.key, task.models, task.extra_tests) for task in plan.tasks]


def workshop_transitions(job_seconds: dict[str, float]) -> dict[str, Any]:
    """The workshop's polling design for the same jobs: per job one submit task plus, per 10-second poll,
    a Wait, a status task and a Choice; around them a Parallel state and a final Succeed state."""
    polls = {job: max(1, math.ceil(seconds / POLL_SECONDS)) for job, seconds in job_seconds.items()}
    per_job = {job: 1 + 3 * count for job, count in polls.items()}
    return {"polls": polls, "per_job": per_job, "total": sum(per_job.values()) + 2}


def price(transitions: float) -> float:
    return transitions * TRANSITION_PRICE_PER_1000 / 1000


def project_fingerprint(project: Path) -> str:
    """A digest of what builds the warehouse: dbt_project.yml, the models, the macros and the seeds."""
    digest = hashlib.sha256()
    sources = sorted(
        file for folder in ("models", "macros", "seeds") for file in (project / folder).rglob("*") if file.is_file()
    )
    for file in (project / "dbt_project.yml", *sources):
        digest.update(f"{file.relative_to(project)}\0{file.stat().st_size}\0".encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]
