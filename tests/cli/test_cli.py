"""The command line's contract for bad input: one line on stderr, a documented exit code, no traceback."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pytest
from cli_support import assert_one_line_error, cli, december_landing

from orchestrator.cli import commands
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


def test_a_broken_configuration_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "store-sales.toml"
    config.write_text('[aws]\nregion = "us-east-1"\nstate_machine = "typo"\n')
    result = cli("history", "--config", str(config))
    assert_one_line_error(result, 2, str(config), "state_machine")


def test_unknown_local_execution_points_to_history(landing: Path) -> None:
    result = cli("resume", "store-sales-2002-12-31-r9", "--local", env={"STORE_SALES_DATA_DIR": str(landing)})
    assert_one_line_error(result, 2, "store-sales-2002-12-31-r9", "history")


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
