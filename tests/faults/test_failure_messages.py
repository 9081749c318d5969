"""What a user reads when a day cannot be loaded: the real command line, real dbt, the local emulator.

Reproduces two observations of a corrupt sales file (the SF 0.01 sample, 1998-04-03), here on the faults'
small landing (tests/landing.py: FIRST loaded, the fault on SECOND):
- the failure was printed on stdout, wrapped over three lines, blamed task `item` (which does not read sales),
  repeated its own prefix, named the file without its path and advised `--allow-missing`;
- the alert was built from Lambda's JSON error (errorMessage, stackTrace with the runtime's file paths), and
  locally it was visible nowhere.
Now: one line on stderr naming the task that reads the extract, the day and the file's full path, with the
advice that fits; every alert the definition publishes is shown as it is sent ("alert sent: ..."), and it is
that same line with the execution's name and the command that resumes it.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import assert_one_line_error, cli
from faults_support import FIRST, SECOND, extract_file, write_good_landing

from orchestrator.executions.launcher import ExecutionResult

pytestmark = pytest.mark.slow

EXECUTION = f"store-sales-{SECOND.isoformat()}-r1"
RESUME = f"python -m orchestrator resume {EXECUTION}"
LEAKS = ("errorMessage", "errorType", "stackTrace", "Traceback", 'File "', "site-packages")


@dataclass(frozen=True)
class FailedRun:
    data_dir: Path
    bad_file: Path
    result: subprocess.CompletedProcess[str]


def loaded_first_day(root: Path) -> tuple[Path, dict[str, str]]:
    data_dir = root / "data"
    write_good_landing(data_dir)
    env = {"STORE_SALES_DATA_DIR": str(data_dir)}
    first = cli("run", "--date", FIRST.isoformat(), env=env)
    assert first.returncode == 0, first.stderr
    return data_dir, env


@pytest.fixture(scope="module")
def corrupt_sales(tmp_path_factory: pytest.TempPathFactory) -> FailedRun:
    """SECOND's sales file cut short (a copy that broke), then `run --date SECOND`."""
    data_dir, env = loaded_first_day(tmp_path_factory.mktemp("corrupt-sales"))
    sales = extract_file(data_dir, "store_sales", SECOND)
    sales.write_bytes(sales.read_bytes()[:200])
    return FailedRun(data_dir, sales, cli("run", "--date", SECOND.isoformat(), env=env))


def failure_line(result: subprocess.CompletedProcess[str]) -> str:
    """The failure's own line: stderr's one line without the CLI's `error: execution <name> FAILED: `."""
    prefix = f"error: execution {EXECUTION} FAILED: "
    line = result.stderr.strip()
    assert line.startswith(prefix), result.stderr
    return line.removeprefix(prefix)


def test_a_corrupt_sales_file_fails_the_sales_task_in_one_line_on_stderr(corrupt_sales: FailedRun) -> None:
    result = corrupt_sales.result
    assert_one_line_error(
        result,
        1,
        f"task store_sales ({SECOND})",  # the task that reads sales, not a dimension's
        f"store_sales {SECOND}",
        str(corrupt_sales.bad_file),  # the full path
        "is not a Parquet file",
        f"replace the file(s) named and run the same window again (python -m orchestrator run --date {SECOND})",
    )
    line = failure_line(result)
    assert "--allow-missing" not in line and "wait" not in line  # which never accepts a file
    assert "task item" not in line and "task customer_address" not in line
    assert line.count(f"task store_sales ({SECOND})") == 1  # no prefix said twice
    # stdout holds the progress, the tables and the alert sent; the failure itself is not printed there again
    assert [text for text in result.stdout.splitlines() if line in text] == [
        f"alert sent: {line} (execution {EXECUTION}; once fixed, resume it with `{RESUME}`)"
    ]
    assert "Build store_sales on Lambda" in result.stdout and "FAILED" in result.stdout


def test_the_alert_is_the_same_line_with_the_execution_and_resume_command(corrupt_sales: FailedRun) -> None:
    result = corrupt_sales.result
    line = failure_line(result)
    sent = [text.removeprefix("alert sent: ") for text in result.stdout.splitlines() if text.startswith("alert sent:")]
    assert sent == [f"{line} (execution {EXECUTION}; once fixed, resume it with `{RESUME}`)"]
    for leak in LEAKS:
        assert leak not in sent[0], sent[0]
    # the local journal keeps what was sent, for `status` and `history` after the command ended
    record = json.loads((corrupt_sales.data_dir / "executions" / f"{EXECUTION}.json").read_text(encoding="utf-8"))
    finished = ExecutionResult.from_dict(record)
    assert finished.alerts() == sent
    assert finished.cause == line  # the execution's cause is that line too, as `watch` and `history` show it


def test_a_missing_item_delivery_advises_waiting_or_allow_missing(tmp_path: Path) -> None:
    data_dir, env = loaded_first_day(tmp_path)
    for entry in extract_file(data_dir, "item", SECOND).parent.iterdir():
        entry.unlink()  # neither the file nor its _SUCCESS marker has come

    result = cli("run", "--date", SECOND.isoformat(), env=env)

    assert_one_line_error(
        result,
        1,
        f"task item ({SECOND}): landing incomplete: item {SECOND}: not delivered",
        "wait for the delivery (its _SUCCESS marker), or run the window again with --allow-missing item",
    )
    assert "replace" not in result.stderr
    assert f"alert sent: {failure_line(result)} (execution {EXECUTION}" in result.stdout
