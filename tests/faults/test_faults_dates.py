"""Dates that are wrong, beyond tests/cli/test_cli.py: impossible days, reversed or far-future windows on every
command that takes them. Each is one line on stderr with exit code 2, before any emulator or warehouse
starts. (A day with no sales is a valid day: tests/faults/test_faults_landing.py loads one.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import assert_one_line_error, cli, december_landing


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return december_landing(tmp_path_factory.mktemp("dates"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("run", "--date", "2002-02-30"), ("--date", "2002-02-30", "YYYY-MM-DD")),
        (("run", "--date", "10000-01-01"), ("10000-01-01", "YYYY-MM-DD")),
        (("run", "--start", "2002-12-01", "--end", "2002-12-32"), ("end date", "2002-12-32")),
        (("run", "--date", "9999-12-31"), ("9999-12-31", "outside the landing data", "2002-12-01..2002-12-31")),
        (("run", "--start", "2002-12-30", "--end", "2999-01-01"), ("2999-01-01", "outside the landing data")),
        (("run", "--date", "1900-01-01"), ("1900-01-01", "outside the landing data")),
        (("backfill", "--start", "2002-12-31", "--end", "2002-12-01"), ("reversed", "swap them")),
        (("backfill", "--start", "2002-12-01", "--end", "2999-12-31"), ("2999-12-31", "outside the landing data")),
        (("backfill", "--start", "12/01/2002", "--end", "2002-12-31"), ("12/01/2002", "YYYY-MM-DD")),
        (("report", "daily", "--start", "2002-12-31", "--end", "2002-12-01"), ("reversed",)),
        (("report", "weekly", "--date", "2002-31-12"), ("2002-31-12", "YYYY-MM-DD")),
    ],
)
def test_bad_dates_are_one_line_usage_errors(data_dir: Path, args: tuple[str, ...], words: tuple[str, ...]) -> None:
    result = cli(*args, env={"STORE_SALES_DATA_DIR": str(data_dir)})
    assert_one_line_error(result, 2, *words)
    assert not (data_dir / "warehouse.duckdb").exists()
    assert not (data_dir / "executions").exists()
