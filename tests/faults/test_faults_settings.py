"""Settings that are wrong: everything is checked before anything starts.

Observed before: `STORE_SALES_MEMORY_MB=abc python -m orchestrator run ...` started an execution that failed in its
first task (`DbtCrashed ... Compilation error`), sent an alert and exited 1; `STORE_SALES_FULL_TESTS=maybe` was
taken as false; a misspelt table `[awz]` in store-sales.toml was ignored. Now each is one line on stderr naming
the setting and what it accepts, exit code 2, and nothing started: no execution, no lock, no warehouse, no alert
(the alert is the failed execution's last state). The same settings, well written, run the real pipeline
(the emulator, dbt, DuckDB) and STORE_SALES_FULL_TESTS=true asks for whole-table tests as --full-tests does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import assert_one_line_error, cli
from faults_support import FIRST, write_good_landing

LANDED = {"landing", "reference"}  # what the data directory holds before any command ran


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("settings")
    write_good_landing(root)
    return root


def assert_nothing_started(data_dir: Path, result: subprocess.CompletedProcess[str]) -> None:
    assert result.stdout == "", result.stdout  # no `started <execution>` line, no result
    assert {path.name for path in data_dir.iterdir()} == LANDED  # no executions/, lock or warehouse file


def config_file(directory: Path, text: str) -> Path:
    path = directory / "store-sales.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("STORE_SALES_MEMORY_MB", "abc", ("STORE_SALES_MEMORY_MB='abc'", "a whole number of at least 128")),
        ("STORE_SALES_MEMORY_MB", "64", ("STORE_SALES_MEMORY_MB='64'", "below 128")),
        ("STORE_SALES_FULL_TESTS", "maybe", ("STORE_SALES_FULL_TESTS='maybe'", "true, false, 1 or 0")),
        ("STORE_SALES_FULL_TESTS", "yes", ("STORE_SALES_FULL_TESTS='yes'", "true, false, 1 or 0")),
        ("STORE_SALES_DEBUG", "on", ("STORE_SALES_DEBUG='on'", "true, false, 1 or 0")),
        ("STORE_SALES_HEARTBEAT_SECONDS", "-5", ("STORE_SALES_HEARTBEAT_SECONDS", "greater than 0")),
        ("STORE_SALES_PG_PORT", "54x2", ("STORE_SALES_PG_PORT", "from 1 to 65535")),
        ("STORE_SALES_SCHEDULE_TIME_ZONE", "Mars/Olympus", ("STORE_SALES_SCHEDULE_TIME_ZONE", "IANA time zone")),
        ("STORE_SALES_LANDING_S3_URI", "my-bucket/store-sales", ("STORE_SALES_LANDING_S3_URI", "s3://")),
        ("STORE_SALES_PROJECT_DIR", "/nowhere/store-sales", ("STORE_SALES_PROJECT_DIR", "does not exist")),
    ],
)
def test_a_bad_environment_variable_is_refused_before_the_run_starts(
    landing: Path, variable: str, value: str, words: tuple[str, ...]
) -> None:
    result = cli("run", "--date", FIRST.isoformat(), env={"STORE_SALES_DATA_DIR": str(landing), variable: value})
    assert_one_line_error(result, 2, *words)
    assert_nothing_started(landing, result)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[awz]\nregion = "us-east-1"\n', ("unknown table [awz]", "did you mean [aws]?", "the only table is [aws]")),
        ('[aws]\nregoin = "us-east-1"\n', ("unknown key regoin in [aws]", "did you mean region?", "known keys are")),
        ('region = "us-east-1"\n', ("key region is outside any table", "[aws]")),
        ('[aws]\nstate_machine_arn = "store-sales"\n', ("state_machine_arn = 'store-sales' is not an ARN", "arn:")),
        ('[aws]\nartifacts_uri = "bucket/dbt"\n', ("artifacts_uri", "s3://bucket/prefix")),
    ],
)
def test_a_bad_configuration_file_is_refused_naming_the_file_and_the_key(
    landing: Path, tmp_path: Path, text: str, words: tuple[str, ...]
) -> None:
    path = config_file(tmp_path, text)
    result = cli(
        "run", "--date", FIRST.isoformat(), env={"STORE_SALES_DATA_DIR": str(landing), "STORE_SALES_CONFIG": str(path)}
    )
    assert_one_line_error(result, 2, str(path), *words)
    assert_nothing_started(landing, result)


@pytest.mark.parametrize(
    "args",
    [
        ("backfill", "--start", FIRST.isoformat(), "--end", FIRST.isoformat()),
        ("resume", "store-sales-2002-01-10-r1"),
        ("status", "--date", FIRST.isoformat()),
        ("history",),
        ("report", "daily", "--local"),
        ("sample-data", "--scale", "0.01"),
    ],
)
def test_every_command_checks_the_settings_first(landing: Path, args: tuple[str, ...]) -> None:
    result = cli(*args, env={"STORE_SALES_DATA_DIR": str(landing), "STORE_SALES_MEMORY_MB": "abc"})
    assert_one_line_error(result, 2, "STORE_SALES_MEMORY_MB='abc'")
    assert_nothing_started(landing, result)


def test_paths_of_the_wrong_kind_are_refused_and_a_data_directory_yet_to_be_made_is_not(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory", encoding="utf-8")
    result = cli("history", env={"STORE_SALES_DATA_DIR": str(a_file)})
    assert_one_line_error(result, 2, "STORE_SALES_DATA_DIR", "is not a directory")
    result = cli("history", env={"STORE_SALES_DATA_DIR": str(tmp_path), "STORE_SALES_DUCKDB": str(tmp_path)})
    assert_one_line_error(result, 2, "STORE_SALES_DUCKDB", "is a directory")
    # sample-data makes the data directory: one that does not exist yet passes the checks (the scale is refused)
    result = cli("sample-data", "--scale", "7", env={"STORE_SALES_DATA_DIR": str(tmp_path / "new")})
    assert_one_line_error(result, 2, "scale factor 7")


def test_the_same_settings_well_written_run_the_pipeline_with_whole_table_tests(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    write_good_landing(data_dir)
    path = config_file(tmp_path, '[aws]\nregion = "us-east-1"\n')  # no state machine: the local emulator
    env = {
        "STORE_SALES_DATA_DIR": str(data_dir),
        "STORE_SALES_CONFIG": str(path),
        "STORE_SALES_MEMORY_MB": "2048",
        "STORE_SALES_FULL_TESTS": "TRUE",
        "STORE_SALES_DEBUG": "0",
    }
    result = cli("run", "--date", FIRST.isoformat(), "--json", env=env)
    assert result.returncode == 0, result.stderr
    execution = json.loads(result.stdout)
    assert execution["status"] == "SUCCEEDED"
    assert execution["input"]["full_tests"] is True


def test_the_runner_checks_its_own_environment_before_dbt(tmp_path: Path) -> None:
    """On AWS no CLI checked the container's environment: the ECS entry refuses a bad value itself."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("STORE_SALES_", "AWS_"))}
    task = {
        "STORE_SALES_TASK": "customer_address",
        "STORE_SALES_MODELS": "stg_tpcds__customer_addresses dim_customer_address",
        "STORE_SALES_WINDOW_START": FIRST.isoformat(),
        "STORE_SALES_WINDOW_END": FIRST.isoformat(),
        "STORE_SALES_WORK_DIR": str(tmp_path / "work"),
        "STORE_SALES_MEMORY_MB": "abc",
    }
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.runtime.runner"],
        capture_output=True,
        text=True,
        env={**clean, **task},
        timeout=120,
        check=False,
    )
    assert_one_line_error(result, 2, "STORE_SALES_MEMORY_MB='abc'", "a whole number of at least 128")
    assert not (tmp_path / "work").exists()  # dbt never started: no scratch directory
