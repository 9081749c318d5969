"""One local execution, in this process, reporting the emulator's raw history events.

    python -m bench.history --start D1 [--end Dn]

Runs the same path as `python -m orchestrator run` (local session: moto's Step Functions interpreter,
the Lambda runner in-process, the ECS runner as a subprocess) against STORE_SALES_DATA_DIR /
STORE_SALES_DUCKDB, then prints one JSON document: the execution status, the count of each history
event type, and the StateEntered events in order (name and seconds spent in the state).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter

from orchestrator import config, modes
from orchestrator.errors import StoreSalesError
from orchestrator.executions import launcher
from orchestrator.protocol import ExecutionRequest
from orchestrator.runtime import step_functions
from orchestrator.window import RefreshWindow

DEADLINE_SECONDS = 3600.0


def execution_history(window: RefreshWindow) -> dict[str, object]:
    backend = modes.backend(config.load(), config.Mode.LOCAL)
    with backend.exclusive(), backend.open() as session:
        ref = step_functions.start(
            session.sfn,
            session.state_machine_arn,
            ExecutionRequest(window),
            known_names=[],
            settle_seconds=session.start_settle_seconds,
        )
        result = launcher.watch(session.sfn, ref.arn, deadline_seconds=DEADLINE_SECONDS)
        events = launcher.history_events(session.sfn, ref.arn)
    return {
        "status": result.ref.status.value,
        "event_types": dict(sorted(Counter(str(event["type"]) for event in events).items())),
        "events": len(events),
        "states_entered": [
            {"name": state.name, "type": state.kind, "seconds": state.seconds, "retries": state.retries}
            for state in result.states
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.history", description=__doc__.splitlines()[0])
    parser.add_argument("--start", required=True)
    parser.add_argument("--end")
    args = parser.parse_args(argv)
    try:
        document = execution_history(RefreshWindow.parse(args.start, args.end or args.start))
    except StoreSalesError as error:
        print(f"error: {error}", file=sys.stderr)
        return int(error.exit_code)
    print(json.dumps(document, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
