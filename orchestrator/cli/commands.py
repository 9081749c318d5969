"""The handlers of the commands that act on the pipeline or its warehouse: run, watch, history, status,
backfill, resume, report.

Each takes its typed options (`orchestrator.cli.options`), as the command table (`orchestrator.cli.parser`)
builds them, and acts through the `Backend` of its mode (`orchestrator.modes`, one rule for every command):
one path for AWS and the local emulator, which differ only in what the backend carries (where past executions
are kept, where the extracts land, the lock, the warehouse the reports and the ledger read, what stopping the
watch does).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator import config as config_module
from orchestrator import modes
from orchestrator.cli import display
from orchestrator.cli.options import (
    BackfillOptions,
    HistoryOptions,
    ReportOptions,
    ResumeOptions,
    RunOptions,
    StatusOptions,
    Target,
    Watching,
    WatchOptions,
)
from orchestrator.errors import (
    EnvironmentProblem,
    ExitCode,
    LoadGap,
    StoreSalesError,
    UsageError,
    WatchDeadlineExceeded,
)
from orchestrator.executions import launcher
from orchestrator.executions.history import RESUMABLE
from orchestrator.executions.launcher import ExecutionResult
from orchestrator.landing import catch_up
from orchestrator.landing import gate as landing_gate
from orchestrator.landing.contract import EXTRACTS
from orchestrator.modes.backend import Backend, Session
from orchestrator.protocol import ExecutionRequest
from orchestrator.runtime import eta
from orchestrator.runtime.step_functions import ExecutionStatus
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from orchestrator.cli.status import DayStatus
    from orchestrator.definition.graph import DbtGraph
    from orchestrator.reports import ReportConnection

_EXIT_BY_STATUS = {
    ExecutionStatus.SUCCEEDED: ExitCode.OK,
    ExecutionStatus.FAILED: ExitCode.PIPELINE_FAILED,
    ExecutionStatus.PENDING_REDRIVE: ExitCode.PIPELINE_FAILED,
    ExecutionStatus.TIMED_OUT: ExitCode.TIMED_OUT,
    ExecutionStatus.ABORTED: ExitCode.TIMED_OUT,
}


def _model_names(graph: DbtGraph, select: Sequence[str] = (), exclude: Sequence[str] = ()) -> tuple[str, ...]:
    """The models a selection means (everything when both are empty), from the parsed project."""
    chosen = graph.select(select, exclude)
    if not chosen:
        raise UsageError(f"the selection --select {' '.join(select)} --exclude {' '.join(exclude)} matches no model")
    return tuple(sorted(graph.nodes[uid].name for uid in chosen))


def _selection(options: RunOptions, session: Session) -> tuple[str, ...] | None:
    """`nodes` of the execution input: None for everything, else the selected model names (from the session's
    graph: locally the project it has just parsed)."""
    if not options.select and not options.exclude:
        return None
    return _model_names(session.graph(), options.select, options.exclude)


def _launch_and_watch(session: Session, request: ExecutionRequest, watching: Watching) -> ExecutionResult:
    ref = session.start(request)
    if not watching.json:
        print(f"started {ref.name} ({request.window}{', selected models' if request.nodes else ''})", flush=True)
    progress = None if watching.json else display.Progress()
    try:
        result = launcher.watch(
            session.sfn,
            ref.arn,
            deadline_seconds=watching.timeout,
            on_progress=progress,
            max_poll_seconds=session.max_poll_seconds,
            watch_options=session.watch_options,
        )
    except (KeyboardInterrupt, WatchDeadlineExceeded) as stopped:
        return session.stop_watching(ref, stopped)
    session.history.record(result)
    return result


def _finish(result: ExecutionResult, as_json: bool, session: Session | None = None, then: str = "") -> int:
    """The result on stdout (the tables, or JSON); a failure's one line, with `then` after it, on stderr. With the
    `session` that ran it, a stopped execution's summary also says which models `resume` would build."""
    if as_json:
        print(display.result_json(result))
    else:
        resume = None
        if session is not None and result.ref.status is ExecutionStatus.ABORTED:
            resume = rerun_nodes(result, _model_names(session.graph()))
        display.show_result(result, resume=resume)
    line = display.failure_line(result)
    if line is not None:
        print(line + then, file=sys.stderr, flush=True)
    return int(_EXIT_BY_STATUS.get(result.ref.status, ExitCode.PIPELINE_FAILED))


def _run_request(window: RefreshWindow, options: RunOptions, session: Session) -> ExecutionRequest:
    return ExecutionRequest(
        window,
        full_refresh=options.full_refresh,
        nodes=_selection(options, session),
        full_tests=options.full_tests,
        allow_missing=options.allow_missing,
        allow_gap=options.allow_gap,
    )


def _backend(target: Target) -> Backend:
    """The backend of the mode --local/--aws ask for, else of the configuration's (`orchestrator.modes`)."""
    return modes.backend(config_module.load(target.config_file), target.mode)


def run(options: RunOptions) -> int:
    backend = _backend(options.target)
    backend.check_can_run()
    window = options.window or _catch_up_window(backend, options.watching.json)
    if window is None:
        return ExitCode.OK
    if options.window is not None and not options.full_refresh:  # a full refresh starts at the first load date
        _refuse_gap(window, backend, options.allow_gap)
    if options.wait_for_landing:
        if options.watching.timeout <= 0:
            raise UsageError(
                f"--timeout {options.watching.timeout:g}: the wait for the landing needs a positive number of seconds"
            )
        landing_gate.wait_for_window(
            backend.landing(),
            window,
            options.allow_missing,
            options.watching.timeout,
            _say,
            poll_seconds=backend.landing_poll_seconds,
        )
    if options.no_wait:
        backend.check_detached()
    backend.check_window(window, full_refresh=options.full_refresh)
    with backend.exclusive(), backend.open((window,)) as session:
        request = _run_request(window, options, session)
        if options.no_wait:
            print(session.start(request).arn)
            return ExitCode.OK
        return _finish(_launch_and_watch(session, request, options.watching), options.watching.json, session)


def _catch_up_window(backend: Backend, json_output: bool) -> RefreshWindow | None:
    """`run` without a date: every landed day after the last loaded one, said first; None when none (with --json,
    said on stdout too: `{"status": "NOTHING_TO_DO", "last_loaded_day": ...}`, so a script always reads a document).

    A run of selected models does not count as a load, so the catch-up may reload a day: harmless, a
    window's load is idempotent and range == sequence."""
    last = backend.ledger.last_loaded_day()
    window = catch_up.landed_window(backend.landing(), last)
    if window is None:
        news = "no day has landed yet" if last is None else f"nothing new has landed after the last loaded day {last}"
        _say(f"catch-up: {news}; nothing to do")
        if json_output:
            print(json.dumps({"status": "NOTHING_TO_DO", "last_loaded_day": last.isoformat() if last else None}))
        return None
    since = "nothing loaded before" if last is None else f"after the last loaded day {last}"
    _say(f"catch-up: loading {window} ({window.days} landed day(s), {since})")
    return window


def _refuse_gap(window: RefreshWindow, backend: Backend, allow_gap: bool) -> None:
    """Refuse a window that would leave landed days unloaded before it: after the last loaded day, or from the
    first landed day when the warehouse holds no load at all. Type-2 history is only right when days load in
    order; --allow-gap starts anyway (said here, and recorded in the execution's input and the ledger).

    Where the landing cannot be listed (AWS without a landing_s3_uri) every day between the last
    loaded day and the window counts as landed, and a warehouse that holds no load refuses nothing."""
    ledger = backend.ledger
    last = ledger.last_loaded_day()
    if backend.knows_landing:
        landed = set().union(*(backend.landing().marker_days(extract, last) for extract in EXTRACTS))
        skipped = sorted(day for day in landed if day < window.start)
        unknown = ""
    else:
        skipped = [] if last is None or window.start <= last else list(RefreshWindow(last, window.start).dates())[1:-1]
        unknown = (
            f"; the landing is not listed here (set {landing_gate.LANDING_S3_URI_ENV} or landing_s3_uri in the [aws] "
            "table to count landed days only)"
        )
    if not skipped:
        return
    gap = RefreshWindow(skipped[0], skipped[-1])
    warehouse = ledger.describe()
    where = f"{warehouse} holds no load yet" if last is None else f"the last loaded day in {warehouse} is {last}"
    if allow_gap:
        _say(f"--allow-gap: {len(skipped)} landed day(s) in {gap} stay unloaded before {window} ({where}{unknown})")
        return
    raise LoadGap(
        f"refused: {window} would leave {len(skipped)} landed day(s) in {gap} unloaded before it ({where}{unknown}); "
        f"type-2 history is only right when days load in order: load them first with `python -m orchestrator run` "
        f"(catch-up) or `python -m orchestrator backfill --start {gap.start} --end {gap.end}`, or check "
        "STORE_SALES_DUCKDB / the configured warehouse; --allow-gap starts anyway"
    )


def status(options: StatusOptions) -> int:
    from orchestrator.cli import status as status_module

    if options.plot is not None:
        _check_plot_path(options.plot)
    backend = _backend(options.target)
    store = backend.landing()
    day = options.day or _newest_landed_day(store)
    # the day, and with --plot the PLOT_DAYS mornings up to it: one read of the landing, the history and the ledger
    days = RefreshWindow(day - timedelta(days=PLOT_DAYS - 1), day) if options.plot else RefreshWindow.day(day)
    arrivals = landing_gate.arrivals(store, days)
    executions = backend.history.covering(days)
    loads = backend.ledger.attempts(days)
    # enough of the newest executions to find the last RECENT_RUNS successful daily ones among backfills and reruns
    past = backend.history.recent(3 * eta.RECENT_RUNS)
    now = datetime.now(UTC)
    verdicts = [
        status_module.judge(
            each,
            status_module.deadline_of(each, options.deadline, status_module.time_zone()),
            arrivals[each],
            _of_day(executions, each),
            [entry for entry in loads if entry.window.overlaps(RefreshWindow.day(each))],
            backend.running() if each == day else None,
            now,
            past,
        )
        for each in days.dates()
    ]
    verdict = verdicts[-1]
    status_module.show(verdict, options.json)
    if options.plot is not None:
        _plot_mornings(verdicts, executions, options.plot)
    return int(verdict.exit_code)


PLOT_DAYS = 30


def _of_day(executions: list[ExecutionResult], day: date) -> list[ExecutionResult]:
    window = RefreshWindow.day(day)
    return [e for e in executions if e.ref.window is not None and e.ref.window.overlaps(window)]


def _plot_mornings(verdicts: list[DayStatus], executions: list[ExecutionResult], plot: Path) -> None:
    """`status --plot`: the mornings judged, from the first one with an extract landed or an execution (the day
    asked about always)."""
    from orchestrator import charts
    from orchestrator.cli import status as status_module

    mornings: list[charts.Morning] = []
    for verdict in verdicts:
        tried = _of_day(executions, verdict.day)
        seen = tried or any(arrival.landed_at for arrival in verdict.arrivals)
        if mornings or seen or verdict is verdicts[-1]:
            mornings.append(status_module.morning(verdict, tried))
    print(f"chart: {charts.save(charts.mornings(mornings), plot)}", file=sys.stderr)


def _newest_landed_day(store: landing_gate.LandingStore) -> date:
    days = set().union(*(store.marker_days(extract) for extract in EXTRACTS))
    if not days:
        raise UsageError("no extract has landed yet (no _SUCCESS marker): give the day with --date")
    return max(days)


def watch(options: WatchOptions) -> int:
    progress = None if options.watching.json else display.Progress()
    result = _backend(options.target).history.follow(options.execution, options.watching.timeout, progress)
    return _finish(result, options.watching.json)


def history(options: HistoryOptions) -> int:
    if options.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {options.limit}")
    backend = _backend(options.target)
    refs = backend.history.recent(options.limit)
    # the rows of the executions listed, and the newest ones (plain dbt runs are in the ledger only)
    entries = backend.ledger.newest(options.limit)
    if refs:
        entries += backend.ledger.since(min(ref.started for ref in refs))
    rows = display.history_rows(refs, entries, options.limit)
    if options.json:
        print(json.dumps([row.to_dict() for row in rows], indent=2))
    else:
        display.show_history(rows)
    return ExitCode.OK


def rerun_nodes(result: ExecutionResult, all_models: tuple[str, ...]) -> tuple[str, ...]:
    """The models an execution did not finish: what it was asked for, less what dbt built successfully."""
    wanted = result.request.nodes if result.request and result.request.nodes is not None else all_models
    done = {
        str(node["name"])
        for summary in display.task_summaries(result)
        for node in summary.get("models") or []
        if node.get("status") == "success" and node.get("resource_type", "model") != "test"
    }
    return tuple(name for name in wanted if name not in done)


def _resume_request(result: ExecutionResult, session: Session) -> ExecutionRequest:
    if result.ref.status not in RESUMABLE:
        raise UsageError(f"execution {result.ref.name} is {result.ref.status}: only a failed one can be resumed")
    if result.request is None:
        raise UsageError(f"execution {result.ref.name} was not started by this orchestrator: its input has no window")
    nodes = rerun_nodes(result, _model_names(session.graph()))
    if not nodes:
        raise UsageError(f"execution {result.ref.name} built every model; nothing to resume")
    return replace(result.request, nodes=nodes, resumes_complete_load=result.request.completes_window)


def resume(options: ResumeOptions) -> int:
    backend = _backend(options.target)
    backend.check_can_run()
    failed = backend.history.finished(options.execution, options.watching.timeout)
    windows = () if failed.request is None else (failed.request.window,)
    with backend.exclusive(), backend.open(windows) as session:
        result = _launch_and_watch(session, _resume_request(failed, session), options.watching)
        return _finish(result, options.watching.json, session)


def chunks(window: RefreshWindow, chunk_days: int) -> list[RefreshWindow]:
    """The window cut into consecutive chunks of `chunk_days` (0: one chunk), oldest first."""
    if chunk_days < 0:
        raise UsageError(f"--chunk-days must be 0 (one execution) or more, not {chunk_days}")
    if chunk_days == 0:
        return [window]
    result = []
    start = window.start
    while start <= window.end:
        end = min(window.end, start + timedelta(days=chunk_days - 1))
        result.append(RefreshWindow(start, end))
        start = end + timedelta(days=1)
    return result


def backfill(options: BackfillOptions) -> int:
    window = options.window
    parts = chunks(window, options.chunk_days)
    backend = _backend(options.target)
    backend.check_can_run()
    backend.check_window(window)
    _refuse_gap(window, backend, options.allow_gap)
    ledger = backend.ledger
    loaded = ledger.loaded_days(window)
    with backend.exclusive(), backend.open(parts) as session:
        past = session.history.of_windows(parts)
        done: list[dict[str, str]] = []
        for index, part in enumerate(parts, start=1):
            runs = past.get(part, [])
            prefix = f"[{index}/{len(parts)}] {part}"
            if loaded >= set(part.dates()):
                by = ", ".join(sorted({e.execution for e in ledger.attempts(part) if e.published}))
                _say(f"{prefix}: already loaded by {by}, skipped")
                done.append({"window": str(part), "execution": by, "status": "skipped"})
                continue
            if runs and runs[-1].ref.status in RESUMABLE:
                _say(f"{prefix}: resuming {runs[-1].ref.name}")
                request = _resume_request(runs[-1], session)
            else:
                _say(f"{prefix}: loading")
                request = ExecutionRequest(
                    part,
                    full_tests=options.full_tests,
                    allow_missing=options.allow_missing,
                    allow_gap=options.allow_gap,
                )
            result = _launch_and_watch(session, request, options.watching)
            if result.ref.status is not ExecutionStatus.SUCCEEDED:
                return _finish(
                    result,
                    options.watching.json,
                    session,
                    f"; the backfill stopped at {part}: fix the cause and run the same backfill command again "
                    "(loaded chunks are skipped and this one resumes from its failed node)",
                )
            done.append({"window": str(part), "execution": result.ref.name, "status": result.ref.status.value})
    if options.watching.json:
        print(json.dumps({"window": str(window), "chunks": done}, indent=2))
    _say(f"backfill of {window} done in {len(parts)} chunk(s)")
    return ExitCode.OK


def _say(line: str) -> None:
    """Progress of a multi-execution command: stderr, so that stdout stays for --json."""
    print(line, file=sys.stderr, flush=True)


def report(options: ReportOptions) -> int:
    """`report daily|weekly`: a thin caller of the reports library (`orchestrator.reports`), on the warehouse of
    the mode's backend (the one `run` loads)."""
    from orchestrator import reports

    if options.plot is not None:
        _check_plot_path(options.plot)
    conn = _backend(options.target).reports(timeout_seconds=options.timeout, secret_arn=options.secret_arn)
    if options.kind == "daily":
        frame = conn.daily_store_sales(
            date=options.date, start=options.start, end=options.end, city=options.city, state=options.state
        )
    else:
        frame = conn.weekly_region_sales(region=options.region, weeks=options.weeks, date=options.date)
    output = reports.OutputFormat(options.format)
    # a table reads better under its date; CSV and JSON stay pure data on stdout
    print(_data_as_of_line(conn), file=sys.stdout if output is reports.OutputFormat.TABLE else sys.stderr)
    print(reports.render(frame, output))
    if options.plot is not None:
        from orchestrator import charts

        figure = charts.daily(frame) if options.kind == "daily" else charts.weekly(frame)
        print(f"chart: {charts.save(figure, options.plot)}", file=sys.stderr)
    return ExitCode.OK


def _data_as_of_line(conn: ReportConnection) -> str:
    """The run log's "data as of" line; informational, so a run log that cannot be read is said, not raised."""
    try:
        as_of = conn.data_as_of()
    except StoreSalesError as error:
        return f"data as of: unknown (the run log pipeline_runs could not be read: {error})"
    return as_of.line() if as_of else "data as of: unknown (pipeline_runs records no complete successful execution)"


def _check_plot_path(path: Path) -> None:
    """Before any query: a PNG name in an existing folder, and matplotlib installed."""
    if path.suffix.lower() != ".png":
        raise UsageError(f"--plot writes PNG: name the file with .png, not {path.name!r}")
    if not path.parent.is_dir():
        raise UsageError(f"--plot {path}: the folder {path.parent} does not exist")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise EnvironmentProblem(
            "--plot needs matplotlib: install the analyst extra, pip install -e '.[analyst]'"
        ) from None
