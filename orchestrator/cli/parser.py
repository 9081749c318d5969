"""`python -m orchestrator`: the command line of the Store Sales pipeline.

Every command is one row of `COMMANDS`: its name, help, arguments, the typed options built from them
(`orchestrator.cli.options`) and its handler (in `orchestrator.cli.commands`, `tools` or `deploy`). Every
command has `--help`. Errors are printed as one line on stderr and end the process with the exit code of
`orchestrator.errors.ExitCode`; set STORE_SALES_DEBUG=1 to see a traceback instead. Every setting of the
environment is checked before any command does anything (`orchestrator.settings`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator import settings
from orchestrator.cli import deploy, tools
from orchestrator.cli.options import (
    DEFAULT_WATCH_SECONDS,
    BackfillOptions,
    HistoryOptions,
    RenderFileOptions,
    ReportOptions,
    ResumeOptions,
    RunOptions,
    SampleDataOptions,
    StatusOptions,
    Target,
    Watching,
    WatchOptions,
)
from orchestrator.config import Mode
from orchestrator.errors import ExitCode, StoreSalesError, UsageError
from orchestrator.extras import missing_extra
from orchestrator.landing.contract import EXTRACTS
from orchestrator.window import RefreshWindow, parse_date

OptionsT = TypeVar("OptionsT")


@dataclass(frozen=True)
class Command(Generic[OptionsT]):
    """One command: where it sits (`report daily` is the `daily` kind of `report`), what `--help` says, its
    arguments, the typed options they make, and the handler that gets them."""

    name: str
    help: str
    description: str
    arguments: Callable[[argparse.ArgumentParser], None]
    options: Callable[[argparse.Namespace], OptionsT]
    handler: Callable[[OptionsT], int]


@dataclass(frozen=True)
class Handler:
    """A handler of `orchestrator.cli.commands`, by name, imported when its command runs: that module needs the
    local extra (rich, for the display), which `deploy`, `write-config` and `--help` do not, and a command that
    needs it says so in one line (`main`), not in a traceback at import."""

    name: str

    def __call__(self, options: Any) -> int:
        from orchestrator.cli import commands

        handler: Callable[[Any], int] = getattr(commands, self.name)
        return handler(options)


def _add_window(parser: argparse.ArgumentParser, single: bool = True, catch_up: bool = False) -> None:
    if single:
        default = " (none: catch up, every day landed after the last loaded one)" if catch_up else ""
        parser.add_argument("--date", help=f"the refresh date, YYYY-MM-DD (the window [D, D]){default}")
    parser.add_argument("--start", help="first load date of the window, YYYY-MM-DD")
    parser.add_argument("--end", help="last load date of the window, YYYY-MM-DD (inclusive)")


def _add_mode(parser: argparse.ArgumentParser) -> None:
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
        help="use the deployed stack: its state machine and its Redshift (the default when the configuration names "
        "a state machine ARN, a Redshift cluster or workgroup)",
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


def _sample_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=float, default=0.1, help="TPC-DS scale factor (default 0.1)")
    parser.add_argument(
        "--data-dir", type=Path, help=f"where to write (default: ${settings.DATA_DIR.name} or <project>/data)"
    )
    parser.add_argument("--force", action="store_true", help="regenerate even if the data is already there")


def _render_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="file to write, e.g. infra/statemachine.asl.json")
    parser.add_argument("--select", nargs="*", default=[], help="dbt-style selectors (names, +ancestors, tag:x)")
    parser.add_argument("--exclude", nargs="*", default=[], help="dbt-style selectors to leave out")
    parser.add_argument("--group-stages", action="store_true", help="one task (one dbt invocation) per stage")


def _render_options(args: argparse.Namespace) -> RenderFileOptions:
    from orchestrator.definition.state_machine import RenderOptions

    return RenderFileOptions(
        args.out, RenderOptions(select=tuple(args.select), exclude=tuple(args.exclude), group_stages=args.group_stages)
    )


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    _add_window(parser, catch_up=True)
    parser.add_argument("--select", nargs="*", default=[], help="only these models (dbt-style selectors)")
    parser.add_argument("--exclude", nargs="*", default=[], help="leave these models out (dbt-style selectors)")
    parser.add_argument("--full-refresh", action="store_true", help="rebuild incremental models from scratch")
    _add_full_tests(parser)
    _add_allow_missing(parser)
    _add_allow_gap(parser)
    parser.add_argument(
        "--wait-for-landing",
        action="store_true",
        help="first wait (up to --timeout seconds, a line whenever what is missing changes) until every extract "
        "of the window has landed (its _SUCCESS marker), then run; exit 3 naming what never came",
    )
    parser.add_argument("--no-wait", action="store_true", help="print the execution ARN and return (AWS only)")
    _add_watch_options(parser)
    _add_mode(parser)


def _run_options(args: argparse.Namespace) -> RunOptions:
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


def _execution_arguments(what: str) -> Callable[[argparse.ArgumentParser], None]:
    def arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("execution", help=what)
        _add_watch_options(parser)
        _add_mode(parser)

    return arguments


def _history_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    _add_mode(parser)


def _status_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", help="the day, YYYY-MM-DD (default: the newest day any extract landed for)")
    parser.add_argument("--deadline", default="09:00", help="when the day's reports are due, HH:MM (default 09:00)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="also draw the last 30 mornings up to the day: when each extract landed, each task's run, the deadline, "
        "the days published late or with a warning",
    )
    _add_mode(parser)


def _status_options(args: argparse.Namespace) -> StatusOptions:
    day = parse_date(args.date, "--date") if args.date else None
    return StatusOptions(day, args.deadline, args.json, args.plot, _target(args))


def _backfill_arguments(parser: argparse.ArgumentParser) -> None:
    _add_window(parser, single=False)
    parser.add_argument("--chunk-days", type=int, default=0, help="days per execution (default 0: one execution)")
    _add_full_tests(parser)
    _add_allow_missing(parser)
    _add_allow_gap(parser)
    _add_watch_options(parser)
    _add_mode(parser)


def _backfill_options(args: argparse.Namespace) -> BackfillOptions:
    return BackfillOptions(
        window=_window(args),
        chunk_days=args.chunk_days,
        full_tests=_full_tests(args),
        allow_missing=tuple(args.allow_missing),
        allow_gap=args.allow_gap,
        watching=_watching(args),
        target=_target(args),
    )


def _write_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-file", type=Path, help="the file to write (default <project>/store-sales.toml)")


def _report_arguments(kind: str) -> Callable[[argparse.ArgumentParser], None]:
    def arguments(parser: argparse.ArgumentParser) -> None:
        if kind == "daily":
            _add_window(parser)
            parser.add_argument("--city", help="store city, e.g. Midway (Bethel on the workshop's data)")
            parser.add_argument("--state", help="store state, e.g. TN (OH on the workshop's data)")
        else:
            parser.add_argument(
                "--region", default="North America", help='region from the seed (default "North America")'
            )
            parser.add_argument("--date", help="a day of the last week to show (default: the last day loaded)")
            parser.add_argument("--weeks", type=int, default=8, help="how many weeks (default 8)")
        parser.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format")
        parser.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw the report as a PNG chart")
        parser.add_argument(
            "--timeout",
            type=float,
            default=300,
            help="seconds each statement may take: on Redshift its deadline, locally the wait for a pipeline run "
            "in progress to finish (then exit 3)",
        )
        parser.add_argument(
            "--secret-arn",
            help="log in to Redshift with this Secrets Manager secret (JSON username and password) "
            "instead of redshift_secret_arn / the database user",
        )
        _add_mode(parser)

    return arguments


def _report_options(kind: str) -> Callable[[argparse.Namespace], ReportOptions]:
    def options(args: argparse.Namespace) -> ReportOptions:
        return ReportOptions(
            kind=kind,
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

    return options


REPORT_HELP = "ad hoc reports: daily store sales, weekly region performance"
REPORT_DESCRIPTION = (
    "Query the report models in the warehouse of the mode (the one `run` loads): locally from DuckDB, on AWS "
    "through the Redshift Data API (parameters are always bound, never written into the SQL)."
)

COMMANDS: tuple[Command[Any], ...] = (
    Command(
        "sample-data",
        "generate landing extracts from TPC-DS dsdgen",
        "Generate the daily landing extracts and reference tables from TPC-DS data "
        "(DuckDB's tpcds extension) in DIR/landing/<extract>/load_date=YYYY-MM-DD/*.parquet and "
        "DIR/reference/<table>.parquet. The same scale factor always gives byte-identical files.",
        _sample_data_arguments,
        lambda args: SampleDataOptions(args.scale, args.data_dir, args.force),
        tools.sample_data,
    ),
    Command(
        "render",
        "write the Step Functions definition generated from the dbt graph",
        "Write the ASL definition (JSON) generated from target/manifest.json. ARNs are "
        "CloudFormation placeholders (${RunnerFunctionArn}, ...) filled by the template's DefinitionSubstitutions.",
        _render_arguments,
        _render_options,
        tools.render,
    ),
    Command(
        "run",
        "run the pipeline for a refresh date or window, and watch it",
        "Start an execution of the state machine for a refresh date (--date) or window "
        "(--start/--end) and watch it to the end: live progress, then every state's timing, the database "
        "user and dbt's per-model results. Refuses to start while an execution for an overlapping window runs.",
        _run_arguments,
        _run_options,
        Handler("run"),
    ),
    Command(
        "watch",
        "watch an execution (by name or ARN) to the end",
        "Follow an execution until it ends and print its timing table. Locally, a finished "
        "execution is shown from the local journal.",
        _execution_arguments("execution name (e.g. store-sales-2002-12-31-r1) or ARN"),
        lambda args: WatchOptions(args.execution, _watching(args), _target(args)),
        Handler("watch"),
    ),
    Command(
        "history",
        "list recent executions with status, window and duration",
        "List recent executions of the pipeline, newest first.",
        _history_arguments,
        lambda args: HistoryOptions(args.limit, args.json, _target(args)),
        Handler("history"),
    ),
    Command(
        "status",
        "is the day published, and if not, why: landing, execution, warnings, deadline",
        "For one day: which extracts landed and when, whether and when it was published and by "
        "which load (the warehouse's ledger: a later failed rerun does not unpublish it), every attempt at it "
        "with its error, the newest execution's states, the volume check's warnings, and whether it was "
        "published by the deadline (--deadline HH:MM the day after, in STORE_SALES_SCHEDULE_TIME_ZONE, "
        "default UTC). Exit 0 published on time, 1 failed, late or missed, 3 running or not started before "
        "the deadline.",
        _status_arguments,
        _status_options,
        Handler("status"),
    ),
    Command(
        "backfill",
        "load a long range of dates in as few executions as correctness allows",
        "Load [--start, --end]. The models give one run over a range exactly the tables of "
        "the daily runs in sequence, so the range goes in chunks of --chunk-days (default: all of it in one "
        "execution), oldest first. Rerunning the same backfill after a failure skips the chunks that "
        "succeeded and resumes the failed one from its failed node.",
        _backfill_arguments,
        _backfill_options,
        Handler("backfill"),
    ),
    Command(
        "resume",
        "rerun only the failed nodes of an execution and what is downstream of them",
        "Start a new execution for the same window that builds only the models that did not "
        "succeed in the given execution (the failed node, its descendants, and anything that never ran); the "
        "successful results of the failed execution are kept.",
        _execution_arguments("execution name or ARN of a FAILED, TIMED_OUT or ABORTED execution"),
        lambda args: ResumeOptions(args.execution, _watching(args), _target(args)),
        Handler("resume"),
    ),
    Command(
        "deploy",
        "deploy or update the AWS stack (or --print the commands)",
        "Render the definition from the dbt graph, build and push the image, package and deploy "
        "infra/template.yaml, publish the dbt docs, and write the stack outputs to store-sales.toml.",
        deploy.add_arguments,
        deploy.options_from_args,
        deploy.command,
    ),
    Command(
        "write-config",
        "write a deployed stack's outputs (JSON on stdin) to store-sales.toml: deploy's last step",
        "Read the outputs of `aws cloudformation describe-stacks --stack-name NAME --query "
        "Stacks[0].Outputs --output json` on standard input and write them as the [aws] table of the "
        "configuration file, so every other command works on AWS.",
        _write_config_arguments,
        lambda args: deploy.WriteConfigOptions(args.config_file),
        deploy.config_command,
    ),
    Command(
        "report daily",
        "orders and sales per store and day",
        "Orders and sales per store and day, for a date or a window (default: the last day loaded).",
        _report_arguments("daily"),
        _report_options("daily"),
        Handler("report"),
    ),
    Command(
        "report weekly",
        "store sales performance per region and week, week over week",
        "Store sales performance per region and week, week over week, up to the week of --date (default: the "
        "last week loaded).",
        _report_arguments("weekly"),
        _report_options("weekly"),
        Handler("report"),
    ),
)
GROUPS = {"report": (REPORT_HELP, REPORT_DESCRIPTION)}  # commands with kinds: `report daily`, `report weekly`


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator",
        description="Run the Store Sales dbt pipeline through AWS Step Functions, locally or on AWS.",
        epilog="Exit codes: 0 success, 1 pipeline failed, 2 usage or input error, "
        "3 timed out or aborted (or stopped watching), 4 environment error (tools, permissions, services). "
        f"Environment variables: {', '.join(setting.name for setting in settings.USER_SETTINGS)} "
        "(what each accepts: the README's configuration table).",
    )
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    kinds: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    for command in COMMANDS:
        group, _, kind = command.name.rpartition(" ")
        if group:
            if group not in kinds:
                group_help, group_description = GROUPS[group]
                group_parser = top.add_parser(group, help=group_help, description=group_description)
                kinds[group] = group_parser.add_subparsers(dest="kind", metavar="KIND", required=True)
            sub = kinds[group].add_parser(kind, help=command.help, description=command.description)
        else:
            sub = top.add_parser(command.name, help=command.help, description=command.description)
        command.arguments(sub)
        sub.set_defaults(command_entry=command)
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
    command: Command[Any] = args.command_entry
    try:
        settings.validate()
        return command.handler(command.options(args))
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
