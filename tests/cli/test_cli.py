"""The command line's contract for bad input: one line on stderr, a documented exit code, no traceback."""

from __future__ import annotations

import inspect
import itertools
from datetime import date
from pathlib import Path

import pytest
from cli_support import assert_one_line_error, cli, december_landing

from orchestrator import modes
from orchestrator.cli import commands, parser
from orchestrator.cli.parser import build_parser
from orchestrator.config import Config, Mode
from orchestrator.config import load as load_config
from orchestrator.errors import UsageError
from orchestrator.window import RefreshWindow


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return december_landing(tmp_path_factory.mktemp("data"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("run", "--date", "2002-13-45"), ("2002-13-45", "YYYY-MM-DD")),
        (("run", "--start", "2002-12-31", "--end", "2002-12-01"), ("reversed",)),
        (("run", "--start", "2002-12-01"), ("--date", "--end")),  # `run` alone catches up (test_landing_arrival)
        (("run", "--date", "2002-12-31", "--start", "2002-12-01"), ("not both",)),
        (("report", "daily", "--date", "yesterday"), ("yesterday",)),
        (("history", "--limit", "0"), ("--limit",)),
        (("backfill", "--start", "2002-12-01", "--end", "2002-12-02", "--chunk-days", "-1"), ("--chunk-days",)),
    ],
)
def test_bad_dates_and_values_are_usage_errors(landing: Path, args: tuple[str, ...], words: tuple[str, ...]) -> None:
    result = cli(*args, env={"STORE_SALES_DATA_DIR": str(landing)})
    assert_one_line_error(result, 2, *words)


def test_window_outside_the_landing_data_is_refused_before_anything_runs(landing: Path) -> None:
    result = cli("run", "--date", "2003-06-01", env={"STORE_SALES_DATA_DIR": str(landing)})
    assert_one_line_error(result, 2, "outside the landing data", "2002-12-01..2002-12-31")
    assert not (landing / "warehouse.duckdb").exists()


def test_aws_mode_names_the_missing_configuration(tmp_path: Path) -> None:
    result = cli("history", "--aws", env={"AWS_REGION": "us-east-1"}, cwd=tmp_path)
    assert_one_line_error(result, 2, "state_machine_arn", "STORE_SALES_STATE_MACHINE_ARN")


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ({}, Mode.LOCAL),
        ({"state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:s"}, Mode.AWS),
        ({"redshift_workgroup": "analytics"}, Mode.AWS),
        ({"redshift_cluster_id": "dw"}, Mode.AWS),
        ({"landing_s3_uri": "s3://bucket/landing-root"}, Mode.LOCAL),
    ],
)
def test_one_rule_gives_every_command_its_mode(configured: dict[str, str], expected: Mode) -> None:
    config = Config(**configured)
    assert config.mode() is expected
    assert modes.backend(config).mode is expected
    assert config.mode(Mode.LOCAL) is Mode.LOCAL and config.mode(Mode.AWS) is Mode.AWS  # --local / --aws win


def test_redshift_without_a_state_machine_is_aws_for_run_and_report_alike(landing: Path, tmp_path: Path) -> None:
    """The bug the one rule removes: with Redshift configured and no state machine ARN, `run` used to load the
    local DuckDB file while `report` read Redshift. Now both are AWS mode: `run` names what it lacks, and neither
    touches the local warehouse."""
    config = tmp_path / "store-sales.toml"
    config.write_text('[aws]\nregion = "us-east-1"\nredshift_workgroup = "analytics"\nredshift_database = "dev"\n')
    env = {"STORE_SALES_DATA_DIR": str(landing), "STORE_SALES_CONFIG": str(config)}
    result = cli("run", "--date", "2002-12-01", env=env)
    assert_one_line_error(result, 2, "state_machine_arn", str(config))
    assert not (landing / "warehouse.duckdb").exists()
    backend = modes.backend(load_config(config))
    assert "Redshift workgroup analytics, database dev" in repr(backend.reports(timeout_seconds=1))
    assert backend.ledger.describe().startswith("Redshift workgroup analytics")


def test_a_state_machine_without_redshift_names_the_warehouse_it_lacks(tmp_path: Path) -> None:
    """AWS mode reads the Redshift the deployed stack loads: without one configured, `report` says so (and how to
    read the local file instead) rather than reading a local DuckDB file the stack never loaded."""
    config = tmp_path / "store-sales.toml"
    config.write_text(
        '[aws]\nregion = "us-east-1"\nstate_machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:s"\n'
    )
    result = cli("report", "daily", "--date", "2002-12-01", env={"STORE_SALES_CONFIG": str(config)}, cwd=tmp_path)
    assert_one_line_error(result, 2, "names no Redshift", "redshift_workgroup", "--local")
    # an emulated stack whose runner loads the DuckDB file says so as its runner does: STORE_SALES_TARGET=local
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORE_SALES_TARGET", "local")
        patch.setenv("STORE_SALES_DATA_DIR", str(tmp_path))
        assert str(tmp_path / "warehouse.duckdb") in modes.backend(load_config(config)).ledger.describe()


@pytest.mark.parametrize(
    ("target", "mode", "reads"),
    [
        (None, Mode.LOCAL, "local DuckDB"),
        (None, Mode.AWS, "Redshift workgroup analytics"),
        ("local", Mode.AWS, "local DuckDB"),  # an emulated stack, whose runner loads the DuckDB file
        ("redshift_serverless", Mode.LOCAL, "Redshift workgroup analytics"),  # the local runs load it too
        ("postgres", Mode.LOCAL, "local DuckDB"),  # a target the commands cannot read leaves the mode's choice
        ("postgres", Mode.AWS, "Redshift workgroup analytics"),
    ],
)
def test_the_warehouse_read_is_the_one_the_mode_s_pipeline_loads(
    target: str | None, mode: Mode, reads: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STORE_SALES_TARGET", raising=False)
    if target is not None:
        monkeypatch.setenv("STORE_SALES_TARGET", target)
    config = Config(region="us-east-1", redshift_workgroup="analytics", redshift_database="dev")
    assert modes.backend(config, mode).ledger.describe().startswith(reads)


def test_a_broken_configuration_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "store-sales.toml"
    config.write_text('[aws]\nregion = "us-east-1"\nstate_machine = "typo"\n')
    result = cli("history", "--config", str(config))
    assert_one_line_error(result, 2, str(config), "state_machine")


def test_unknown_local_execution_points_to_history(landing: Path) -> None:
    result = cli("resume", "store-sales-2002-12-31-r9", "--local", env={"STORE_SALES_DATA_DIR": str(landing)})
    assert_one_line_error(result, 2, "store-sales-2002-12-31-r9", "history")


def test_the_command_table_is_the_only_dispatch() -> None:
    """Every command is one row of `COMMANDS`, and every row's handler exists with a parameter for its options."""
    names = [command.name for command in parser.COMMANDS]
    assert len(names) == len(set(names))
    for command in parser.COMMANDS:
        handler = command.handler
        if isinstance(handler, parser.Handler):
            handler = getattr(commands, handler.name)
        assert callable(handler) and len(inspect.signature(handler).parameters) == 1, command.name
    top = {name.split()[0] for name in names}
    assert top == set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]


def test_every_command_has_help() -> None:
    for command in ("sample-data", "render", "run", "watch", "history", "backfill", "resume", "report"):
        result = cli(command, "--help")
        assert result.returncode == 0, result.stderr
        assert "usage:" in result.stdout
        if command in {"run", "backfill"}:
            assert "--full-tests" in result.stdout
            assert "whole tables instead of the rows the refresh window" in " ".join(result.stdout.split())


def test_chunks_cover_the_window_in_order_without_gaps() -> None:
    window = RefreshWindow(date(2002, 12, 1), date(2002, 12, 31))
    parts = commands.chunks(window, 7)
    assert [part.days for part in parts] == [7, 7, 7, 7, 3]
    assert parts[0].start == window.start and parts[-1].end == window.end
    assert all((after.start - before.end).days == 1 for before, after in itertools.pairwise(parts))
    assert commands.chunks(window, 0) == [window]
    with pytest.raises(UsageError):
        commands.chunks(window, -3)
