"""The AWS Lambda entrypoint: `orchestrator.runtime.lambda_handler.handler`.

The event is the payload the state machine builds for a Lambda task (see `orchestrator.definition.state_machine`):
a task to build, whose return value is the task's `TaskSummary` as a dict; `{"record_run": {...}}`, the
execution's last state, which writes its row to the warehouse's pipeline_runs (`orchestrator.runtime.run_record`);
or `{"describe_failure": {"execution", "error"}}`, which returns a failed execution's one line and its alert
(`orchestrator.runtime.failure`; no dbt, no warehouse).
A failure propagates as the runner's typed exception: Lambda reports its class name as the error
(`DbtModelFailed`, `DbtTransientError`...), which the definition's Retry and Catch match. Configuration
comes from the function's environment (STORE_SALES_PROJECT_DIR, STORE_SALES_PARSED_DIR, STORE_SALES_TARGET,
DBT_PROFILES_DIR).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from orchestrator.errors import RunnerPayloadError
from orchestrator.protocol import DESCRIBE_FAILURE_KEY, RECORD_RUN_KEY, TaskRequest
from orchestrator.runtime import failure
from orchestrator.runtime.run_record import RunRecord, now, record_run
from orchestrator.runtime.runner import LAMBDA_STOP_MARGIN_SECONDS, RunnerConfig, run_task


def handle(event: Mapping[str, Any], config: RunnerConfig, remaining_seconds: float | None = None) -> dict[str, Any]:
    """Build a task, or record the execution's run.

    A task stops `LAMBDA_STOP_MARGIN_SECONDS` before the first of two limits: the invocation's remaining time
    (`remaining_seconds`) and its state's TimeoutSeconds (the payload's `time_limit_seconds`); see `run_task`.
    `remaining_seconds` None: the invocation has no time limit (the local emulator's in-process Lambda)."""
    if RECORD_RUN_KEY in event:
        return record_run(RunRecord.from_event(event[RECORD_RUN_KEY], now()), config)
    if DESCRIBE_FAILURE_KEY in event:
        return _describe_failure(event[DESCRIBE_FAILURE_KEY])
    request = TaskRequest.from_event(event)
    deadline = None
    if remaining_seconds is not None:
        limit = min(remaining_seconds, request.time_limit_seconds or remaining_seconds)
        deadline = time.monotonic() + limit - LAMBDA_STOP_MARGIN_SECONDS
    return run_task(request, config, deadline=deadline).to_dict()


def _describe_failure(payload: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return failure.describe(str(payload["execution"]), payload["error"]).to_dict()
    except (KeyError, TypeError, AttributeError) as error:
        raise RunnerPayloadError(
            f"describe_failure payload is missing or has a malformed {error}: expected execution and "
            "error{Error,Cause} (see orchestrator.definition.state_machine)"
        ) from None


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    return handle(event, RunnerConfig.from_env(), context.get_remaining_time_in_millis() / 1000)
