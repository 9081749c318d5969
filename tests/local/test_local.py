"""End to end: the rendered definition executed by the local emulator on DuckDB (Lambda and ECS paths)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from alert_queue import alerts, subscribe_queue
from engine_support import (
    ENGINE_PROJECT,
    engine_parsed_dir,
    entered_states,
    execution_input,
    history,
    run_dbt,
    wait_for_execution,
)

from orchestrator.definition.state_machine import RenderOptions
from orchestrator.local import moto_adapt
from orchestrator.local.emulator import BUCKET_NAME, LocalAws, LocalOptions
from orchestrator.window import RefreshWindow

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    with moto_adapt.scaled_waits(0.01):
        yield


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("STORE_SALES_DUCKDB", str(path))
    return path


def local(tmp_path: Path, *select: str, windows: tuple[RefreshWindow, ...] = (), **render: object) -> LocalAws:
    return LocalAws(
        LocalOptions(
            project_dir=ENGINE_PROJECT,
            parsed_dir=engine_parsed_dir(),
            render=RenderOptions(select=select, **render),  # type: ignore[arg-type]
            work_dir=tmp_path / "local",
            windows=windows,
        )
    )


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.sql(sql).fetchall()


def tables(path: Path) -> set[str]:
    return {r[0] for r in rows(path, "select table_name from information_schema.tables")}


def test_success_lambda_and_ecs_same_tables_as_dbt_build(tmp_path: Path, warehouse: Path) -> None:
    with local(tmp_path, "+dia_join", "+chain_c") as aws:
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=aws.state_machine_arn, name="ok-1", input=execution_input("2002-01-01", "2002-01-03")
        )["executionArn"]
        description = wait_for_execution(sfn, arn)
        events = history(sfn, arn)
        keys = {o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=BUCKET_NAME)["Contents"]}
        ecs_logs = list((aws.work_dir / "ecs-logs").iterdir())
    assert description["status"] == "SUCCEEDED", description.get("cause")
    output = json.loads(description["output"])
    results = output["results"]
    assert sorted(results) == ["chain_a", "chain_b", "chain_c", "dia_join", "dia_left", "dia_right", "dia_root"]
    assert {r["status"] for r in results.values()} == {"success"}
    assert {r["database_user"] for r in results.values()} == {"duckdb"}
    assert results["chain_c"]["refresh_window"] == {"start": "2002-01-01", "end": "2002-01-03"}
    assert "dbt-artifacts/ok-1/chain_c/run_results.json" in keys  # written by the ECS subprocess
    assert "dbt-artifacts/ok-1/dia_join/manifest.json" in keys  # written by the in-process Lambda
    assert [p.name.split("-")[0] for p in ecs_logs] == ["chain_c"]
    scheduled = [e["taskScheduledEventDetails"]["resourceType"] for e in events if e["type"] == "TaskScheduled"]
    assert sorted(scheduled) == ["ecs"] + ["lambda"] * 7  # six tasks, and the run log's Record run
    # this engine project has no record_pipeline_run macro: the row cannot be written, and that changes nothing
    [record_failure] = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert record_failure["error"] == "RunRecordFailed"
    assert "record_pipeline_run" in record_failure["cause"]
    assert entered_states(events)[-2:] == ["Record run", "Pipeline succeeded"]
    assert entered_states(events).index("Build dia_join") > entered_states(events).index("Build dia_left")

    reference = tmp_path / "reference.duckdb"
    run_dbt(
        ENGINE_PROJECT,
        tmp_path / "reference-target",
        "build",
        "--select",
        "+dia_join",
        "+chain_c",
        duckdb=reference,
        env={"STORE_SALES_WINDOW_START": "2002-01-01", "STORE_SALES_WINDOW_END": "2002-01-03"},
    )
    assert tables(warehouse) == tables(reference)
    for table in sorted(tables(reference)):
        query = f"select * from {table} order by all"
        assert rows(warehouse, query) == rows(reference, query), table


def test_model_failure_in_one_branch_stops_downstream_and_names_the_model(
    tmp_path: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE_FAIL_MODEL", "dia_left")
    with local(tmp_path, "+dia_join") as aws:
        queue = subscribe_queue(aws)
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=aws.state_machine_arn, name="fail-model", input=execution_input("2002-01-01")
        )["executionArn"]
        description = wait_for_execution(sfn, arn)
        assert aws.wait_for_workers()
        events = history(sfn, arn)
        [alert] = alerts(aws, queue)  # exactly one alert for the failed execution
    assert description["status"] == "FAILED"
    assert description["error"] == "DbtModelFailed"
    # the execution's cause is the runner's one line: the task, its window, the model and dbt's message
    line = description["cause"]
    assert line.startswith("task dia_left (2002-01-01): model dia_left failed: "), line
    assert "injected failure in dia_left" in line
    assert_clean_alert(alert, "fail-model", line)
    assert alert["Subject"] == "Store sales fail-model failed in task dia_left: DbtModelFailed"
    states = entered_states(events)
    assert "Build dia_right" in states and "Notify failure" in states
    assert "Build dia_join" not in states
    assert "dia_join" not in tables(warehouse)
    assert rows(warehouse, "select count(*) from dia_right") == [(10,)]  # the other branch's work is kept
    invoked = [
        e for e in events if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "lambda"
    ]
    # dia_root, dia_left, dia_right (a model failure is never retried), then Describe failure and Record failure
    assert len(invoked) == 5


def assert_clean_alert(alert: dict[str, str], execution: str, line: str) -> None:
    """The alert is the failure's one line, the execution's name and the command that resumes it: no Lambda JSON
    error, no stack trace, no file path of the runtime."""
    assert alert["Message"] == (
        f"{line} (execution {execution}; once fixed, resume it with `python -m orchestrator resume {execution}`)"
    )
    for text in (alert["Message"], alert["Subject"]):
        assert "\n" not in text
        for leak in ("errorMessage", "errorType", "stackTrace", "Traceback", 'File "', ".py"):
            assert leak not in text, text
    assert len(alert["Subject"]) <= 100


def test_an_ecs_task_failure_alerts_with_the_runner_line(
    tmp_path: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ECS task reports its error with SendTaskFailure (not Lambda's JSON error): the same one-line alert."""
    monkeypatch.setenv("ENGINE_FAIL_MODEL", "chain_c")
    with local(tmp_path, "+chain_c") as aws:
        queue = subscribe_queue(aws)
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=aws.state_machine_arn, name="fail-ecs", input=execution_input("2002-01-01")
        )["executionArn"]
        description = wait_for_execution(sfn, arn)
        [alert] = alerts(aws, queue)
    assert (description["status"], description["error"]) == ("FAILED", "DbtModelFailed")
    assert description["cause"].startswith("task chain_c (2002-01-01): model chain_c failed: ")
    assert_clean_alert(alert, "fail-ecs", description["cause"])


def test_test_failure_fails_the_task_with_the_test_named(
    tmp_path: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE_FAIL_TEST", "dia_join")
    with local(tmp_path, "+dia_join") as aws:
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=aws.state_machine_arn, name="fail-test", input=execution_input("2002-01-01")
        )["executionArn"]
        description = wait_for_execution(sfn, arn)
    assert description["status"] == "FAILED"
    assert description["error"] == "DbtTestFailed"
    assert "task dia_join" in description["cause"]
    assert "assert_dia_join_complete" in description["cause"]


def test_transient_error_is_retried_then_succeeds(
    tmp_path: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = tmp_path / "attempts"
    attempts.mkdir()
    monkeypatch.setenv("ENGINE_ATTEMPTS_DIR", str(attempts))
    with local(tmp_path, "flaky") as aws:
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=aws.state_machine_arn, name="flaky-1", input=execution_input("2002-01-01")
        )["executionArn"]
        description = wait_for_execution(sfn, arn)
        events = history(sfn, arn)
    assert description["status"] == "SUCCEEDED", description.get("cause")
    failures = [e["taskFailedEventDetails"]["error"] for e in events if e["type"] == "TaskFailed"]
    # the engine project has no record_pipeline_run macro: Record run fails, caught (see the first test)
    assert failures == ["DbtTransientError", "RunRecordFailed"]
    assert rows(warehouse, "select attempt_count from flaky") == [(2,)]


def test_nodes_limit_the_run_and_other_tasks_are_skipped(tmp_path: Path, warehouse: Path) -> None:
    with local(tmp_path, "+dia_join") as aws:
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=aws.state_machine_arn,
            name="resume-1",
            input=execution_input("2002-01-01", nodes=["dia_root", "model.engine.dia_right"]),
        )
        description = wait_for_execution(sfn, arn["executionArn"])
    assert description["status"] == "SUCCEEDED", description.get("cause")
    results = json.loads(description["output"])["results"]
    assert {k: v["status"] for k, v in results.items()} == {
        "dia_root": "success",
        "dia_left": "skipped",
        "dia_right": "success",
        "dia_join": "skipped",
    }
    assert tables(warehouse) == {"dia_root", "dia_right"}


@pytest.fixture
def dead_worker(tmp_path: Path) -> Iterator[LocalAws]:
    options = LocalOptions(
        project_dir=ENGINE_PROJECT,
        parsed_dir=engine_parsed_dir(),
        render=RenderOptions(select=("chain_c",), ecs_heartbeat_seconds=2),
        ecs_command=(sys.executable, "-c", "import os; os._exit(137)"),
        work_dir=tmp_path / "local",
    )
    with LocalAws(options) as aws:
        yield aws


def test_ecs_worker_that_dies_is_caught_by_the_heartbeat(dead_worker: LocalAws, warehouse: Path) -> None:
    sfn = dead_worker.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=dead_worker.state_machine_arn, name="dead-1", input=execution_input("2002-01-01")
    )["executionArn"]
    description = wait_for_execution(sfn, arn)
    assert description["status"] == "FAILED"
    assert description["error"] == "Task.Timeout"  # a Fail state may not raise States.*
    assert description["cause"].startswith("task chain_c failed with States.Timeout"), description["cause"]


SLOW_RUNNER = """
import time
from orchestrator.runtime import runner
real_run_task = runner.run_task
def slow_run_task(*args, **kwargs):
    time.sleep(5)  # 2.5 heartbeat periods: only the runner's beats keep the task alive
    return real_run_task(*args, **kwargs)
runner.run_task = slow_run_task
if {silent}:
    runner.Heartbeat._run = lambda self: None
raise SystemExit(runner.main())
"""


def test_a_lambda_task_at_its_deadline_stops_and_runs_again_on_ecs(tmp_path: Path, warehouse: Path) -> None:
    """Every in-process Lambda invocation is given no time at all (Lambda's context would say 0 ms left): each
    task stops before dbt with DbtTaskTimedOut, and the definition runs it on ECS, where it loads."""
    options = LocalOptions(
        project_dir=ENGINE_PROJECT,
        parsed_dir=engine_parsed_dir(),
        render=RenderOptions(select=("+chain_b",)),
        work_dir=tmp_path / "local",
        lambda_remaining_seconds=0.0,
    )
    description, events = run_one_day(options)
    assert description["status"] == "SUCCEEDED", description.get("cause")
    assert [state for state in entered_states(events) if state.startswith("Build")] == [
        "Build chain_a",
        "Build chain_a on ECS",
        "Build chain_b",
        "Build chain_b on ECS",
    ]
    stopped = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert [failure["error"] for failure in stopped[:2]] == ["DbtTaskTimedOut", "DbtTaskTimedOut"]
    assert "task chain_a (2002-01-01): the Lambda's time was up before dbt started" in stopped[0]["cause"]
    results = json.loads(description["output"])["results"]
    assert {results[task]["status"] for task in ("chain_a", "chain_b")} == {"success"}
    assert rows(warehouse, "select count(*) from chain_b") == rows(warehouse, "select count(*) from chain_a")


def run_one_day(options: LocalOptions) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One execution of 2002-01-01 in the emulator deployed with `options`: its description and its history,
    once every worker has ended."""
    with LocalAws(options) as aws:
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=aws.state_machine_arn, name="one-day-1", input=execution_input("2002-01-01")
        )["executionArn"]
        description = wait_for_execution(sfn, arn)
        assert aws.wait_for_workers()
        return description, history(sfn, arn)


def run_with_container(tmp_path: Path, render: RenderOptions, container_code: str) -> dict[str, Any]:
    """`run_one_day` with ECS tasks that run `python -c container_code`; the execution's description."""
    options = LocalOptions(
        project_dir=ENGINE_PROJECT,
        parsed_dir=engine_parsed_dir(),
        render=render,
        ecs_command=(sys.executable, "-c", container_code),
        work_dir=tmp_path / "local",
    )
    return run_one_day(options)[0]


@pytest.mark.parametrize(("silent", "status"), [(False, "SUCCEEDED"), (True, "FAILED")], ids=["beating", "silent"])
def test_a_task_longer_than_its_heartbeat_lives_only_by_its_beats(
    tmp_path: Path, warehouse: Path, silent: bool, status: str
) -> None:
    render = RenderOptions(select=("+chain_c",), ecs_heartbeat_seconds=2)  # chain_c runs on ECS
    description = run_with_container(tmp_path, render, SLOW_RUNNER.format(silent=silent))
    assert description["status"] == status, description.get("cause")
    if silent:
        assert description["error"] == "Task.Timeout"
    else:
        assert rows(warehouse, "select count(*) from chain_c") == rows(warehouse, "select count(*) from chain_b")


def test_an_ecs_task_whose_state_timed_out_stops_itself(tmp_path: Path, warehouse: Path) -> None:
    """The execution may take 3 s; the runner would start dbt after 8 s. Once the execution has timed out the next
    heartbeat is refused, so the container stops there: no ECS task outlives its execution, and nothing is
    loaded after it ended. (The same answer ends a container whose state timed out, or whose execution was
    stopped.)"""
    render = RenderOptions(select=("chain_c",), ecs_heartbeat_seconds=2, machine_timeout_seconds=3)
    runner = SLOW_RUNNER.replace("time.sleep(5)", "time.sleep(8)").format(silent=False)
    description = run_with_container(tmp_path, render, runner)
    assert description["status"] == "TIMED_OUT"
    (log,) = (tmp_path / "local" / "ecs-logs").glob("chain_c-*.log")
    lines = log.read_text().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: task chain_c: Step Functions answered its heartbeat with")
    assert not warehouse.exists()  # dbt never ran: the container stopped before its eighth second


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        ("2002-01-01", {"Build fan_root on Lambda": "lambda", "Build fan_4 on Lambda": "lambda"}),
        ("2002-01-03", {"Build fan_root on ECS": "ecs", "Build fan_4 on Lambda": "lambda"}),
    ],
    ids=["a-day-runs-on-lambda", "a-window-over-the-threshold-runs-on-ecs"],
)
def test_compute_auto_is_chosen_per_execution_from_the_window(
    tmp_path: Path, warehouse: Path, end: str, expected: dict[str, str]
) -> None:
    """fan_root is `compute: auto` with lambda_max_days 2, fan_4 auto with the default 31 days. Given the
    window, the emulator deploys ECS only when the execution can reach it."""
    window = RefreshWindow.parse("2002-01-01", end)
    with local(tmp_path, "+fan_4", windows=(window,)) as aws:
        assert aws.with_ecs == ("ecs" in expected.values())
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=aws.state_machine_arn, name="auto-1", input=execution_input("2002-01-01", end)
        )["executionArn"]
        description = wait_for_execution(sfn, arn)
        events = history(sfn, arn)
    assert description["status"] == "SUCCEEDED", description.get("cause")
    entered = entered_states(events)
    ran = [name for name in entered if name.startswith("Build ")]
    assert ran == list(expected)
    assert entered.index("Route fan_root") < entered.index(ran[0])
    scheduled = [e["taskScheduledEventDetails"]["resourceType"] for e in events if e["type"] == "TaskScheduled"]
    assert scheduled == [*expected.values(), "lambda"]  # the builds, then Record run
    results = json.loads(description["output"])["results"]
    assert {key: r["status"] for key, r in results.items()} == {"fan_root": "success", "fan_4": "success"}
    assert rows(warehouse, "select count(*) from fan_4") == [(3,)]


def test_a_failed_alert_is_in_the_history_and_the_pipeline_error_still_wins(
    tmp_path: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGINE_FAIL_MODEL", "dia_left")
    with local(tmp_path, "+dia_join") as aws:
        aws.client("sns").delete_topic(TopicArn=aws.topic_arn)  # the publish must fail
        sfn = aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=aws.state_machine_arn, name="fail-alert", input=execution_input("2002-01-01")
        )["executionArn"]
        description = wait_for_execution(sfn, arn)
        assert aws.wait_for_workers()
        events = history(sfn, arn)
    assert (description["status"], description["error"]) == ("FAILED", "DbtModelFailed")
    assert "injected failure in dia_left" in description["cause"]
    failed_publishes = [
        event["taskFailedEventDetails"]
        for event in events
        if event["type"] == "TaskFailed" and event["taskFailedEventDetails"]["resourceType"] == "sns"
    ]
    assert failed_publishes, "the failed publish is not in the history"
    assert all("NotFound" in details.get("error", "") + details.get("cause", "") for details in failed_publishes)
    [check] = [
        json.loads(event["stateEnteredEventDetails"]["input"])
        for event in events
        if event["type"] == "ChoiceStateEntered" and event["stateEnteredEventDetails"]["name"] == "Check failure"
    ]
    assert "NotFound" in json.dumps(check["notify_error"])  # the publish's error travels with the execution
