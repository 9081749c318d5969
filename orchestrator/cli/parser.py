"""`python -m orchestrator`: the command line of the Store Sales pipeline.

Every command has `--help`. Errors are printed as one line on stderr and end the process with the
exit code of `orchestrator.errors.ExitCode`; set STORE_SALES_DEBUG=1 to see a traceback instead.
Every setting of the environment is checked before any command does anything (`orchestrator.settings`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator import settings
from orchestrator.cli import deploy
from orchestrator.cli.extras import missing_extra
from orchestrator.cli.options import (
    DEFAULT_WATCH_SECONDS,
    BackfillOptions,
    HistoryOptions,
    PipelineOptions,
    ReportOptions,
    ResumeOptions,
    RunOptions,
    StatusOptions,
    Target,
    Watching,
    WatchOptions,
)
from orchestrator.errors import ExitCode, StoreSalesError, UsageError
from orchestrator.landing_contract import EXTRACTS
from orchestrator.window import RefreshWindow, parse_date

Command = Callable[[argparse.Namespace], int]


def _sample_data(args: argparse.Namespace) -> int:
    from orchestrator.cli.session import local_run_lock
    from orchestrator.local import sample_data

    data_dir = Path(args.data_dir) if args.data_dir else settings.data_dir()
    sample_data.check_scale(args.scale)
    # a directory that does not exist yet has no pipeline running on it; generate() reports bad paths
    with local_run_lock(data_dir) if data_dir.is_dir() else contextlib.nullcontext():
        sample_data.generate(scale=args.scale, data_dir=data_dir, force=args.force)
    return ExitCode.OK


def _render(args: argparse.Namespace) -> int:
    from orchestrator.definition.state_machine import RenderOptions, render_file

    options = RenderOptions(select=tuple(args.select), exclude=tuple(args.exclude), group_stages=args.group_stages)
    out = render_file(settings.project_dir(), Path(args.out), options)
    print(f"wrote {out}")
    return ExitCode.OK


def _add_window(parser: argparse.ArgumentParser, single: bool = True, catch_up: bool = False) -> None:
    if single:
        default = " (none: catch up, every day landed after the last loaded one)" if catch_up else ""
        parser.add_argument("--date", help=f"the refresh date, YYYY-MM-DD (the window [D, D]){default}")
    parser.add_argument("--start", help="first load date of the window, YYYY-MM-DD")
    parser.add_argument("--end", help="last load date of the window, YYYY-MM-DD (inclusive)")


def _add_mode(parser: argparse.ArgumentParser) -> None:
    from orchestrator.cli.session import Mode

    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--local",
        dest="mode",
        action="store_const",
        const=Mode.LOCAL,
        help="use the local emulator and DuckDB (the default without AWS configuration)",
    )
    group.add_argument(
        "--aws",
        dest="mode",
        action="store_const",
        const=Mode.AWS,
        help="use the deployed state machine (the default when STORE_SALES_STATE_MACHINE_ARN is set)",
    )
    parser.add_argument("--config", type=Path, help="configuration file (default: store-sales.toml in the project)")


def _add_watch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON (no progress lines)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_WATCH_SECONDS,
        help=f"stop watching after this many seconds (default {DEFAULT_WATCH_SECONDS}); the execution goes on",
    )


def _add_full_tests(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--full-tests",
        action="store_true",
        help="run every data test on whole tables instead of the rows the refresh window wrote",
    )


def _add_allow_missing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-missing",
        action="append",
        default=[],
        choices=EXTRACTS,
        metavar="EXTRACT",
        help="accept days of this extract that were not delivered at all (no _SUCCESS marker, no file), "
        f"e.g. a day known to have no delivery; repeatable; one of {', '.join(EXTRACTS)}; recorded in the run",
    )


def _add_allow_gap(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-gap",
        action="store_true",
        help="start even though landed days before the window are not loaded (refused otherwise: type-2 history "
        "is only right when days load in order); recorded in the run and in the warehouse's ledger",
    )


def _deploy(args: argparse.Namespace) -> int:
    return deploy.command(deploy.settings_from_args(args), args.print, args.config_file)


def _write_config(args: argparse.Namespace) -> int:
    return deploy.config_command(args.config_file)


def _target(args: argparse.Namespace) -> Target:
    return Target(args.mode, args.config)


def _watching(args: argparse.Namespace) -> Watching:
    return Watching(args.json, args.timeout)


def _window(args: argparse.Namespace) -> RefreshWindow:
    """--date D, or --start D1 --end D2."""
    date_text = getattr(args, "date", None)
    if date_text is not None:
        if args.start is not None or args.end is not None:
            raise UsageError("give either --date D or --start D1 --end D2, not both")
        return RefreshWindow.day(parse_date(date_text, "--date"))
    if args.start is None or args.end is None:
        raise UsageError("give a refresh date (--date YYYY-MM-DD) or a window (--start YYYY-MM-DD --end YYYY-MM-DD)")
    return RefreshWindow.parse(args.start, args.end)


def _full_tests(args: argparse.Namespace) -> bool:
    """--full-tests, or STORE_SALES_FULL_TESTS=true: whole-table data tests."""
    return bool(args.full_tests) or settings.FULL_TESTS.flag()


def _pipeline_options(args: argparse.Namespace) -> PipelineOptions:
    """The typed options of run / watch / history / status / backfill / resume."""
    if args.command == "run":
        catch_up = args.date is None and args.start is None and args.end is None
        return RunOptions(
            window=None if catch_up else _window(args),
            select=tuple(args.select),
            exclude=tuple(args.exclude),
            full_refresh=args.full_refresh,
            full_tests=_full_tests(args),
            allow_missing=tuple(args.allow_missing),
            allow_gap=args.allow_gap,
            wait_for_landing=args.wait_for_landing,
            no_wait=args.no_wait,
            watching=_watching(args),
            target=_target(args),
        )
    if args.command == "watch":
        return WatchOptions(args.execution, _watching(args), _target(args))
    if args.command == "history":
        return HistoryOptions(args.limit, args.json, _target(args))
    if args.command == "status":
        day = parse_date(args.date, "--date") if args.date else None
        return StatusOptions(day, args.deadline, args.json, _target(args))
    if args.command == "backfill":
        return BackfillOptions(
            window=_window(args),
            chunk_days=args.chunk_days,
            full_tests=_full_tests(args),
            allow_missing=tuple(args.allow_missing),
            allow_gap=args.allow_gap,
            watching=_watching(args),
            target=_target(args),
        )
    return ResumeOptions(args.execution, _watching(args), _target(args))


def _pipeline(args: argparse.Namespace) -> int:
    """run / backfill / resume / watch / history / status: everything that talks to a state machine."""
    from orchestrator.cli import commands

    return commands.dispatch(_pipeline_options(args))


def _report(args: argparse.Namespace) -> int:
    from orchestrator.cli import commands

    options = ReportOptions(
        kind=args.kind,
        date=args.date,
        start=getattr(args, "start", None),
        end=getattr(args, "end", None),
        city=getattr(args, "city", None),
        state=getattr(args, "state", None),
        region=getattr(args, "region", ReportOptions.region),
        weeks=getattr(args, "weeks", ReportOptions.weeks),
        format=args.format,
        plot=args.plot,
        timeout=args.timeout,
        secret_arn=args.secret_arn,
        target=_target(args),
    )
    return commands.report(options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator",
        description="Run the Store Sales dbt pipeline through AWS Step Functions, locally or on AWS.",
        epilog="Exit codes: 0 success, 1 pipeline failed, 2 usage or input error, "
        "3 timed out or aborted (or stopped watching), 4 environment error (tools, permissions, services). "
        f"Environment variables: {', '.join(setting.name for setting in settings.USER_SETTINGS)} "
        "(what each accepts: the README's configuration table).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sample = commands.add_parser(
        "sample-data",
        help="generate landing extracts from TPC-DS dsdgen",
        description="Generate the daily landing extracts and reference tables from TPC-DS data "
        "(DuckDB's tpcds extension) in DIR/landing/<extract>/load_date=YYYY-MM-DD/*.parquet and "
        "DIR/reference/<table>.parquet. The same scale factor always gives byte-identical files.",
    )
    sample.add_argument("--scale", type=float, default=0.1, help="TPC-DS scale factor (default 0.1)")
    sample.add_argument("--data-dir", help=f"where to write (default: ${settings.DATA_DIR.name} or <project>/data)")
    sample.add_argument("--force", action="store_true", help="regenerate even if the data is already there")
    sample.set_defaults(handler=_sample_data)

    render = commands.add_parser(
        "render",
        help="write the Step Functions definition generated from the dbt graph",
        description="Write the ASL definition (JSON) generated from target/manifest.json. ARNs are "
        "CloudFormation placeholders (${RunnerFunctionArn}, ...) filled by the template's DefinitionSubstitutions.",
    )
    render.add_argument("--out", required=True, help="file to write, e.g. infra/statemachine.asl.json")
    render.add_argument("--select", nargs="*", default=[], help="dbt-style selectors (names, +ancestors, tag:x)")
    render.add_argument("--exclude", nargs="*", default=[], help="dbt-style selectors to leave out")
    render.add_argument("--group-stages", action="store_true", help="one task (one dbt invocation) per stage")
    render.set_defaults(handler=_render)

    run = commands.add_parser(
        "run",
        help="run the pipeline for a refresh date or window, and watch it",
        description="Start an execution of the state machine for a refresh date (--date) or window "
        "(--start/--end) and watch it to the end: live progress, then every state's timing, the database "
        "user and dbt's per-model results. Refuses to start while an execution for an overlapping window runs.",
    )
    _add_window(run, catch_up=True)
    run.add_argument("--select", nargs="*", default=[], help="only these models (dbt-style selectors)")
    run.add_argument("--exclude", nargs="*", default=[], help="leave these models out (dbt-style selectors)")
    run.add_argument("--full-refresh", action="store_true", help="rebuild incremental models from scratch")
    _add_full_tests(run)
    _add_allow_missing(run)
    _add_allow_gap(run)
    run.add_argument(
        "--wait-for-landing",
        action="store_true",
        help="first wait (up to --timeout seconds, a line whenever what is missing changes) until every extract "
        "of the window has landed (its _SUCCESS marker), then run; exit 3 naming what never came",
    )
    run.add_argument("--no-wait", action="store_true", help="print the execution ARN and return (AWS only)")
    _add_watch_options(run)
    _add_mode(run)
    run.set_defaults(handler=_pipeline)

    watch = commands.add_parser(
        "watch",
        help="watch an execution (by name or ARN) to the end",
        description="Follow an execution until it ends and print its timing table. Locally, a finished "
        "execution is shown from the local journal.",
    )
    watch.add_argument("execution", help="execution name (e.g. store-sales-2002-12-31-r1) or ARN")
    _add_watch_options(watch)
    _add_mode(watch)
    watch.set_defaults(handler=_pipeline)

    history = commands.add_parser(
        "history",
        help="list recent executions with status, window and duration",
        description="List recent executions of the pipeline, newest first.",
    )
    history.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    history.add_argument("--json", action="store_true", help="print JSON")
    _add_mode(history)
    history.set_defaults(handler=_pipeline)

    status = commands.add_parser(
        "status",
        help="is the day published, and if not, why: landing, execution, warnings, deadline",
        description="For one day: which extracts landed and when, whether and when it was published and by "
        "which load (the warehouse's ledger: a later failed rerun does not unpublish it), every attempt at it "
        "with its error, the newest execution's states, the volume check's warnings, and whether it was "
        "published by the deadline (--deadline HH:MM the day after, in STORE_SALES_SCHEDULE_TIME_ZONE, "
        "default UTC). Exit 0 published on time, 1 failed, late or missed, 3 running or not started before "
        "the deadline.",
    )
    status.add_argument("--date", help="the day, YYYY-MM-DD (default: the newest day any extract landed for)")
    status.add_argument("--deadline", default="09:00", help="when the day's reports are due, HH:MM (default 09:00)")
    status.add_argument("--json", action="store_true", help="print JSON")
    _add_mode(status)
    status.set_defaults(handler=_pipeline)

    backfill = commands.add_parser(
        "backfill",
        help="load a long range of dates in as few executions as correctness allows",
        description="Load [--start, --end]. The models give one run over a range exactly the tables of "
        "the daily runs in sequence, so the range goes in chunks of --chunk-days (default: all of it in one "
        "execution), oldest first. Rerunning the same backfill after a failure skips the chunks that "
        "succeeded and resumes the failed one from its failed node.",
    )
    _add_window(backfill, single=False)
    backfill.add_argument("--chunk-days", type=int, default=0, help="days per execution (default 0: one execution)")
    _add_full_tests(backfill)
    _add_allow_missing(backfill)
    _add_allow_gap(backfill)
    _add_watch_options(backfill)
    _add_mode(backfill)
    backfill.set_defaults(handler=_pipeline)

    resume = commands.add_parser(
        "resume",
        help="rerun only the failed nodes of an execution and what is downstream of them",
        description="Start a new execution for the same window that builds only the models that did not "
        "succeed in the given execution (the failed node, its descendants, and anything that never ran); the "
        "successful results of the failed execution are kept.",
    )
    resume.add_argument("execution", help="execution name or ARN of a FAILED, TIMED_OUT or ABORTED execution")
    _add_watch_options(resume)
    _add_mode(resume)
    resume.set_defaults(handler=_pipeline)

    deploy_parser = commands.add_parser(
        "deploy",
        help="deploy or update the AWS stack (or --print the commands)",
        description="Render the definition from the dbt graph, build and push the image, package and deploy "
        "infra/template.yaml, publish the dbt docs, and write the stack outputs to store-sales.toml.",
    )
    deploy.add_arguments(deploy_parser)
    deploy_parser.set_defaults(handler=_deploy)

    write_config = commands.add_parser(
        "write-config",
        help="write a deployed stack's outputs (JSON on stdin) to store-sales.toml: deploy's last step",
        description="Read the outputs of `aws cloudformation describe-stacks --stack-name NAME --query "
        "Stacks[0].Outputs --output json` on standard input and write them as the [aws] table of the "
        "configuration file, so every other command works on AWS.",
    )
    write_config.add_argument("--config-file", type=Path, help="the file to write (default <project>/store-sales.toml)")
    write_config.set_defaults(handler=_write_config)

    report = commands.add_parser(
        "report",
        help="ad hoc reports: daily store sales, weekly region performance",
        description="Query the report models: locally from DuckDB, on AWS through the Redshift Data API "
        "(parameters are always bound, never written into the SQL).",
    )
    kinds = report.add_subparsers(dest="kind", metavar="KIND", required=True)
    daily = kinds.add_parser("daily", help="orders and sales per store and day")
    _add_window(daily)
    daily.add_argument("--city", help="store city, e.g. Midway (Bethel on the workshop's data)")
    daily.add_argument("--state", help="store state, e.g. TN (OH on the workshop's data)")
    weekly = kinds.add_parser("weekly", help="store sales performance per region and week, week over week")
    weekly.add_argument("--region", default="North America", help='region from the seed (default "North America")')
    weekly.add_argument("--date", help="a day of the last week to show (default: the last day loaded)")
    weekly.add_argument("--weeks", type=int, default=8, help="how many weeks (default 8)")
    for kind in (daily, weekly):
        kind.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
        kind.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw the report as a PNG chart")
        kind.add_argument(
            "--timeout",
            type=float,
            default=300,
            help="seconds each statement may take: on Redshift its deadline, locally the wait for a pipeline run "
            "in progress to finish (then exit 3)",
        )
        kind.add_argument(
            "--secret-arn",
            help="log in to Redshift with this Secrets Manager secret (JSON username and password) "
            "instead of redshift_secret_arn / the database user",
        )
        _add_mode(kind)
        kind.set_defaults(handler=_report)
    return parser


def _debugging() -> bool:
    """STORE_SALES_DEBUG: show the traceback (a value it does not accept is itself reported in one line)."""
    try:
        return settings.DEBUG.flag()
    except StoreSalesError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Command = args.handler
    try:
        settings.validate()
        return handler(args)
    except StoreSalesError as error:
        if _debugging():
            raise
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return error.exit_code
    except (ClientError, BotoCoreError) as error:
        if _debugging():
            raise
        print(f"error: AWS refused or could not be reached: {' '.join(str(error).split())}", file=sys.stderr)
        return ExitCode.ENVIRONMENT
    except OSError as error:
        if _debugging():
            raise
        print(f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "), file=sys.stderr)
        return ExitCode.ENVIRONMENT
    except ModuleNotFoundError as error:
        missing = missing_extra(error)
        if missing is None or _debugging():
            raise
        print(f"error: {missing}", file=sys.stderr)
        return missing.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.TIMED_OUT
