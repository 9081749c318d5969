"""The data engineer's and analyst's commands: run, watch, history, backfill, resume, report.

They share one path for AWS and the local emulator (`orchestrator.session`); only where the record
of past executions lives differs (Step Functions itself, or the local journal).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from datetime import date, timedelta

from orchestrator import config as config_module
from orchestrator import display, launcher, settings
from orchestrator.errors import ExitCode, UsageError
from orchestrator.launcher import ExecutionRequest, ExecutionResult, ExecutionStatus
from orchestrator.session import Mode, Session, local_run_lock, open_session, resolve_mode
from orchestrator.window import RefreshWindow, parse_date

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
    from orchestrator.sample_data import landing_date_range

    available = landing_date_range(settings.data_dir())
    if window.start < available.start or window.end > available.end:
        raise UsageError(
            f"refresh window {window} is outside the landing data ({available}) in {settings.data_dir()}: "
            f"pick dates in that range or generate more data"
        )


def _model_names(select: list[str], exclude: list[str]) -> tuple[str, ...] | None:
    """The models a selection means (None: everything), resolved against the parsed project."""
    if not select and not exclude:
        return None
    from orchestrator.graph import DbtGraph
    from orchestrator.manifest import load_manifest

    graph = DbtGraph.from_manifest(load_manifest(settings.project_dir()))
    chosen = graph.select(select, exclude)
    if not chosen:
        raise UsageError(f"the selection --select {' '.join(select)} --exclude {' '.join(exclude)} matches no model")
    return tuple(sorted(graph.nodes[uid].name for uid in chosen))


def _launch_and_watch(session: Session, request: ExecutionRequest, args: argparse.Namespace) -> ExecutionResult:
    ref = launcher.start(session.sfn, session.state_machine_arn, request, known_names=session.known_names())
    if not args.json:
        print(f"started {ref.name} ({request.window}{', selected models' if request.nodes else ''})", flush=True)
    progress = None if args.json else display.Progress()
    try:
        result = launcher.watch(session.sfn, ref.arn, deadline_seconds=args.timeout, on_progress=progress)
    except KeyboardInterrupt:
        if session.mode is Mode.LOCAL:
            print(
                f"\ninterrupted: the local execution {ref.name} ran inside this command and stopped with it; "
                f"run it again (reruns are idempotent)",
                file=sys.stderr,
            )
        else:
            print(
                f"\nstopped watching; {ref.name} goes on. Watch it again with `python -m orchestrator watch "
                f"{ref.name}` or stop it with `aws stepfunctions stop-execution --execution-arn {ref.arn}`",
                file=sys.stderr,
            )
        raise
    if session.journal is not None:
        session.journal.save(result)
    return result


def _finish(result: ExecutionResult, as_json: bool) -> int:
    if as_json:
        print(display.result_json(result))
    else:
        display.show_result(result)
    return int(_EXIT_BY_STATUS.get(result.ref.status, ExitCode.PIPELINE_FAILED))


def _run(args: argparse.Namespace, mode: Mode, cfg: config_module.Config) -> int:
    window = _window(args)
    request = ExecutionRequest(window, full_refresh=args.full_refresh, nodes=_model_names(args.select, args.exclude))
    if mode is Mode.LOCAL:
        if args.no_wait:
            raise UsageError("--no-wait needs --aws: the local emulator lives only as long as this command")
        _check_local_data(window)
        with local_run_lock(), open_session(mode, cfg) as session:
            return _finish(_launch_and_watch(session, request, args), args.json)
    with open_session(mode, cfg) as session:
        if args.no_wait:
            ref = launcher.start(session.sfn, session.state_machine_arn, request)
            print(ref.arn)
            return ExitCode.OK
        return _finish(_launch_and_watch(session, request, args), args.json)


def _watch(args: argparse.Namespace, mode: Mode, cfg: config_module.Config) -> int:
    if mode is Mode.LOCAL:
        from orchestrator.session import journal

        return _finish(journal().load(args.execution.rsplit(":", 1)[-1]), args.json)
    with open_session(mode, cfg) as session:
        arn = launcher.resolve_execution(session.sfn, session.state_machine_arn, args.execution)
        progress = None if args.json else display.Progress()
        result = launcher.watch(session.sfn, arn, deadline_seconds=args.timeout, on_progress=progress)
        return _finish(result, args.json)


def _history(args: argparse.Namespace, mode: Mode, cfg: config_module.Config) -> int:
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, not {args.limit}")
    if mode is Mode.LOCAL:
        from orchestrator.session import journal

        refs = journal().executions()[: args.limit]
    else:
        with open_session(mode, cfg) as session:
            refs = []
            for ref in launcher.list_executions(session.sfn, session.state_machine_arn):
                refs.append(ref)
                if len(refs) >= args.limit:
                    break
    if args.json:
        import json

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


def _load_result(session: Session, name_or_arn: str, timeout: float) -> ExecutionResult:
    if session.journal is not None:
        return session.journal.load(name_or_arn.rsplit(":", 1)[-1])
    arn = launcher.resolve_execution(session.sfn, session.state_machine_arn, name_or_arn)
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


def _all_models() -> tuple[str, ...]:
    from orchestrator.graph import DbtGraph
    from orchestrator.manifest import load_manifest

    graph = DbtGraph.from_manifest(load_manifest(settings.project_dir()))
    return tuple(sorted(graph.nodes[uid].name for uid in graph.select()))


def _resume_request(result: ExecutionResult) -> ExecutionRequest:
    if result.ref.status not in _RESUMABLE:
        raise UsageError(f"execution {result.ref.name} is {result.ref.status}: only a failed one can be resumed")
    if result.request is None:
        raise UsageError(f"execution {result.ref.name} was not started by this orchestrator: its input has no window")
    nodes = rerun_nodes(result, _all_models())
    if not nodes:
        raise UsageError(f"execution {result.ref.name} built every model; nothing to resume")
    return ExecutionRequest(result.request.window, result.request.full_refresh, nodes)


def _resume(args: argparse.Namespace, mode: Mode, cfg: config_module.Config) -> int:
    if mode is Mode.LOCAL:
        from orchestrator.session import ensure_parsed, journal

        ensure_parsed(settings.project_dir())
        request = _resume_request(journal().load(args.execution.rsplit(":", 1)[-1]))
        with local_run_lock(), open_session(mode, cfg) as session:
            return _finish(_launch_and_watch(session, request, args), args.json)
    with open_session(mode, cfg) as session:
        request = _resume_request(_load_result(session, args.execution, args.timeout))
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


def _past_runs(session: Session) -> dict[RefreshWindow, list[ExecutionResult]]:
    """Finished executions per window, oldest first (local journal or Step Functions)."""
    if session.journal is not None:
        records = [session.journal.load(name) for name in session.journal.names()]
    else:
        records = [
            launcher.watch(session.sfn, ref.arn, deadline_seconds=60)
            for ref in launcher.list_executions(session.sfn, session.state_machine_arn)
            if ref.window is not None and ref.status is not ExecutionStatus.RUNNING
        ]
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
    with lock, open_session(mode, cfg) as session:
        past = _past_runs(session)
        for index, part in enumerate(parts, start=1):
            runs = past.get(part, [])
            prefix = f"[{index}/{len(parts)}] {part}"
            if chunk_is_loaded(runs):
                print(f"{prefix}: already loaded by {runs[-1].ref.name}, skipped", flush=True)
                continue
            if runs and runs[-1].ref.status in _RESUMABLE:
                print(f"{prefix}: resuming {runs[-1].ref.name}", flush=True)
                request = _resume_request(runs[-1])
            else:
                print(f"{prefix}: loading", flush=True)
                request = ExecutionRequest(part)
            result = _launch_and_watch(session, request, args)
            if result.ref.status is not ExecutionStatus.SUCCEEDED:
                code = _finish(result, args.json)
                print(
                    f"backfill stopped at {part}; fix the cause and run the same backfill command again: "
                    "loaded chunks are skipped and this one resumes from its failed node",
                    file=sys.stderr,
                )
                return code
    print(f"backfill of {window} done in {len(parts)} chunk(s)")
    return ExitCode.OK


def dispatch(args: argparse.Namespace) -> int:
    cfg = config_module.load(args.config)
    mode = resolve_mode(args.mode, cfg)
    handlers = {"run": _run, "watch": _watch, "history": _history, "backfill": _backfill, "resume": _resume}
    return handlers[args.command](args, mode, cfg)


def report(args: argparse.Namespace) -> int:
    from orchestrator import reports
    from orchestrator.redshift_data import RedshiftTarget
    from orchestrator.reports import OutputFormat

    cfg = config_module.load(args.config)
    mode = resolve_mode(args.mode, cfg)
    schema = "main" if mode is Mode.LOCAL else (cfg.reports_schema or "store_sales")
    if args.kind == "daily":
        spec = reports.daily(schema, _window(args), city=args.city, state=args.state)
    else:
        last_day = parse_date(args.date, "--date") if args.date else date.today()
        spec = reports.weekly(schema, args.region, last_day, args.weeks)
    if mode is Mode.LOCAL:
        frame = reports.run_on_duckdb(spec, settings.duckdb_path())
    else:
        from orchestrator.session import aws_client

        target = RedshiftTarget(
            database=cfg.require("redshift_database"),
            cluster_id=cfg.redshift_cluster_id,
            workgroup=cfg.redshift_workgroup,
            db_user=cfg.redshift_db_user,
            secret_arn=cfg.redshift_secret_arn,
        )
        frame = reports.run_on_redshift(spec, aws_client("redshift-data", cfg), target, args.timeout)
    print(reports.render(frame, OutputFormat(args.format)))
    return ExitCode.OK
