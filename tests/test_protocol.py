"""The contract between definition, launcher and runner is one module, and the runtime stands alone.

The Lambda image ships the runner: importing its handler or the ECS entry module must load nothing of the
definition generator, the local emulator or the CLI (each would drag dbt's graph code, moto or argparse
into every cold start, and couple the runtime to code it never runs).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date

from orchestrator.protocol import INPUT_KEYS, SUMMARY_KEYS, TASK_SUMMARY_MARKERS, ExecutionRequest, TaskSummary
from orchestrator.window import RefreshWindow

RUNTIME_MODULES = {
    "orchestrator",
    "orchestrator.contract",
    "orchestrator.errors",
    "orchestrator.lambda_handler",
    "orchestrator.landing_gate",
    "orchestrator.protocol",
    "orchestrator.run_record",
    "orchestrator.runner",
    "orchestrator.settings",
    "orchestrator.thread_locks",
    "orchestrator.window",
}


def test_the_lambda_handler_and_the_ecs_entry_load_only_the_runtime() -> None:
    code = (
        "import json, sys\n"
        "import orchestrator.lambda_handler, orchestrator.runner\n"
        "print(json.dumps(sorted(name for name in sys.modules if name.split('.')[0] == 'orchestrator')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert set(json.loads(loaded)) == RUNTIME_MODULES


def test_the_definition_selects_every_summary_field_and_starts_from_every_input_key() -> None:
    assert set(SUMMARY_KEYS) == {f.name for f in dataclasses.fields(TaskSummary)}
    assert set(SUMMARY_KEYS) >= TASK_SUMMARY_MARKERS
    request = ExecutionRequest(RefreshWindow(date(2002, 12, 30), date(2002, 12, 31)), nodes=("fct_store_sales",))
    assert set(json.loads(request.to_input())) == set(INPUT_KEYS)
    assert ExecutionRequest.from_input(request.to_input()) == request
