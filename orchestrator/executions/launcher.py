"""Watch executions of the pipeline's state machine to the end, and read what they did from their history.

The same code drives AWS Step Functions and the local emulator: it only needs a Step Functions
client and an execution's ARN. Starting an execution (names, the overlap guard) is
`orchestrator.runtime.step_functions`, shared with the trigger function.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from orchestrator.errors import WatchDeadlineExceeded
from orchestrator.protocol import ExecutionRequest
from orchestrator.runtime.step_functions import ExecutionRef, ExecutionStatus, call, describe

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

# events asked for per poll of a running execution: a poll usually finds a few new ones, and pages back when more
HISTORY_PAGE_SIZE = 25


class StateStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"  # the execution was stopped while the state ran, and its work never completed


@dataclass
class StateRun:
    """One visit of one state, from its StateEntered to its StateExited event. `alert` is the message a state
    publishes to the alert topic (an `sns:publish` task), sent when the state SUCCEEDED."""

    name: str
    kind: str
    entered: datetime
    exited: datetime | None = None
    status: StateStatus = StateStatus.RUNNING
    output: Any = None
    error: str | None = None
    cause: str | None = None
    retries: int = 0
    alert: str | None = None

    @property
    def seconds(self) -> float | None:
        return (self.exited - self.entered).total_seconds() if self.exited else None

    @property
    def alert_sent(self) -> str | None:
        """The alert this state published, once it has (None while it runs, when it failed or publishes none)."""
        return self.alert if self.status is StateStatus.SUCCEEDED else None


@dataclass
class ExecutionResult:
    ref: ExecutionRef
    request: ExecutionRequest | None
    states: list[StateRun] = field(default_factory=list)
    error: str | None = None
    cause: str | None = None
    output: Any = None

    def alerts(self) -> list[str]:
        """Every alert the execution published, in order (on AWS and locally, from its history; for a finished
        local execution, from its journal record)."""
        return [alert for alert in (state.alert_sent for state in self.states) if alert is not None]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the execution (what `--json` prints and the local journal keeps)."""
        return {
            "execution_arn": self.ref.arn,
            "name": self.ref.name,
            "status": self.ref.status.value,
            "started": self.ref.started.isoformat(),
            "stopped": self.ref.stopped.isoformat() if self.ref.stopped else None,
            "input": json.loads(self.request.to_input()) if self.request else None,
            "error": self.error,
            "cause": self.cause,
            "output": self.output,
            "states": [
                {
                    "name": state.name,
                    "type": state.kind,
                    "entered": state.entered.isoformat(),
                    "exited": state.exited.isoformat() if state.exited else None,
                    "seconds": state.seconds,
                    "status": state.status.value,
                    "retries": state.retries,
                    "error": state.error,
                    "cause": state.cause,
                    "output": state.output,
                    "alert": state.alert,
                }
                for state in self.states
            ],
        }

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> ExecutionResult:
        def moment(text: str | None) -> datetime | None:
            return datetime.fromisoformat(text) if text else None

        return cls(
            ref=ExecutionRef(
                arn=record["execution_arn"],
                name=record["name"],
                status=ExecutionStatus(record["status"]),
                started=datetime.fromisoformat(record["started"]),
                stopped=moment(record.get("stopped")),
            ),
            request=ExecutionRequest.from_input(json.dumps(record["input"])) if record.get("input") else None,
            states=[
                StateRun(
                    name=state["name"],
                    kind=state["type"],
                    entered=datetime.fromisoformat(state["entered"]),
                    exited=moment(state.get("exited")),
                    status=StateStatus(state["status"]),
                    output=state.get("output"),
                    error=state.get("error"),
                    cause=state.get("cause"),
                    retries=int(state.get("retries") or 0),
                    alert=state.get("alert"),
                )
                for state in record.get("states", [])
            ],
            error=record.get("error"),
            cause=record.get("cause"),
            output=record.get("output"),
        )


def _loads(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


# Events of a Parallel or Map state itself (started, succeeded, failed, aborted) name no state: they belong
# to the innermost one of that type still open, whatever their previousEventId points at (moto points a
# ParallelStateFailed at the Fail state of the branch that failed).
_SCOPE_EVENT_PREFIXES = {"ParallelState": "Parallel", "MapState": "Map"}
# the history events that end an execution: after one, describing the execution gives its final status
_EXECUTION_CLOSED_EVENTS = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})


class HistoryReader:
    """Turns Step Functions history events into StateRuns, incrementally (events are seen once).

    What each state's row says:
    - a Task state whose task completed (its `TaskSucceeded` event) is SUCCEEDED with the task's result as its
      output, even when the execution was stopped before the state could exit: locally the running task
      finishes before a stopped execution ends, and its rows are in the warehouse;
    - a Parallel (or Map) state is FAILED when one of its branches failed (a Fail state entered in it, or its
      own failed event), even though its Catch lets it exit normally; its error is the errors of the states
      that failed inside it;
    - a state still open when the execution was aborted is ABORTED; when it failed, FAILED.
    """

    def __init__(self) -> None:
        self.states: list[StateRun] = []
        self._last_id = 0
        self._state_of_event: dict[int, StateRun] = {}
        self._open_by_name: dict[str, StateRun] = {}
        self._open_scopes: list[StateRun] = []  # the Parallel and Map states open, innermost last
        self._scope_of: dict[int, StateRun] = {}  # id(state) -> the Parallel or Map state it runs in
        self._task_completed: set[int] = set()  # id(state) of the Task states whose task succeeded
        self._failed_branches: set[int] = set()  # id(state) of the Parallel or Map states a branch of which failed
        self.execution_closed = False  # an event that ends the execution (succeeded, failed, aborted...) was fed

    @property
    def last_event_id(self) -> int:
        """The newest event fed so far (0 before any): the next poll asks only for the events after it."""
        return self._last_id

    def feed(self, events: Sequence[dict[str, Any]]) -> list[StateRun]:
        """Process new events; return the states that were entered or finished by them."""
        changed: list[StateRun] = []
        for event in sorted(events, key=lambda item: int(item["id"])):
            event_id = int(event["id"])
            if event_id <= self._last_id:
                continue
            self._last_id = event_id
            if event["type"] in _EXECUTION_CLOSED_EVENTS:
                self.execution_closed = True
            elif event["type"] == "ExecutionRedriven":  # a redrive opens the execution again
                self.execution_closed = False
            changed.extend(self._apply(event))
        return changed

    def close(self, stopped: datetime | None, status: ExecutionStatus) -> list[StateRun]:
        """The execution ended with `status`: decide the states still open (see the class docstring)."""
        closed = list(self._open_by_name.values())
        for state in closed:
            if state.status is StateStatus.RUNNING:
                state.status = self._unfinished_status(state, status)
            if state.status is StateStatus.FAILED and state.error is None:
                state.error = self._errors_inside(state)
            state.exited = state.exited or stopped
        self._open_by_name.clear()
        self._open_scopes.clear()
        return closed

    def _unfinished_status(self, state: StateRun, execution: ExecutionStatus) -> StateStatus:
        if id(state) in self._task_completed:
            return StateStatus.SUCCEEDED
        if id(state) in self._failed_branches or execution is not ExecutionStatus.ABORTED:
            return StateStatus.FAILED
        return StateStatus.ABORTED

    def _owner(self, event: dict[str, Any]) -> StateRun | None:
        """The state an event belongs to, following previousEventId back to a StateEntered."""
        return self._state_of_event.get(int(event.get("previousEventId") or 0))

    def _scope_owner(self, kind: str) -> StateRun | None:
        """The Parallel or Map state an event of its own (`ParallelStateFailed`...) belongs to."""
        prefix = next((prefix for prefix in _SCOPE_EVENT_PREFIXES if kind.startswith(prefix)), None)
        if prefix is None or kind.endswith(("StateEntered", "StateExited")):
            return None
        return next(
            (scope for scope in reversed(self._open_scopes) if scope.kind == _SCOPE_EVENT_PREFIXES[prefix]), None
        )

    def _inside(self, state: StateRun, scope: StateRun) -> bool:
        enclosing = self._scope_of.get(id(state))
        while enclosing is not None:
            if enclosing is scope:
                return True
            enclosing = self._scope_of.get(id(enclosing))
        return False

    def _errors_inside(self, scope: StateRun) -> str | None:
        """The errors of the states that failed inside a Parallel or Map state, each once, in order."""
        errors = [
            state.error
            for state in self.states
            if state.status is StateStatus.FAILED and state.error and self._inside(state, scope)
        ]
        return ", ".join(dict.fromkeys(error for error in errors if error)) or None

    def _enter(self, kind: str, event: dict[str, Any]) -> StateRun:
        details = event["stateEnteredEventDetails"]
        state = StateRun(name=details["name"], kind=kind.removesuffix("StateEntered"), entered=event["timestamp"])
        self.states.append(state)
        self._state_of_event[int(event["id"])] = state
        if self._open_scopes:
            self._scope_of[id(state)] = self._open_scopes[-1]
        if state.kind == "Fail":
            # a Fail state fails as it is entered, and with it the branch (so the Parallel) it is in
            state.status, state.exited = StateStatus.FAILED, state.entered
            if self._open_scopes:
                self._failed_branches.add(id(self._open_scopes[-1]))
            return state
        self._open_by_name[state.name] = state
        if state.kind in _SCOPE_EVENT_PREFIXES.values():
            self._open_scopes.append(state)
        return state

    def _exit(self, event: dict[str, Any]) -> list[StateRun]:
        details = event["stateExitedEventDetails"]
        state = self._open_by_name.pop(details["name"], None)
        if state is None:
            return []
        self._open_scopes = [scope for scope in self._open_scopes if scope is not state]
        state.exited = event["timestamp"]
        state.output = _loads(details.get("output"))
        if state.status is StateStatus.RUNNING and id(state) in self._failed_branches:
            state.status, state.error = StateStatus.FAILED, self._errors_inside(state)
        elif state.status is StateStatus.RUNNING:
            state.status = StateStatus.SUCCEEDED
        return [state]

    def _apply(self, event: dict[str, Any]) -> list[StateRun]:
        kind: str = event["type"]
        event_id = int(event["id"])
        if kind.endswith("StateEntered"):
            return [self._enter(kind, event)]
        if kind.endswith("StateExited"):
            return self._exit(event)
        owner = self._scope_owner(kind) or self._owner(event)
        if owner is not None:
            self._state_of_event[event_id] = owner
        if owner is None or kind.startswith("Execution"):
            return []
        if kind == "TaskScheduled":
            owner.alert = _published_message(event.get("taskScheduledEventDetails") or {})
        if kind.endswith("Scheduled") and owner.status is StateStatus.FAILED:
            owner.retries += 1
            owner.status, owner.exited, owner.error, owner.cause = StateStatus.RUNNING, None, None, None
            return [owner]
        details: dict[str, Any] = next((value for key, value in event.items() if key.endswith("EventDetails")), {})
        if kind.endswith("Succeeded") and owner.kind == "Task":
            self._task_completed.add(id(owner))
            owner.output = _loads(details.get("output"))
            return []
        if kind.endswith("Aborted"):
            owner.status = StateStatus.ABORTED
            owner.exited = owner.exited or event["timestamp"]
            return [owner]
        if kind.endswith("Failed") or kind.endswith("TimedOut"):
            if owner.kind in _SCOPE_EVENT_PREFIXES.values():
                self._failed_branches.add(id(owner))
            owner.status = StateStatus.FAILED
            owner.error = details.get("error") or self._errors_inside(owner) or kind
            owner.cause = details.get("cause")
            owner.exited = owner.exited or event["timestamp"]
            return [owner]
        return []


def _published_message(details: dict[str, Any]) -> str | None:
    """The Message of an `sns:publish` task from its TaskScheduled details; None for any other task."""
    if details.get("resourceType") != "sns" or not str(details.get("resource", "")).startswith("publish"):
        return None
    parameters = _loads(details.get("parameters"))
    return str(parameters["Message"]) if isinstance(parameters, dict) and "Message" in parameters else None


def history_events(sfn: SFNClient, execution_arn: str, after_id: int = 0) -> list[dict[str, Any]]:
    """The history events of an execution with an id above `after_id` (all of them by default), oldest first.

    Read newest first, page by page, back to `after_id`: a poll of a long execution asks for the events it
    has not seen, so its cost does not grow with the history (Step Functions numbers events 1, 2, ...).
    """
    events: list[dict[str, Any]] = []
    page_size = HISTORY_PAGE_SIZE if after_id else 1000
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": page_size, "reverseOrder": True}
    while True:
        page = call(sfn.get_execution_history, **kwargs)
        fresh = [event for event in page["events"] if int(event["id"]) > after_id]
        events.extend(fresh)
        token = page.get("nextToken")
        if not token or len(fresh) < len(page["events"]):
            return sorted(events, key=lambda event: int(event["id"]))
        kwargs["nextToken"] = token


ProgressCallback = Callable[[StateRun], None]


def snapshot(sfn: SFNClient, execution_arn: str) -> ExecutionResult:
    """An execution as it is now, running or not (its states so far), without waiting."""
    description = describe(sfn, execution_arn)
    reader = HistoryReader()
    reader.feed(history_events(sfn, execution_arn))
    status = ExecutionStatus(description["status"])
    if status is not ExecutionStatus.RUNNING:
        reader.close(description.get("stopDate"), status)
    return _result(execution_arn, description, reader)


def _result(execution_arn: str, description: dict[str, Any], reader: HistoryReader) -> ExecutionResult:
    return ExecutionResult(
        ref=ExecutionRef(
            arn=execution_arn,
            name=description["name"],
            status=ExecutionStatus(description["status"]),
            started=description["startDate"],
            stopped=description.get("stopDate"),
        ),
        request=ExecutionRequest.from_input(description.get("input")),
        states=reader.states,
        error=description.get("error"),
        cause=description.get("cause"),
        output=_loads(description.get("output")),
    )


def watch(
    sfn: SFNClient,
    execution_arn: str,
    *,
    deadline_seconds: float,
    on_progress: ProgressCallback | None = None,
    first_poll_seconds: float = 0.2,
    max_poll_seconds: float = 5.0,
    watch_options: str = "",
) -> ExecutionResult:
    """Follow an execution until it stops or the deadline passes (then WatchDeadlineExceeded, whose line names the
    `watch` command that finds it again, with `watch_options`: the caller's mode and configuration file).

    Polls the history with exponential backoff, reset whenever something happened; describes the execution only
    once its history holds the event that ends it (or the deadline has come), so a poll is one call, not two.
    """
    reader = HistoryReader()
    deadline = time.monotonic() + deadline_seconds
    delay = first_poll_seconds
    while True:
        changed = reader.feed(history_events(sfn, execution_arn, after_id=reader.last_event_id))
        out_of_time = time.monotonic() >= deadline
        description: dict[str, Any] | None = None
        status = ExecutionStatus.RUNNING
        if reader.execution_closed or out_of_time:
            description = describe(sfn, execution_arn)
            status = ExecutionStatus(description["status"])
            if status is not ExecutionStatus.RUNNING:
                changed += reader.close(description.get("stopDate"), status)
        if on_progress is not None:
            for state in changed:
                on_progress(state)
        if description is not None and status is not ExecutionStatus.RUNNING:
            return _result(execution_arn, description, reader)
        if description is not None and out_of_time:
            raise WatchDeadlineExceeded(
                f"execution {description['name']} is still RUNNING after {deadline_seconds:.0f} s of watching; "
                f"it goes on: watch it again with `python -m orchestrator watch {description['name']}{watch_options}`"
            )
        delay = first_poll_seconds if changed else min(delay * 1.6, max_poll_seconds)
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
