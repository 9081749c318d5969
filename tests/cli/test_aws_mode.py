"""The commands in AWS mode (`--aws`): boto3 clients built from the configuration talk to a deployed
state machine. Here the deployment is the local emulator's moto server, reached through
AWS_ENDPOINT_URL exactly as a real endpoint would be: Step Functions keeps the history, no journal.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pipeline_support import negative

from orchestrator import cli, file_lock, settings
from orchestrator.errors import ExitCode
from orchestrator.local import sample_data
from orchestrator.local.emulator import LocalAws, LocalOptions
from orchestrator.modes.local import ensure_parsed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalAws, Path]]:
    root = tmp_path_factory.mktemp("aws")
    data = root / "data"
    sample_data.generate(scale=0.01, data_dir=data)
    ensure_parsed(settings.project_dir())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STORE_SALES_DATA_DIR", str(data))
        patch.delenv("STORE_SALES_DUCKDB", raising=False)
        # the emulator's runner loads the DuckDB file (its one substitution for Redshift): the CLI reads the same
        patch.setenv("STORE_SALES_TARGET", "local")
        with LocalAws(LocalOptions()) as aws:
            patch.setenv("STORE_SALES_STATE_MACHINE_ARN", aws.state_machine_arn)
            patch.setenv("AWS_REGION", "us-east-1")
            yield aws, data


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    """Run a command with --json: its standard output must be one JSON document and nothing else."""
    code = cli.main([*args, "--json"])
    captured = capsys.readouterr()
    assert captured.out.strip(), captured.err
    return code, json.loads(captured.out)


def test_run_watch_and_history_use_step_functions_itself(
    deployed: tuple[LocalAws, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, data = deployed
    code, result = run_json(capsys, "run", "--date", "1998-01-02")
    assert code == ExitCode.OK, result
    assert result["name"] == "store-sales-1998-01-02-r1"
    assert {summary["database_user"] for summary in result["dbt"]} == {"duckdb"}
    assert not (data / "executions").exists()

    code, history = run_json(capsys, "history")
    ours = [(item["name"], item["status"], item["window"]) for item in history if item["window"] == "1998-01-02"]
    assert ours == [("store-sales-1998-01-02-r1", "SUCCEEDED", "1998-01-02")]  # other tests share the deployment
    code, watched = run_json(capsys, "watch", "store-sales-1998-01-02-r1")
    assert code == ExitCode.OK
    assert [state["name"] for state in watched["states"]] == [state["name"] for state in result["states"]]


def test_no_wait_returns_the_arn_and_a_second_overlapping_run_is_refused(
    deployed: tuple[LocalAws, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    aws, _ = deployed
    with file_lock.exclusive(aws.warehouse_lock()):  # its first task waits for the warehouse: it stays RUNNING
        code = cli.main(["run", "--start", "1998-01-02", "--end", "1998-01-05", "--no-wait"])
        arn = capsys.readouterr().out.strip()
        assert code == ExitCode.OK
        assert arn.endswith(":store-sales-1998-01-02-to-1998-01-05-r1")

        code = cli.main(["run", "--date", "1998-01-03"])
        captured = capsys.readouterr()
        assert code == ExitCode.USAGE
        assert "store-sales-1998-01-02-to-1998-01-05-r1 is already RUNNING" in captured.err

        assert cli.main(["resume", arn]) == ExitCode.USAGE
        assert "is still RUNNING: watch it, and resume it only if it fails" in capsys.readouterr().err

    code, result = run_json(capsys, "watch", arn)
    assert code == ExitCode.OK
    assert result["status"] == "SUCCEEDED"
    shutil.rmtree(aws.work_dir / "ecs-logs", ignore_errors=True)


def test_reports_go_through_the_data_api_and_time_out_cleanly(
    deployed: tuple[LocalAws, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORE_SALES_TARGET", "redshift")  # the deployed runner's target: AWS mode reads Redshift
    code = cli.main(["report", "daily", "--date", "1998-01-02", "--aws"])
    assert code == ExitCode.USAGE
    assert "names no Redshift" in capsys.readouterr().err

    monkeypatch.setenv("STORE_SALES_REDSHIFT_DATABASE", "dev")
    monkeypatch.setenv("STORE_SALES_REDSHIFT_WORKGROUP", "analytics")
    code = cli.main(["report", "daily", "--date", "1998-01-02", "--city", "Bethel", "--aws", "--timeout", "0.5"])
    err = capsys.readouterr().err
    assert code == ExitCode.TIMED_OUT
    assert "cancelled" in err
    assert len(err.strip().splitlines()) == 1


def test_backfill_and_resume_go_through_step_functions(
    deployed: tuple[LocalAws, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, data = deployed
    # a loaded day before the backfill (other tests of the module load earlier days, in any order)
    assert cli.main(["run", "--date", "1998-01-20", "--aws", "--allow-gap"]) == ExitCode.OK
    capsys.readouterr()
    # without the landing S3 folder, the days after the last loaded one (the ledger's) count as landed
    code = cli.main(["backfill", "--start", "1998-02-02", "--end", "1998-02-04", "--aws"])
    refused = capsys.readouterr().err
    assert code == ExitCode.USAGE
    assert "would leave" in refused and "the landing is not listed here" in refused
    assert cli.main(["backfill", "--start", "1998-02-02", "--end", "1998-02-04", "--aws", "--allow-gap"]) == ExitCode.OK
    assert "backfill of 1998-02-02..1998-02-04 done in 1 chunk(s)" in capsys.readouterr().err

    sales = next((data / "landing" / "store_sales" / "load_date=1998-02-05").glob("*.parquet"))
    original = negative(sales, "ss_quantity")
    try:
        code, failed = run_json(capsys, "run", "--date", "1998-02-05", "--aws")
    finally:
        sales.write_bytes(original)
    assert code == ExitCode.PIPELINE_FAILED
    assert failed["status"] == "FAILED"

    code, resumed = run_json(capsys, "resume", failed["name"], "--aws")
    assert code == ExitCode.OK, resumed
    assert (resumed["name"], resumed["status"]) == ("store-sales-1998-02-05-r2", "SUCCEEDED")
    code, history = run_json(capsys, "history", "--aws")
    statuses = {item["name"]: item["status"] for item in history}
    assert statuses["store-sales-1998-02-02-to-1998-02-04-r1"] == "SUCCEEDED"
    assert (statuses[failed["name"]], statuses[resumed["name"]]) == ("FAILED", "SUCCEEDED")
