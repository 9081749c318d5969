"""The data engineer's and analyst's commands: run, watch, history, backfill, resume, report.

They share one path for AWS and the local emulator (`orchestrator.cli.session`); only where the record
of past executions lives differs (Step Functions itself, or the local journal).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator import config as config_module
from orchestrator import settings
from orchestrator.cli import display
from orchestrator.cli.session import Mode, Session, local_run_lock, open_session, resolve_mode
from orchestrator.contract import EXTRACTS
from orchestrator.errors import (
    ConfigurationError,
    EnvironmentProblem,
    ExitCode,
    StoreSalesError,
    UsageError,
    WatchDeadlineExceeded,
)
from orchestrator.executions import launcher
from orchestrator.executions.launcher import ExecutionResult, ExecutionStatus
from orchestrator.protocol import ExecutionRequest
from orchestrator.runtime import landing_gate
from orchestrator.window import RefreshWindow, parse_date

if TYPE_CHECKING:
    from orchestrator.definition.graph import DbtGraph
    from orchestrator.reports import ReportConnection

_EXIT_BY_STATUS = {
    ExecutionStatus.SUCCEEDED: ExitCode.OK,
    ExecutionStatus.FAILED: ExitCode.PIPELINE_FAILED,
    ExecutionStatus.PENDING_REDRIVE: ExitCode.PIPELINE_FAILED,
    ExecutionStatus.TIMED_OUT: ExitCode.TIMED_OUT,
    ExecutionStatus.ABORTED: ExitCode.TIMED_OUT,
}
_RESUMABLE = frozenset({ExecutionStatus.FAILED, ExecutionStatus.TIMED_OUT, ExecutionStatus.ABORTED})


def _window(args: argparse.Namespace) -> RefreshWindow:
    date_text = getattr(args, "date", None)
    if date_text is not None:
        if args.start is not None or args.end is not None:
            raise UsageError("give either --date D or --start D1 --end D2, not both")
        return RefreshWindow.day(parse_date(date_text, "--date"))
    if args.start is None or args.end is None:
        raise UsageError("give a refresh date (--date YYYY-MM-DD) or a window (--start YYYY-MM-DD --end YYYY-MM-DD)")
    return RefreshWindow.parse(args.start, args.end)


def _check_local_data(window: RefreshWindow) -> None:
    """Locally the landing data is at hand: refuse a window outside it before anything starts."""
    from orchestrator.local.sample_data import landing_date_range

    available = landing_date_range(settings.data_dir())
    if window.start < available.start or window.end > available.end:
        raise UsageError(
            f"refresh window {window} is outside the landing data ({available}) in {settings.data_dir()}: "
            f"pick dates in that range or generate more data"
        )


def _model_names(graph: DbtGraph, select: Sequence[str] = (), exclude: Sequence[str] = ()) -> tuple[str, ...]:
    """The models a selection means (everything when both are empty), from the parsed project."""
    chosen = graph.select(select, exclude)
    if not chosen:
        raise UsageError(f"the selection --select {' '.join(select)} --exclude {' '.join(exclude)} matches no model")
    return tuple(sorted(graph.nodes[uid].name for uid in chosen))


def _selection(args: argparse.Namespace, session: Session) -> tuple[str, ...] | None:
    """`nodes` of the execution input: None for everything, else the selected model names (from the session's
    graph: locally the project it has just parsed)."""
    if not args.select and not args.exclude:
        return None
    return _model_names(session.graph(), args.select, args.exclude)


def _check_full_refresh(window: RefreshWindow) -> None:
    """A full refresh rebuilds the marts from the window alone: locally, insist it starts at the first load."""
    from orchestrator.local.sample_data import landing_date_range

    first = landing_date_range(settings.data_dir()).start
    if window.start != first:
        raise UsageError(
            f"--full-refresh rebuilds every table from the window alone, so {window} would drop the history "
            f"before it: start the window at the first load date, {first}"
        )


def _launch_and_watch(session: Session, request: ExecutionRequest, args: argparse.Namespace) -> ExecutionResult:
    ref = session.start(request)
    if not args.json:
        print(f"started {ref.name} ({request.window}{', selected models' if request.nodes else ''})", flush=True)
    progress = None if args.json else display.Progress()
    try:
        result = launcher.watch(
            session.sfn,
            ref.arn,
            deadline_seconds=args.timeout,
            on_progress=progress,
            max_poll_seconds=session.max_poll_seconds,
        )
    except (KeyboardInterrupt, WatchDeadlineExceeded) as stopped:
        if session.journal is None:
            print(
                f"\nstopped watching; {ref.name} goes on. Watch it again with `python -m orchestrator watch "
                f"{ref.name}` or stop it with `aws stepfunctions stop-execution --execution-arn {ref.arn}`",
                file=sys.stderr,
            )
            raise
        session.sfn.stop_execution(executionArn=ref.arn, error="Local.Stopped", cause=f"stopped: {stopped!r}")
        session.journal.save(launcher.watch(session.sfn, ref.arn, deadline_seconds=60))
        raise WatchDeadlineExceeded(
            f"the local execution {ref.name} ran inside this command and was stopped with it (recorded as "
            f"ABORTED); the task that was running finishes first. Resume it with `python -m orchestrator "
            f"resume {ref.name}` (reruns are idempotent)"
        ) from None
    if session.journal is not None:
        session.journal.save(result)
    return result


def _finish(result: ExecutionResult, as_json: bool) -> int:
    if as_json:
        print(display.result_json(result))
    else:
        display.show_result(result)
    return int(_EXIT_BY_STATUS.get(result.ref.status, ExitCode.PIPELINE_FAILED))


def _run_request(window: RefreshWindow, args: argparse.Namespace, session: Session) -> ExecutionRequest:
    return ExecutionRequest(
        window,
        full_refresh=args.full_refresh,
        nodes=_selection(args, session),
        full_tests=args.full_tests,
        allow_missing=tuple(args.allow_missing),
    )


def _run(args: argparse.Namespace, mode: Mode, cfg: config_module.Config) -> int:
    if args.date is None and args.start is None and args.end is None:
        caught_up = _catch_up_window(mode, cfg)
        if caught_up is None:
            return ExitCode.OK
        window = caught_up
    else:
        window = _window(args)
    if args.wait_for_landing:
        if args.timeout <= 0:
            raise UsageError(f"--timeout {args.timeout:g}: the wait for the landing needs a positive number of seconds")
        store = _landing_store(mode, cfg)
        poll = 1.0 if mode is Mode.LOCAL else 15.0  # a local look is a few stats; on AWS, S3 requests
        landing_gate.wait_for_window(store, window, args.allow_missing, args.timeout, _say, poll_seconds=poll)
    if mode is Mode.LOCAL:
        if args.no_wait:
            raise UsageError("--no-wait needs --aws: the local emulator lives only as long as this command")
        _check_local_data(window)
        if args.full_refresh:
            _check_full_refresh(window)
    if mode is Mode.LOCAL:
        with local_run_lock(), open_session(mode, cfg, (window,)) as session:
            request = _run_request(window, args, session)
            return _finish(_launch_and_watch(session, request, args), args.json)
    with open_session(mode, cfg) as session:
        request = _run_request(window, args, session)
        if args.no_wait:
            ref = session.start(request)
            print(ref.arn)
            return ExitCode.OK
        return _finish(_launch_and_watch(session, request, args), args.json)


def _landing_store(mode: Mode, cfg: config_module.Config) -> landing_gate.LandingStore:
    """Where the extracts land: the local data directory, or on AWS the landing S3 folder."""
    if mode is Mode.LOCAL:
        return landing_gate.LocalLanding(settings.data_dir())
    uri = os.environ.get(landing_gate.LANDING_S3_URI_ENV, "")
    if not uri:
        raise ConfigurationError(
            f"{landing_gate.LANDING_S3_URI_ENV} is not set: the catch-up and --wait-for-landing read the landing "
            "S3 folder (e.g. s3://my-bucket/store-sales); set it, or give --date without --wait-for-landing"
        )
    from orchestrator.aws import aws_client

    return landing_gate.S3Landing(uri, aws_client("s3", cfg))


def _catch_up_window(mode: Mode, cfg: config_module.Config) -> RefreshWindow | None:
    """`run` without a date: every landed day after the last loaded one, said first; None when none."""
    last = _last_loaded_day(mode, cfg)
    window = landing_gate.landed_window(_landing_store(mode, cfg), last)
    if window is None:
        news = "no day has landed yet" if last is None else f"nothing new has landed after the last loaded day {last}"
        _say(f"catch-up: {news}; nothing to do")
        return None
    since = "nothing loaded before" if last is None else f"after the last loaded day {last}"
    _say(f"catch-up: loading {window} ({window.days} landed day(s), {since})")
    return window


def _last_loaded_day(mode: Mode, cfg: config_module.Config) -> date | None:
    """The end of the latest window this orchestrator loaded completely (its execution history). A run of
    selected models does not count, so the catch-up may reload a day: harmless, a window's load is
    idempotent and range == sequence."""
    if mode is Mode.LOCAL:
        from orchestrator.cli.session import journal

        runs = _by_window([journal().load(name) for name in journal().names()])
        return max((window.end for window, attempts in runs.items() if chunk_is_loaded(attempts)), default=None)
    from orchestrator.aws import aws_client

    sfn = aws_client("stepfunctions", cfg)
    arn = cfg.require("state_machine_arn")
    succeeded = [
        (ref.window.end, ref) for ref in launcher.list_executions(sfn, arn, ExecutionStatus.SUCCEEDED) if ref.window
    ]
    for _, ref in sorted(succeeded, key=lambda pair: pair[0], reverse=True):
        request = ExecutionRequest.from_input(launcher.describe(sfn, ref.arn).get("input"))
        if request is not None and request.nodes is None:
            return request.window.end
    return None


def _status(args: argparse.Namespace, mode: Mode, cfg: config_module.Config) -> int:
    from orchestrator.cli import status

    store = _landing_store(mode, cfg)
    day = parse_date(args.date, "--date") if args.date else _newest_landed_day(store)
    deadline = status.deadline_of(day, args.deadline, status.time_zone())
    arrivals = landing_gate.arrivals(store, day)
    running = None
    if mode is Mode.LOCAL:
        from orchestrator.cli.session import journal, local_run_holder

        ref = launcher.newest_covering(journal().executions(), day)
        execution = journal().load(ref.name) if ref else None
        running = local_run_holder()
    else:
        from orchestrator.aws import aws_client

        sfn = aws_client("stepfunctions", cfg)
        ref = launcher.newest_covering(launcher.list_executions(sfn, cfg.require("state_machine_arn")), day)
        execution = launcher.snapshot(sfn, ref.arn) if ref else None
    verdict = status.judge(day, deadline, arrivals, execution, running, datetime.now(UTC))
    status.show(verdict, args.json)
    return int(verdict.exit_code)


def _newest_landed_day(store: landing_gate.LandingStore) -> date:
    days = set().union(*(store.marker_days(extract) for extract in EXTRACTS))
    if not days:
        raise UsageError("no extract has landed yet (no _SUCCESS marker): give the day with --date")
    return max(days)


def _watch(args: argparse.Namespace, mode: Mode, cfg: config_module.Config) -> int:
    if mode is Mode.LOCAL:
        from orchestrator.cli.session import journal

        return _finish(journal().load(args.execution), args.json)
    with open_session(mode, cfg) as session:
        arn = launcher.resolve_execution(session.sfn, session.state_machine_arn, args.execution)
        progress = None if args.json else display.Progress()
        result = launcher.watch(session.sfn, arn, deadline_seconds=args.timeout, on_progress=progress)
        return _finish(result, args.json)


def _history(args: argparse.Namespace, mode: Mode, cfg: config_module.Config) -> int:
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {args.limit}")
    if mode is Mode.LOCAL:
        from orchestrator.cli.session import journal

        refs = journal().executions()[: args.limit]
    else:
        with open_session(mode, cfg) as session:
            refs = []
            for ref in launcher.list_executions(session.sfn, session.state_machine_arn):
                refs.append(ref)
                if len(refs) >= args.limit:
                    break
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": ref.name,
                        "execution_arn": ref.arn,
                        "status": ref.status.value,
                        "window": str(ref.window) if ref.window else None,
                        "started": ref.started.isoformat(),
                        "seconds": ref.seconds,
                    }
                    for ref in refs
                ],
                indent=2,
            )
        )
    else:
        display.show_history(refs)
    return ExitCode.OK


def _failed_on_aws(session: Session, name_or_arn: str, timeout: float) -> ExecutionResult:
    arn = launcher.resolve_execution(session.sfn, session.state_machine_arn, name_or_arn)
    if launcher.describe(session.sfn, arn)["status"] == ExecutionStatus.RUNNING:
        raise UsageError(f"execution {name_or_arn} is still RUNNING: watch it, and resume it only if it fails")
    return launcher.watch(session.sfn, arn, deadline_seconds=timeout)


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
    if result.ref.status not in _RESUMABLE:
        raise UsageError(f"execution {result.ref.name} is {result.ref.status}: only a failed one can be resumed")
    if result.request is None:
        raise UsageError(f"execution {result.ref.name} was not started by this orchestrator: its input has no window")
    nodes = rerun_nodes(result, _model_names(session.graph()))
    if not nodes:
        raise UsageError(f"execution {result.ref.name} built every model; nothing to resume")
    return replace(result.request, nodes=nodes)


def _resume(args: argparse.Namespace, mode: Mode, cfg: config_module.Config) -> int:
    if mode is Mode.LOCAL:
        from orchestrator.cli.session import journal

        failed = journal().load(args.execution)
        windows = () if failed.request is None else (failed.request.window,)
        with local_run_lock(), open_session(mode, cfg, windows) as session:
            return _finish(_launch_and_watch(session, _resume_request(failed, session), args), args.json)
    with open_session(mode, cfg) as session:
        request = _resume_request(_failed_on_aws(session, args.execution, args.timeout), session)
        return _finish(_launch_and_watch(session, request, args), args.json)


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


def _past_runs(session: Session, parts: Sequence[RefreshWindow]) -> dict[RefreshWindow, list[ExecutionResult]]:
    """Finished executions of these windows, oldest first (local journal or Step Functions)."""
    wanted = set(parts)
    if session.journal is not None:
        records = [session.journal.load(name) for name in session.journal.names()]
    else:
        records = [
            launcher.watch(session.sfn, ref.arn, deadline_seconds=60)
            for ref in launcher.list_executions(session.sfn, session.state_machine_arn)
            if ref.window in wanted and ref.status is not ExecutionStatus.RUNNING
        ]
    return _by_window(records)


def _by_window(records: Sequence[ExecutionResult]) -> dict[RefreshWindow, list[ExecutionResult]]:
    """Executions grouped by their window, oldest first (those not started by this orchestrator left out)."""
    runs: dict[RefreshWindow, list[ExecutionResult]] = {}
    for record in sorted(records, key=lambda item: item.ref.started):
        if record.request is not None:
            runs.setdefault(record.request.window, []).append(record)
    return runs


def chunk_is_loaded(runs: list[ExecutionResult]) -> bool:
    """A window is loaded when its last execution succeeded on every model, or completed a failed one."""
    if not runs or runs[-1].ref.status is not ExecutionStatus.SUCCEEDED:
        return False
    last = runs[-1]
    return last.request is None or last.request.nodes is None or (len(runs) > 1 and runs[-2].ref.status in _RESUMABLE)


def _backfill(args: argparse.Namespace, mode: Mode, cfg: config_module.Config) -> int:
    window = _window(args)
    parts = chunks(window, args.chunk_days)
    if mode is Mode.LOCAL:
        _check_local_data(window)
    lock = local_run_lock() if mode is Mode.LOCAL else contextlib.nullcontext()
    with lock, open_session(mode, cfg, parts) as session:
        past = _past_runs(session, parts)
        done: list[dict[str, str]] = []
        for index, part in enumerate(parts, start=1):
            runs = past.get(part, [])
            prefix = f"[{index}/{len(parts)}] {part}"
            if chunk_is_loaded(runs):
                _say(f"{prefix}: already loaded by {runs[-1].ref.name}, skipped")
                done.append({"window": str(part), "execution": runs[-1].ref.name, "status": "skipped"})
                continue
            if runs and runs[-1].ref.status in _RESUMABLE:
                _say(f"{prefix}: resuming {runs[-1].ref.name}")
                request = _resume_request(runs[-1], session)
            else:
                _say(f"{prefix}: loading")
                request = ExecutionRequest(part, full_tests=args.full_tests, allow_missing=tuple(args.allow_missing))
            result = _launch_and_watch(session, request, args)
            if result.ref.status is not ExecutionStatus.SUCCEEDED:
                code = _finish(result, args.json)
                print(
                    f"backfill stopped at {part}; fix the cause and run the same backfill command again: "
                    "loaded chunks are skipped and this one resumes from its failed node",
                    file=sys.stderr,
                )
                return code
            done.append({"window": str(part), "execution": result.ref.name, "status": result.ref.status.value})
    if args.json:
        print(json.dumps({"window": str(window), "chunks": done}, indent=2))
    _say(f"backfill of {window} done in {len(parts)} chunk(s)")
    return ExitCode.OK


def _say(line: str) -> None:
    """Progress of a multi-execution command: stderr, so that stdout stays for --json."""
    print(line, file=sys.stderr, flush=True)


def dispatch(args: argparse.Namespace) -> int:
    cfg = config_module.load(args.config)
    mode = resolve_mode(args.mode, cfg)
    handlers = {
        "run": _run,
        "watch": _watch,
        "history": _history,
        "backfill": _backfill,
        "resume": _resume,
        "status": _status,
    }
    return handlers[args.command](args, mode, cfg)


def report(args: argparse.Namespace) -> int:
    """`report daily|weekly`: a thin caller of the reports library (`orchestrator.reports`)."""
    from orchestrator import reports

    if args.plot is not None:
        _check_plot_path(args.plot)
    source = {Mode.LOCAL: reports.ReportSource.LOCAL, Mode.AWS: reports.ReportSource.REDSHIFT}.get(args.mode)
    conn = reports.connect(
        source, config=config_module.load(args.config), secret_arn=args.secret_arn, timeout_seconds=args.timeout
    )
    if args.kind == "daily":
        frame = conn.daily_store_sales(date=args.date, start=args.start, end=args.end, city=args.city, state=args.state)
    else:
        frame = conn.weekly_region_sales(region=args.region, weeks=args.weeks, date=args.date)
    # a table reads better under its date; CSV and JSON stay pure data on stdout
    print(_data_as_of_line(conn), file=sys.stdout if args.format == reports.OutputFormat.TABLE else sys.stderr)
    print(reports.render(frame, reports.OutputFormat(args.format)))
    if args.plot is not None:
        from orchestrator import charts

        figure = charts.daily(frame) if args.kind == "daily" else charts.weekly(frame)
        print(f"chart: {charts.save(figure, args.plot)}", file=sys.stderr)
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
