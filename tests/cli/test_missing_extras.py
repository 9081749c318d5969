"""The command line with the runtime's dependencies alone (`pip install .`, what the image carries): a command that
needs an extra stops in one line naming it, exit 4, never a traceback; a command that needs none still runs.

The extras' modules are made impossible to import in a fresh interpreter (None in sys.modules), as if not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.errors import ExitCode
from orchestrator.extras import EXTRA_OF_MODULE
from orchestrator.extras import LOCAL_TARGET_ADAPTER as ADAPTER

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEPLOY_ARGS = (
    *("deploy", "--region", "eu-west-1", "--package-bucket", "artifacts"),
    *("--subnet-ids", "subnet-a,subnet-b", "--security-group-id", "sg-1", "--redshift-cluster-id", "analytics"),
    *("--redshift-host", "analytics.example.com", "--landing-s3-uri", "s3://landing/store-sales"),
)


def without_extras(tmp_path: Path, *args: str, also_missing: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh interpreter where the extras' modules (and `also_missing`) cannot be imported."""
    missing = sorted(EXTRA_OF_MODULE) + list(also_missing)
    script = (
        "import sys\n"
        f"sys.modules.update(dict.fromkeys({missing!r}))\n"
        "from orchestrator.cli.parser import main\n"
        "raise SystemExit(main(sys.argv[1:]))\n"
    )
    unset = {"STORE_SALES_DEBUG", "STORE_SALES_TARGET"}
    environment = {key: value for key, value in os.environ.items() if key not in unset}
    environment["STORE_SALES_DATA_DIR"] = str(tmp_path / "data")
    environment["PYTHONPATH"] = str(PROJECT_DIR)
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("command", "module"),
    [
        (("sample-data", "--scale", "0.01"), "duckdb"),
        (("run", "--date", "2002-12-31"), "rich"),
        (("report", "daily", "--date", "2002-12-31"), "rich"),
    ],
)
def test_a_command_that_needs_the_local_extra_says_so_in_one_line(
    tmp_path: Path, command: tuple[str, ...], module: str
) -> None:
    result = without_extras(tmp_path, *command)
    assert result.returncode == ExitCode.ENVIRONMENT, result.stderr
    assert result.stderr.splitlines() == [
        f"error: this command needs {module}, which is not installed: install the local extra "
        "(`make setup` installs every extra; or pip install -e '.[local]')"
    ]
    assert not (tmp_path / "data").exists()


def test_deploy_without_the_local_target_s_adapter_says_so_before_any_step(tmp_path: Path) -> None:
    """dbt loads the adapter of the `local` target (dbt-duckdb) by name, so no import of ours shows it missing."""
    config_file = tmp_path / "store-sales.toml"
    result = without_extras(tmp_path, *DEPLOY_ARGS, "--config-file", str(config_file), also_missing=(ADAPTER,))
    assert result.returncode == ExitCode.ENVIRONMENT, result.stderr
    assert result.stderr.splitlines() == [
        "error: this command needs dbt-duckdb, which is not installed: install the local extra "
        "(`make setup` installs every extra; or pip install -e '.[local]')"
    ]
    assert not config_file.exists()


def test_the_help_and_a_command_that_needs_no_extra_still_run(tmp_path: Path) -> None:
    assert without_extras(tmp_path, "--help").returncode == ExitCode.OK
    deploy = without_extras(tmp_path, *DEPLOY_ARGS, "--print")
    assert deploy.returncode == ExitCode.OK, deploy.stderr
    assert deploy.stdout.startswith("set -eu\n")
