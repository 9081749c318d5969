"""The launcher against Step Functions as moto runs it: names, the concurrency guard, watching, history."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto import mock_aws

from orchestrator.errors import ExecutionConflict, ExecutionNotFound, WatchDeadlineExceeded
from orchestrator.executions import launcher
from orchestrator.executions.launcher import StateStatus
from orchestrator.local import moto_adapt
from orchestrator.protocol import INPUT_KEYS, ExecutionRequest
from orchestrator.runtime import step_functions
from orchestrator.runtime.step_functions import ExecutionStatus
from orchestrator.window import RefreshWindow

ROLE = "arn:aws:iam::123456789012:role/states"
DAY = RefreshWindow.day(date(2002, 12, 31))


def _wait(seconds: float, then: str = "Done") -> dict[str, Any]:
    return {"Type": "Wait", "Seconds": seconds, "Next": then}


@pytest.fixture
def sfn() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name="us-east-1")


def start(sfn: Any, arn: str, request: ExecutionRequest) -> step_functions.ExecutionRef:
    """A launch where no other launcher can start at the same instant (the guard's pause is not needed)."""
    return step_functions.start(sfn, arn, request, settle_seconds=0)


def _machine(sfn: Any, states: dict[str, Any], start_at: str) -> str:
    definition = {"StartAt": start_at, "States": states}
    arn: str = sfn.create_state_machine(name="pipeline", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn


def test_execution_names_are_valid_readable_and_parse_back() -> None:
    window = RefreshWindow(date(2002, 12, 1), date(2002, 12, 31))
    name = step_functions.execution_name(window, 12)
    assert name == "store-sales-2002-12-01-to-2002-12-31-r12"
    assert step_functions.window_of_name(name) == (window, 12)
    assert step_functions.execution_name(DAY, 1) == "store-sales-2002-12-31-r1"
    assert step_functions.window_of_name("someone-elses-run") is None


def test_request_round_trips_through_the_execution_input() -> None:
    request = ExecutionRequest(
        DAY, full_refresh=True, nodes=("fct_store_sales",), full_tests=True, allow_missing=("item",)
    )
    assert ExecutionRequest.from_input(request.to_input()) == request
    assert ExecutionRequest.from_input('{"not": "ours"}') is None
    # an input recorded before full_tests existed (the local journal keeps old ones) reads as false
    assert ExecutionRequest.from_input('{"refresh_window": {"start": "2002-12-31", "end": "2002-12-31"}}') == (
        ExecutionRequest(DAY)
    )


def test_the_started_input_carries_window_days_and_full_tests(sfn: Any) -> None:
    arn = _machine(sfn, {"Build": {"Type": "Pass", "End": True}}, "Build")
    month = RefreshWindow(date(2002, 12, 1), date(2002, 12, 31))
    monthly = start(sfn, arn, ExecutionRequest(month, full_tests=True))
    daily = start(sfn, arn, ExecutionRequest(RefreshWindow.day(date(2003, 1, 1))))
    inputs = [json.loads(sfn.describe_execution(executionArn=ref.arn)["input"]) for ref in (monthly, daily)]
    assert inputs == [
        {
            "refresh_window": {"start": "2002-12-01", "end": "2002-12-31"},
            "window_days": 31,
            "full_refresh": False,
            "full_tests": True,
            "nodes": None,
            "allow_missing": [],
            "completes_window": True,
            "allow_gap": False,
        },
        {
            "refresh_window": {"start": "2003-01-01", "end": "2003-01-01"},
            "window_days": 1,
            "full_refresh": False,
            "full_tests": False,
            "nodes": None,
            "allow_missing": [],
            "completes_window": True,
            "allow_gap": False,
        },
    ]
    assert all(set(document) == set(INPUT_KEYS) for document in inputs)  # what Initialize passes on


def test_attempt_numbers_grow_per_window_and_results_are_watched(sfn: Any) -> None:
    arn = _machine(sfn, {"Build": {"Type": "Pass", "Result": {"rows": 3}, "End": True}}, "Build")
    first = start(sfn, arn, ExecutionRequest(DAY))
    result = launcher.watch(sfn, first.arn, deadline_seconds=30)
    second = start(sfn, arn, ExecutionRequest(DAY))
    other_day = start(sfn, arn, ExecutionRequest(RefreshWindow.day(date(2003, 1, 1))))

    assert (first.name, second.name, other_day.name) == (
        "store-sales-2002-12-31-r1",
        "store-sales-2002-12-31-r2",
        "store-sales-2003-01-01-r1",
    )
    assert result.ref.status is ExecutionStatus.SUCCEEDED
    assert [(state.name, state.status) for state in result.states] == [("Build", StateStatus.SUCCEEDED)]
    assert result.output == {"rows": 3}
    assert result.request == ExecutionRequest(DAY)


def test_overlapping_running_window_is_refused_with_its_name(sfn: Any) -> None:
    arn = _machine(sfn, {"Hold": _wait(5), "Done": {"Type": "Succeed"}}, "Hold")
    month = RefreshWindow(date(2002, 12, 1), date(2002, 12, 31))
    running = start(sfn, arn, ExecutionRequest(month))

    with pytest.raises(ExecutionConflict, match=running.name):
        start(sfn, arn, ExecutionRequest(DAY))
    elsewhere = start(sfn, arn, ExecutionRequest(RefreshWindow.day(date(2003, 1, 2))))
    assert elsewhere.name == "store-sales-2003-01-02-r1"


def test_two_launches_of_the_same_window_at_once_run_one_execution(sfn: Any) -> None:
    arn = _machine(sfn, {"Hold": _wait(2), "Done": {"Type": "Succeed"}}, "Hold")
    barrier = threading.Barrier(2)
    started: list[step_functions.ExecutionRef] = []
    refused: list[Exception] = []

    def launch() -> None:
        barrier.wait()
        try:
            started.append(start(sfn, arn, ExecutionRequest(DAY)))
        except ExecutionConflict as error:
            refused.append(error)

    threads = [threading.Thread(target=launch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    executions = list(step_functions.list_executions(sfn, arn))
    assert len(executions) == 1
    assert {ref.arn for ref in started} == {executions[0].arn}
    assert len(started) + len(refused) == 2


def test_failure_names_the_failed_state_and_cause(sfn: Any) -> None:
    states = {
        "Dims": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Build dim_item", "States": {"Build dim_item": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "Build dim_customer_address",
                    "States": {
                        "Build dim_customer_address": {
                            "Type": "Fail",
                            "Error": "Dbt.ModelFailed",
                            "Cause": "dim_customer_address: division by zero",
                        }
                    },
                },
            ],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    }
    arn = _machine(sfn, states, "Dims")
    result = launcher.watch(sfn, start(sfn, arn, ExecutionRequest(DAY)).arn, deadline_seconds=30)

    assert result.ref.status is ExecutionStatus.FAILED
    assert result.error == "Dbt.ModelFailed"
    assert result.cause is not None
    assert "dim_customer_address" in result.cause
    by_name = {state.name: state for state in result.states}
    assert by_name["Build dim_customer_address"].status is StateStatus.FAILED
    assert by_name["Dims"].status is StateStatus.FAILED
    assert "Done" not in by_name


def test_a_parallel_whose_branch_failed_is_failed_even_when_its_catch_goes_on(sfn: Any) -> None:
    """The generated definition's stages: a failed task's branch ends in a Fail state, and the Parallel's Catch
    goes on to the alert, so the Parallel state exits as if it had succeeded."""
    states = {
        "Stage 1": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Build item", "States": {"Build item": {"Type": "Pass", "End": True}}},
                {
                    "StartAt": "Stop branch customer_address",
                    "States": {"Stop branch customer_address": {"Type": "Fail", "Error": "LandingIncomplete"}},
                },
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Notify failure"}],
            "Next": "Done",
        },
        "Notify failure": {"Type": "Pass", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    }
    arn = _machine(sfn, states, "Stage 1")
    seen: list[str] = []
    result = launcher.watch(
        sfn,
        start(sfn, arn, ExecutionRequest(DAY)).arn,
        deadline_seconds=30,
        on_progress=lambda state: seen.append(f"{state.name}:{state.status}"),
    )

    assert result.ref.status is ExecutionStatus.SUCCEEDED
    by_name = {state.name: state for state in result.states}
    assert by_name["Stage 1"].status is StateStatus.FAILED
    assert by_name["Stop branch customer_address"].status is StateStatus.FAILED
    assert by_name["Notify failure"].status is StateStatus.SUCCEEDED
    assert "Stage 1:SUCCEEDED" not in seen and "Stage 1:FAILED" in seen  # the live lines too


def test_a_retried_task_that_keeps_failing_is_caught_and_reported(sfn: Any) -> None:
    states = {
        "Notify": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage",
            "Parameters": {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/missing", "MessageBody": "x"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
            "End": True,
        },
        "Failed": {"Type": "Fail", "Error": "Notify.Failed", "Cause": "the queue is missing"},
    }
    arn = _machine(sfn, states, "Notify")
    seen: list[str] = []
    result = launcher.watch(
        sfn,
        start(sfn, arn, ExecutionRequest(DAY)).arn,
        deadline_seconds=30,
        on_progress=lambda state: seen.append(f"{state.name}:{state.status}"),
    )

    notify = next(state for state in result.states if state.name == "Notify")
    assert notify.status is StateStatus.FAILED
    assert notify.retries == 1
    assert notify.error is not None
    assert result.error == "Notify.Failed"
    assert {"Notify:FAILED", "Failed:FAILED"} <= set(seen)


def test_watch_deadline_leaves_the_execution_running(sfn: Any) -> None:
    arn = _machine(sfn, {"Hold": _wait(3), "Done": {"Type": "Succeed"}}, "Hold")
    ref = start(sfn, arn, ExecutionRequest(DAY))
    with pytest.raises(WatchDeadlineExceeded, match=ref.name):
        launcher.watch(sfn, ref.arn, deadline_seconds=0.3)
    assert step_functions.describe(sfn, ref.arn)["status"] == "RUNNING"


def test_a_poll_asks_only_for_the_events_it_has_not_seen(sfn: Any) -> None:
    """An execution of 1,000+ events: a poll reads newest first back to the last event seen, so its cost does not
    grow with the history (moto paged as Step Functions pages, the emulator's adaptation)."""
    moto_adapt.page_execution_history()
    steps = [f"Step {index:03d}" for index in range(500)]
    states = {
        name: {"Type": "Pass", "Next": following} for name, following in zip(steps, [*steps[1:], "Done"], strict=True)
    }
    arn = _machine(sfn, {**states, "Done": {"Type": "Succeed"}}, steps[0])
    result = launcher.watch(sfn, start(sfn, arn, ExecutionRequest(DAY)).arn, deadline_seconds=60)
    assert result.ref.status is ExecutionStatus.SUCCEEDED
    asked: list[dict[str, Any]] = []
    sfn.meta.events.register("provide-client-params.sfn.GetExecutionHistory", lambda params, **_: asked.append(params))

    everything = launcher.history_events(sfn, result.ref.arn)
    last = int(everything[-1]["id"])
    assert len(everything) >= 1000 and [int(event["id"]) for event in everything] == list(range(1, last + 1))
    assert len(asked) == 2 and asked[1]["nextToken"]  # two pages of 1,000, followed
    newest = launcher.history_events(sfn, result.ref.arn, after_id=last - 3)
    assert newest == everything[-3:]  # oldest first, only what is new
    assert asked[-1] == {
        "executionArn": result.ref.arn,
        "maxResults": launcher.HISTORY_PAGE_SIZE,
        "reverseOrder": True,
    }

    reader = launcher.HistoryReader()
    reader.feed(everything[:-3])
    changed = reader.feed(launcher.history_events(sfn, result.ref.arn, after_id=reader.last_event_id))
    assert {state.name for state in changed} == {"Done"} and reader.last_event_id == last  # entered, then exited
    assert [state.name for state in reader.states] == [state.name for state in result.states] == [*steps, "Done"]


def test_unknown_execution_is_a_usage_error(sfn: Any) -> None:
    arn = _machine(sfn, {"Done": {"Type": "Succeed"}}, "Done")
    with pytest.raises(ExecutionNotFound, match="history"):
        step_functions.resolve_execution(sfn, arn, "store-sales-1999-01-01-r1")
    with pytest.raises(ExecutionNotFound):
        step_functions.describe(sfn, arn.replace(":stateMachine:", ":execution:") + ":nope")


def test_listing_follows_pagination(sfn: Any) -> None:
    arn = _machine(sfn, {"Done": {"Type": "Succeed"}}, "Done")
    for offset in range(105):
        sfn.start_execution(stateMachineArn=arn, name=f"run-{offset}", input="{}")
    assert len(list(step_functions.list_executions(sfn, arn))) == 105


def test_throttled_calls_are_retried_with_backoff(sfn: Any) -> None:
    arn = _machine(sfn, {"Done": {"Type": "Succeed"}}, "Done")
    sfn.start_execution(stateMachineArn=arn, name="before", input="{}")
    throttled = {"left": 3}

    def throttle(request: Any, **_: Any) -> AWSResponse | None:
        if throttled["left"] == 0:
            return None
        throttled["left"] -= 1
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        return AWSResponse(request.url, 400, {"x-amzn-ErrorType": "ThrottlingException"}, _Raw(body))

    no_sdk_retries = boto3.client("stepfunctions", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    no_sdk_retries.meta.events.register_first("before-send.sfn.ListExecutions", throttle)
    assert [ref.name for ref in step_functions.list_executions(no_sdk_retries, arn)] == ["before"]
    assert throttled["left"] == 0


class _Raw:
    """The raw body botocore reads from an HTTP response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body
