"""The pipeline's executions on Step Functions: their names, the start with the overlap guard, listing and
describing them. The CLI (which then watches with `orchestrator.executions.launcher`) and the trigger function
deployed in the image (`orchestrator.runtime.trigger`) start executions through this one module.

Execution names are readable and deterministic per refresh window: `store-sales-<start>[-to-<end>]-r<N>`
where N is one more than the highest attempt already recorded for that window. Two launches of the
same window at the same moment therefore ask for the same name with the same input, and Step
Functions starts it once (the second call gets the running execution back): exactly one runs.
A launch whose window overlaps a RUNNING execution is refused, naming that execution.

That check and the start are two calls, so launches of different overlapping windows made at the same
instant could all pass it. Each launcher therefore checks again after its start (and after
`START_SETTLE_SECONDS`, so that every concurrent start is listed): of the overlapping RUNNING executions the
one that started first goes on (ties: the smaller name, so every launcher picks the same one); any other
stops itself (error `OverlappingExecution`, while the definition holds it in `Admission`, before any task)
and its launcher is refused naming the one that runs. A launch that finds overlapping RUNNING executions
before its start looks again after the same pause, so that it too names the one that runs, not one that is
about to give way. Overlap is checked pairwise, so with windows A, B, C
where only A-B and B-C overlap, C may be stopped because of B although B itself gives way to A: the guard
never lets two overlapping windows run, at the price of such a rare spare refusal.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from orchestrator.errors import ExecutionConflict, ExecutionNotFound, UsageError
from orchestrator.protocol import OVERLAP_STOP_ERROR, START_SETTLE_SECONDS, ExecutionRequest
from orchestrator.window import RefreshWindow

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

NAME_PREFIX = "store-sales"
MAX_NAME_LENGTH = 80
_NAME_PATTERN = re.compile(
    rf"^{NAME_PREFIX}-(?P<start>\d{{4}}-\d{{2}}-\d{{2}})(?:-to-(?P<end>\d{{4}}-\d{{2}}-\d{{2}}))?-r(?P<attempt>\d+)$"
)
_THROTTLING_CODES = frozenset({"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"})


class ExecutionStatus(StrEnum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMED_OUT = "TIMED_OUT"
    ABORTED = "ABORTED"
    PENDING_REDRIVE = "PENDING_REDRIVE"


def execution_name(window: RefreshWindow, attempt: int) -> str:
    """A valid Step Functions execution name (1-80 characters of [A-Za-z0-9-])."""
    span = window.start.isoformat()
    if window.end != window.start:
        span += f"-to-{window.end.isoformat()}"
    name = f"{NAME_PREFIX}-{span}-r{attempt}"
    if len(name) > MAX_NAME_LENGTH:
        raise UsageError(f"execution name {name!r} is longer than {MAX_NAME_LENGTH} characters")
    return name


def window_of_name(name: str) -> tuple[RefreshWindow, int] | None:
    """The window and attempt number encoded in one of our execution names."""
    match = _NAME_PATTERN.match(name)
    if match is None:
        return None
    start = date.fromisoformat(match["start"])
    end = date.fromisoformat(match["end"]) if match["end"] else start
    return RefreshWindow(start, end), int(match["attempt"])


@dataclass(frozen=True)
class ExecutionRef:
    arn: str
    name: str
    status: ExecutionStatus
    started: datetime
    stopped: datetime | None = None

    @property
    def window(self) -> RefreshWindow | None:
        parsed = window_of_name(self.name)
        return parsed[0] if parsed else None

    @property
    def seconds(self) -> float | None:
        return (self.stopped - self.started).total_seconds() if self.stopped else None


def call(operation: Callable[..., Any], **kwargs: Any) -> Any:
    """Call a Step Functions operation, backing off on throttling beyond botocore's own retries."""
    delay = 0.5
    for _ in range(6):
        try:
            return operation(**kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in _THROTTLING_CODES:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 8.0)
    return operation(**kwargs)


def list_executions(
    sfn: SFNClient, state_machine_arn: str, status: ExecutionStatus | None = None
) -> Iterator[ExecutionRef]:
    """Every execution of the state machine, newest first, following pagination."""
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": 100}
    if status is not None:
        kwargs["statusFilter"] = status.value
    while True:
        page = call(sfn.list_executions, **kwargs)
        for item in page["executions"]:
            yield ExecutionRef(
                arn=item["executionArn"],
                name=item["name"],
                status=ExecutionStatus(item["status"]),
                started=item["startDate"],
                stopped=item.get("stopDate"),
            )
        token = page.get("nextToken")
        if not token:
            return
        kwargs["nextToken"] = token


def describe(sfn: SFNClient, execution_arn: str) -> dict[str, Any]:
    try:
        result: dict[str, Any] = call(sfn.describe_execution, executionArn=execution_arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"ExecutionDoesNotExist", "InvalidArn"}:
            raise ExecutionNotFound(
                f"execution {execution_arn} does not exist: list recent ones with `python -m orchestrator history`"
            ) from None
        raise
    return result


def resolve_execution(sfn: SFNClient, state_machine_arn: str, name_or_arn: str) -> str:
    """The ARN of an execution given by name or ARN."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    for ref in list_executions(sfn, state_machine_arn):
        if ref.name == name_or_arn:
            return ref.arn
    raise ExecutionNotFound(
        f"no execution named {name_or_arn!r} in {state_machine_arn}: "
        "list recent ones with `python -m orchestrator history`"
    )


def running_overlaps(sfn: SFNClient, state_machine_arn: str, window: RefreshWindow) -> list[ExecutionRef]:
    """RUNNING executions whose refresh window overlaps `window`."""
    overlapping = []
    for ref in list_executions(sfn, state_machine_arn, ExecutionStatus.RUNNING):
        request = ExecutionRequest.from_input(describe(sfn, ref.arn).get("input"))
        running_window = request.window if request else ref.window
        if running_window is None or running_window.overlaps(window):
            overlapping.append(ref)
    return overlapping


def start(
    sfn: SFNClient,
    state_machine_arn: str,
    request: ExecutionRequest,
    known_names: Iterable[str] = (),
    settle_seconds: float = START_SETTLE_SECONDS,
) -> ExecutionRef:
    """Start an execution for the request, refusing overlaps with a RUNNING one (see the module's docstring).

    `known_names` adds executions the service does not list (the local journal's earlier runs).
    `settle_seconds`: the pause between the start and the check after it; 0 where no other launcher can
    start at the same time (local runs hold the data directory's lock).
    """
    attempts = [0]
    for known in itertools.chain(known_names, (ref.name for ref in list_executions(sfn, state_machine_arn))):
        parsed = window_of_name(known)
        if parsed and parsed[0] == request.window:
            attempts.append(parsed[1])
    name = execution_name(request.window, max(attempts) + 1)
    rivals = [ref for ref in running_overlaps(sfn, state_machine_arn, request.window) if ref.name != name]
    if rivals and settle_seconds:
        time.sleep(settle_seconds)  # rivals started at this instant may yet give way to one that went first
        rivals = [ref for ref in running_overlaps(sfn, state_machine_arn, request.window) if ref.name != name]
    if rivals:
        first = min(rivals, key=_start_order)
        raise ExecutionConflict(
            f"execution {first.name} is already RUNNING for an overlapping window: "
            f"watch it with `python -m orchestrator watch {first.name}` or wait until it ends"
        )
    try:
        started = call(sfn.start_execution, stateMachineArn=state_machine_arn, name=name, input=request.to_input())
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            raise ExecutionConflict(
                f"execution {name} was just started by someone else with different options: "
                f"watch it with `python -m orchestrator watch {name}`"
            ) from None
        raise
    ref = ExecutionRef(
        arn=started["executionArn"], name=name, status=ExecutionStatus.RUNNING, started=started["startDate"]
    )
    time.sleep(settle_seconds)
    went_first = _first_overlapping(sfn, state_machine_arn, ref, request.window)
    if went_first is not None:
        call(
            sfn.stop_execution,
            executionArn=ref.arn,
            error=OVERLAP_STOP_ERROR,
            cause=f"{went_first.name} started first for an overlapping window; {name} stopped before any task",
        )
        raise ExecutionConflict(
            f"execution {went_first.name} is already RUNNING for an overlapping window (started at the same time "
            f"as {name}, which was stopped before any task): watch it with `python -m orchestrator watch "
            f"{went_first.name}` or wait until it ends"
        )
    return ref


def _first_overlapping(
    sfn: SFNClient, state_machine_arn: str, ref: ExecutionRef, window: RefreshWindow
) -> ExecutionRef | None:
    """The overlapping RUNNING execution that goes before `ref` (earliest start, then smaller name), if any."""
    earlier = [
        other
        for other in running_overlaps(sfn, state_machine_arn, window)
        if other.arn != ref.arn and _start_order(other) < _start_order(ref)
    ]
    return min(earlier, key=_start_order, default=None)


def _start_order(ref: ExecutionRef) -> tuple[datetime, str]:
    """Which of two overlapping executions goes first: the earlier start, then the smaller name."""
    return ref.started, ref.name


def covering(refs: Iterable[ExecutionRef], day: date) -> list[ExecutionRef]:
    """The executions whose window holds `day`."""
    return [ref for ref in refs if ref.window is not None and ref.window.start <= day <= ref.window.end]
