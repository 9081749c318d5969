"""The AWS Lambda entrypoint: `orchestrator.lambda_handler.handler`.

The event is the payload the state machine builds for a Lambda task (see `orchestrator.state_machine`);
the return value is the task's `TaskSummary` as a dict. A failure propagates as the runner's typed
exception: Lambda reports its class name as the error (`DbtModelFailed`, `DbtTransientError`...),
which the definition's Retry and Catch match. Configuration comes from the function's environment
(STORE_SALES_PROJECT_DIR, STORE_SALES_PARSED_DIR, STORE_SALES_TARGET, DBT_PROFILES_DIR).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrator.runner import RunnerConfig, TaskRequest, run_task


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    return run_task(TaskRequest.from_event(event), RunnerConfig.from_env()).to_dict()
