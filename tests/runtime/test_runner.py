"""The runner: payload parsing, selection, failure classification and a real dbt build on DuckDB."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import boto3
import duckdb
import pytest
from engine_support import ENGINE_PROJECT, engine_parsed_dir, run_dbt
from moto import mock_aws

from orchestrator.errors import (
    ArtifactUploadError,
    DbtCrashed,
    DbtModelFailed,
    DbtTaskTimedOut,
    DbtTestFailed,
    DbtTransientError,
    RunnerPayloadError,
)
from orchestrator.protocol import TaskRequest, TaskSummary
from orchestrator.runtime.runner import NodeResult, RunnerConfig, _raise_for_failures, run_task
from orchestrator.window import RefreshWindow

EVENT = {
    "task": "dia_root",
    "models": ["dia_root"],
    "refresh_window": {"start": "2002-01-01", "end": "2002-01-02"},
    "full_refresh": False,
    "full_tests": True,
    "nodes": None,
    "execution": "exec-1",
    "extra_tests": [],
    "artifacts": {"bucket": "artifacts", "prefix": "dbt"},
}


def config(tmp_path: Path) -> RunnerConfig:
    return RunnerConfig(
        project_dir=ENGINE_PROJECT,
        profiles_dir=ENGINE_PROJECT,
        parsed_dir=engine_parsed_dir(),
        target="local",
        work_root=tmp_path / "work",
    )


def test_request_from_event_and_from_env_agree() -> None:
    from_event = TaskRequest.from_event(EVENT)
    from_env = TaskRequest.from_env(
        {
            "STORE_SALES_TASK": "dia_root",
            "STORE_SALES_MODELS": "dia_root",
            "STORE_SALES_WINDOW_START": "2002-01-01",
            "STORE_SALES_WINDOW_END": "2002-01-02",
            "STORE_SALES_FULL_REFRESH": "false",
            "STORE_SALES_FULL_TESTS": "true",
            "STORE_SALES_NODES": "null",
            "STORE_SALES_EXECUTION": "exec-1",
            "STORE_SALES_ARTIFACTS_BUCKET": "artifacts",
            "STORE_SALES_ARTIFACTS_PREFIX": "dbt",
        }
    )
    assert from_event == from_env
    assert from_event.full_tests
    assert from_event.dbt_environment()["STORE_SALES_FULL_TESTS"] == "true"
    assert not TaskRequest.from_event({k: v for k, v in EVENT.items() if k != "full_tests"}).full_tests
    assert from_event.window == RefreshWindow.parse("2002-01-01", "2002-01-02")


def test_malformed_payload_is_a_typed_error() -> None:
    with pytest.raises(RunnerPayloadError, match="'refresh_window'"):
        TaskRequest.from_event({"task": "x", "models": ["x"], "execution": "e"})
    with pytest.raises(RunnerPayloadError, match="STORE_SALES_TASK"):
        TaskRequest.from_env({})


def test_nodes_intersect_the_task_models_and_an_empty_intersection_is_skipped(tmp_path: Path) -> None:
    request = TaskRequest.from_event({**EVENT, "models": ["fan_5", "fan_6"], "nodes": ["model.engine.fan_6", "x"]})
    assert request.selected_models() == ("fan_6",)
    skipped = run_task(TaskRequest.from_event({**EVENT, "nodes": ["chain_a"]}), config(tmp_path))
    assert skipped.status == "skipped"
    assert skipped.models == []
    assert TaskSummary.from_dict(skipped.to_dict()) == skipped
    assert not (tmp_path / "work").exists()


def result(name: str, kind: str, status: str, message: str = "") -> NodeResult:
    return NodeResult(name=name, resource_type=kind, status=status, seconds=0.1, message=message)


def test_failures_are_classified_model_test_transient() -> None:
    request = TaskRequest.from_event(EVENT)
    with pytest.raises(DbtModelFailed, match=r"task dia_root .*model dia_root failed: Binder Error"):
        _raise_for_failures(request, [result("dia_root", "model", "error", "Binder Error: no column x")], None)
    with pytest.raises(DbtTestFailed, match="1 test\\(s\\) failed: test unique_id fail: Got 2 results"):
        _raise_for_failures(
            request,
            [result("dia_root", "model", "success"), result("unique_id", "test", "fail", "Got 2 results")],
            None,
        )
    with pytest.raises(DbtTransientError, match="Could not set lock"):
        _raise_for_failures(
            request, [result("dia_root", "model", "error", 'IO Error: Could not set lock on file "w"')], None
        )
    _raise_for_failures(request, [result("dia_root", "model", "success"), result("t", "test", "pass")], None)


def test_crashes_and_mixed_failures_are_classified() -> None:
    request = TaskRequest.from_event(EVENT)
    with pytest.raises(DbtCrashed, match="dbt stopped: Compilation Error in model x"):
        _raise_for_failures(request, [], "Compilation Error in model x")
    with pytest.raises(DbtTransientError, match=r"dbt stopped: .*connection refused"):
        _raise_for_failures(request, [], "Database Error: connection refused by 10.0.0.1")
    transient = result("dia_left", "model", "error", "IO Error: Could not set lock on file")
    with pytest.raises(DbtModelFailed, match=r"model dia_left failed: .*; model dia_right failed: Binder Error"):
        # one lasting failure among transient ones: retrying would not help, so it is not transient
        _raise_for_failures(request, [transient, result("dia_right", "model", "error", "Binder Error: x")], None)
    with pytest.raises(DbtModelFailed, match="model dia_right failed"):
        # a failed model wins over the failed tests of the same task
        _raise_for_failures(
            request, [result("dia_right", "model", "error", "Binder Error"), result("t", "test", "fail", "Got 1")], None
        )


def test_real_build_returns_a_summary_and_uploads_artifacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("STORE_SALES_DUCKDB", str(warehouse))
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts")
        summary = run_task(
            TaskRequest.from_event({**EVENT, "models": ["chain_a"], "task": "chain_a"}), config(tmp_path), s3_client=s3
        )
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="artifacts")["Contents"])
    assert summary.status == "success"
    assert [m["name"] for m in summary.models] == ["chain_a"]
    assert summary.tests == {"pass": 1}
    assert summary.database_user == "duckdb"
    assert summary.refresh_window == {"start": "2002-01-01", "end": "2002-01-02"}
    assert summary.invocation_id
    assert keys == ["dbt/exec-1/chain_a/manifest.json", "dbt/exec-1/chain_a/run_results.json"]
    assert summary.artifacts == "s3://artifacts/dbt/exec-1/chain_a/"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.sql("select window_start, window_end from chain_a").fetchall() == [
            (RefreshWindow.parse("2002-01-01").start, RefreshWindow.parse("2002-01-02").start)
        ]
    assert list((tmp_path / "work").iterdir()) == []


def test_a_dbt_failure_wins_over_a_failed_artifact_upload(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORE_SALES_DUCKDB", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("ENGINE_FAIL_MODEL", "dia_left")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")  # the bucket "artifacts" does not exist: uploads fail
        request = TaskRequest.from_event({**EVENT, "models": ["dia_root", "dia_left"], "task": "dia_left"})
        with pytest.raises(DbtModelFailed, match="model dia_left failed"):
            run_task(request, config(tmp_path), s3_client=s3)
        with pytest.raises(ArtifactUploadError, match="s3://artifacts/dbt/exec-1/dia_root/"):
            run_task(  # without a dbt failure, the upload's failure is the task's
                TaskRequest.from_event({**EVENT, "models": ["dia_root"], "task": "dia_root"}), config(tmp_path), s3
            )


def test_a_held_duckdb_lock_is_a_transient_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = tmp_path / "locked.duckdb"
    monkeypatch.setenv("STORE_SALES_DUCKDB", str(warehouse))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(warehouse)!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(DbtTransientError) as caught:
            run_task(TaskRequest.from_event({**EVENT, "artifacts": {}}), config(tmp_path))
        assert "Could not set lock on file" in str(caught.value)
        assert "task dia_root" in str(caught.value)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()


def test_a_task_at_its_deadline_cancels_dbt_s_query_and_fails_as_timed_out(tmp_path: Path) -> None:
    """A model whose query would run for minutes; the runner's deadline comes while it runs: dbt's query is
    cancelled (DuckDB interrupts it), nothing is written, and the task fails with DbtTaskTimedOut."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "dbt_project.yml").write_text('name: slow\nversion: "1.0"\nprofile: slow\n')
    warehouse = tmp_path / "slow.duckdb"
    (project / "profiles.yml").write_text(
        f"slow:\n  target: local\n  outputs:\n    local:\n      type: duckdb\n      path: {warehouse}\n"
    )
    (project / "models" / "endless.sql").write_text(
        "{{ config(materialized='table') }}\nselect sum(range % 7) as n from range(100000000000)\n"
    )
    run_dbt(project, tmp_path / "target", "parse", duckdb=warehouse)  # the image's parse: the runner's is quick
    slow = RunnerConfig(
        project_dir=project, profiles_dir=project, parsed_dir=tmp_path / "target", target="local", work_root=tmp_path
    )
    day = RefreshWindow.day(date(2002, 1, 1))
    request = TaskRequest(task="endless", models=("endless",), window=day, execution="x")

    with pytest.raises(DbtTaskTimedOut, match="task endless \\(2002-01-01\\): stopped at the Lambda's deadline"):
        run_task(request, slow, deadline=time.monotonic() + 10)

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.sql("select table_name from information_schema.tables").fetchall() == []
