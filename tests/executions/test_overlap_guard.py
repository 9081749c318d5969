"""The overlap guard under real concurrency: launches of different overlapping windows made at the same instant,
each from its own thread and client, against moto's server (HTTP, as the CLI and the triggers reach AWS).

moto's interpreter runs a definition that is the deployed one's `Admission` state alone: every started execution
stays RUNNING while it waits there, until its launcher stops it.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from moto.core.config import default_user_config

from orchestrator.errors import ExecutionConflict, ExitCode
from orchestrator.local import moto_adapt
from orchestrator.protocol import ADMISSION_SECONDS, ExecutionRequest
from orchestrator.runtime import step_functions
from orchestrator.runtime.step_functions import ExecutionStatus
from orchestrator.window import RefreshWindow

ROUNDS = 20
LAUNCHES = 10
# around the round's day D: D itself, windows ending, starting or centred on D, up to a month: all hold D
SPANS = [(0, 0), (1, 0), (0, 1), (1, 1), (6, 0), (0, 6), (3, 3), (13, 0), (0, 13), (15, 15)]
SETTLE_SECONDS = 0.2  # the server lists every start at once; the deployed launcher waits START_SETTLE_SECONDS
LISTING_SECONDS = 5.0  # how long a stopped execution may still be listed RUNNING (moto ends it on its own thread)


def client(endpoint: str) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def launch_at_once(endpoint: str, arn: str, windows: list[RefreshWindow]) -> tuple[list[Any], list[ExecutionConflict]]:
    """One thread and one client per window, released together."""
    clients = [client(endpoint) for _ in windows]
    barrier = threading.Barrier(len(windows))
    started: list[step_functions.ExecutionRef] = []
    refused: list[ExecutionConflict] = []

    def launch(sfn: Any, window: RefreshWindow) -> None:
        barrier.wait()
        try:
            started.append(step_functions.start(sfn, arn, ExecutionRequest(window), settle_seconds=SETTLE_SECONDS))
        except ExecutionConflict as error:
            refused.append(error)

    threads = [threading.Thread(target=launch, args=pair) for pair in zip(clients, windows, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return started, refused


def running_names(sfn: Any, arn: str, expected: list[str]) -> list[str]:
    """The RUNNING executions' names, once they are `expected` or after LISTING_SECONDS: a stopped execution is
    listed ABORTED a moment after StopExecution returns (ListExecutions is eventually consistent on AWS too)."""
    give_up = time.monotonic() + LISTING_SECONDS
    while True:
        names = [ref.name for ref in step_functions.list_executions(sfn, arn, ExecutionStatus.RUNNING)]
        if names == expected or time.monotonic() > give_up:
            return names
        time.sleep(0.05)


def test_of_ten_overlapping_launches_at_the_same_instant_exactly_one_runs(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = moto_server
    # the server runs in this process: the interpreter for this test only (moto's configuration is per process)
    monkeypatch.setitem(default_user_config, "stepfunctions", {"execute_state_machine": True})
    moto_adapt.stop_before_the_first_state()
    sfn = client(endpoint)
    admission = {"Type": "Wait", "Seconds": ADMISSION_SECONDS, "End": True}
    definition = {"StartAt": "Admission", "States": {"Admission": admission}}
    arn = sfn.create_state_machine(
        name="pipeline", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/states"
    )["stateMachineArn"]
    stopped_before_running = 0
    for round_index in range(ROUNDS):
        day = date(2002, 1, 1) + timedelta(days=40 * round_index)
        windows = [RefreshWindow(day - timedelta(days=before), day + timedelta(days=after)) for before, after in SPANS]

        started, refused = launch_at_once(endpoint, arn, windows)

        assert len(started) == 1, f"round {round_index}: {[ref.name for ref in started]} all run"
        winner = started[0]
        assert len(refused) == LAUNCHES - 1
        for error in refused:
            assert error.exit_code is ExitCode.USAGE  # the CLI exits 2
            assert f"execution {winner.name} is already RUNNING" in str(error)
        assert running_names(sfn, arn, [winner.name]) == [winner.name]
        for ref in step_functions.list_executions(sfn, arn):
            if ref.window is not None and ref.window.overlaps(RefreshWindow.day(day)) and ref.arn != winner.arn:
                assert ref.status is ExecutionStatus.ABORTED  # started, then stopped by its own launcher
                stopped_before_running += 1
        sfn.stop_execution(executionArn=winner.arn)  # the round is over: the next one starts from nothing running
    # the guard after the start was needed: some launches passed the check before it (a race the old guard lost)
    assert stopped_before_running > 0
