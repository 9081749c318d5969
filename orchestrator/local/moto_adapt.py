"""Every adaptation of moto (pinned 5.2.5) the local emulator needs, in one place.

moto's Step Functions interpreter runs the real definition, but a few of its service integrations
stop short of AWS's behaviour. Each patch below says what it fixes; `tests/local/test_moto_adapt.py` checks
that the patched attribute still exists with the expected signature and that the fix is still needed
and works, so a moto upgrade fails loudly instead of silently changing the emulator.

1. `route_lambda_invocations`: moto's docker-less Lambda only echoes the payload. Invocations of
   registered function names call an in-process Python handler instead; an exception becomes Lambda's
   unhandled-error payload (`errorType` = the exception class name, header `x-amz-function-error`),
   exactly what lets the definition's Retry/Catch match `DbtTransientError`, `DbtModelFailed`...
2. `convert_ecs_parameter_casing`: moto stubs out the request/response casing conversion of service
   integrations, so `ecs:runTask` fails with `States.Runtime 'LaunchType'`. Restored for ECS only,
   using botocore's service model (the conversion AWS does).
3. `keep_task_failure_cause`: moto's SendTaskFailure handler drops `cause`; AWS keeps it, and the
   failure message a user reads lives there.
4. `page_execution_history`: moto's GetExecutionHistory ignores maxResults, reverseOrder and nextToken and
   serializes every event at every call (about 1 ms per event): a watch's poll of a long execution cost
   more the longer it ran. Paged as AWS pages it (nextToken: the offset of the next page).
5. `state_machines_from_cloudformation`: a StateMachine created by moto's CloudFormation goes to the plain
   Step Functions backend even when the interpreter is on, so the stack's own state machine could not be
   executed. Created in the backend the API uses (tests/infra/test_stack.py deploys the packaged template).
6. `task_definitions_from_cloudformation`: moto's CloudFormation registers an ECS task definition with its
   family, containers, volumes and memory only, dropping its task and execution roles, network mode,
   compatibilities, CPU and platform: the stack's Fargate task definition would name no role to pass, and
   a task run from it would not be an awsvpc task. Registered with every property of the resource.
7. `fargate_containers_sized_by_their_task`: moto's RunTask sums its containers' own memory, which a Fargate
   container may leave to its task (the stack's does: the task's Memory), and fails with `int += None`.
   Such a container counts for nothing in that sum (moto uses it only to place tasks on EC2 instances).
8. `stop_before_the_first_state`: moto's StopExecution reaches an execution's program only once the
   execution's worker thread has begun evaluating it. A stop made right after StartExecution (as the overlap
   guard's launcher makes it) came earlier: it failed on the worker's missing environment or was dropped,
   and the execution ran to its end. On AWS it stops the execution. The stop now waits (up to
   `STOP_REACH_SECONDS`) for the program to begin, then stops it.
9. `scaled_waits` (TESTS ONLY, a context manager, off unless entered): multiplies the sleeps of Retry
   backoff and Wait states by a factor, so a retry test does not sleep for real minutes; leaving it
   restores moto's own, so no other test runs with shortened waits.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import functools
import json
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import botocore.session

Handler = Callable[[Mapping[str, Any], Any], Any]

_HANDLERS: dict[str, Handler] = {}
_LOCK = threading.Lock()
_APPLIED: set[str] = set()


def function_name_of(name_or_arn: str) -> str:
    """`my-fn` from `arn:aws:lambda:region:account:function:my-fn[:qualifier]` (or the name itself)."""
    if ":function:" in name_or_arn:
        return name_or_arn.split(":function:", 1)[1].split(":", 1)[0]
    return name_or_arn


def register_lambda_handler(function_name: str, handler: Handler) -> None:
    with _LOCK:
        _HANDLERS[function_name] = handler


def unregister_lambda_handler(function_name: str) -> None:
    with _LOCK:
        _HANDLERS.pop(function_name, None)


def lambda_error_payload(error: BaseException) -> dict[str, Any]:
    """The body AWS Lambda's Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_exception(error)[-3:],
    }


def route_lambda_invocations() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    if "lambda" in _APPLIED:
        return
    original = LambdaSimpleBackend.invoke

    def invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> Any:
        with _LOCK:
            handler = _HANDLERS.get(function_name_of(function_name))
        if handler is None:
            return original(self, function_name, qualifier, body, headers, response_headers)
        event = json.loads(body) if body else {}
        try:
            return json.dumps(handler(event, None)).encode()
        except Exception as error:  # Lambda reports any unhandled exception the same way
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(lambda_error_payload(error)).encode()

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    _APPLIED.add("lambda")


@functools.cache
def _operation_model(service: str, operation: str) -> Any:
    model = botocore.session.get_session().get_service_model(service)
    names = {name.lower(): name for name in model.operation_names}
    return model.operation_model(names[operation.replace("_", "").lower()])


def _epoch_millis(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _epoch_millis(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_epoch_millis(v) for v in value]
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return value


def convert_ecs_parameter_casing() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
        StateTaskServiceEcs,
    )

    if "ecs" in _APPLIED:
        return

    def normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        action = self._get_boto_service_action(service_action_name=service_action_name)
        shape = _operation_model("ecs", action).input_shape
        if shape is not None:
            self._to_boto_request(parameters, shape)

    def normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        action = self._get_boto_service_action(service_action_name=service_action_name)
        shape = _operation_model("ecs", action).output_shape
        if shape is not None and isinstance(response, dict):
            self._from_boto_response(response, shape)
            response.update(_epoch_millis(response))

    StateTaskServiceEcs._normalise_parameters = normalise_parameters  # type: ignore[method-assign]
    StateTaskServiceEcs._normalise_response = normalise_response  # type: ignore[method-assign]
    _APPLIED.add("ecs")


def keep_task_failure_cause() -> None:
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    if "cause" in _APPLIED:
        return

    def send_task_failure(self: Any) -> Any:
        self.stepfunction_backend.send_task_failure(
            self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
        )
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure  # type: ignore[method-assign]
    _APPLIED.add("cause")


HISTORY_DEFAULT_PAGE = 100  # Step Functions' default maxResults for GetExecutionHistory


def page_execution_history() -> None:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    if "history" in _APPLIED:
        return

    def get_execution_history(self: Any) -> Any:
        history = self.stepfunction_backend.get_execution_history(self._get_param("executionArn"))
        events = list(history["events"])
        if self._get_param("reverseOrder"):
            events.reverse()
        offset = int(self._get_param("nextToken") or 0)
        size = int(self._get_param("maxResults") or HISTORY_DEFAULT_PAGE)
        page: dict[str, Any] = {"events": events[offset : offset + size]}
        if offset + size < len(events):
            page["nextToken"] = str(offset + size)
        return ActionResult(page)

    StepFunctionResponse.get_execution_history = get_execution_history  # type: ignore[method-assign]
    _APPLIED.add("history")


def state_machines_from_cloudformation() -> None:
    from moto.stepfunctions.models import StateMachine
    from moto.stepfunctions.responses import get_backend
    from moto.stepfunctions.utils import cfn_to_api_tags

    if "cloudformation" in _APPLIED:
        return

    def create_from_cloudformation_json(
        cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> Any:
        properties = cloudformation_json["Properties"]
        return get_backend(account_id, region_name).create_state_machine(
            properties.get("StateMachineName", resource_name),
            properties.get("DefinitionString", ""),
            properties.get("RoleArn", ""),
            tags=cfn_to_api_tags(properties.get("Tags", [])),
        )

    patched = classmethod(create_from_cloudformation_json)
    StateMachine.create_from_cloudformation_json = patched  # type: ignore[method-assign, assignment]
    _APPLIED.add("cloudformation")


def task_definitions_from_cloudformation() -> None:
    from moto.core.utils import camelcase_to_underscores, pascal_to_camelcase, remap_nested_keys
    from moto.ecs.models import TaskDefinition, ecs_backends

    if "task definitions" in _APPLIED:
        return

    def create_from_cloudformation_json(
        cls: Any, /, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **_: Any
    ) -> Any:
        properties = remap_nested_keys(cloudformation_json["Properties"], pascal_to_camelcase)
        arguments = {camelcase_to_underscores(name): value for name, value in properties.items()}
        arguments.setdefault("family", resource_name)
        # an unknown property is a TypeError here: a moto upgrade or a template change fails loudly
        return ecs_backends[account_id][region_name].register_task_definition(**arguments)

    patched = classmethod(create_from_cloudformation_json)
    TaskDefinition.create_from_cloudformation_json = patched  # type: ignore[method-assign, assignment]
    _APPLIED.add("task definitions")


CONTAINER_MEMORY_KEYS = ("memory", "memoryReservation", "Memory", "MemoryReservation")


def fargate_containers_sized_by_their_task() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend

    if "container memory" in _APPLIED:
        return
    original = EC2ContainerServiceBackend._calculate_task_resource_requirements

    @functools.wraps(original)
    def calculate_task_resource_requirements(task_definition: Any) -> dict[str, Any]:
        sized = copy.copy(task_definition)
        sized.container_definitions = [
            container if any(key in container for key in CONTAINER_MEMORY_KEYS) else {**container, "memory": 0}
            for container in task_definition.container_definitions
        ]
        requirements: dict[str, Any] = original(sized)
        return requirements

    patched = staticmethod(calculate_task_resource_requirements)
    EC2ContainerServiceBackend._calculate_task_resource_requirements = patched  # type: ignore[method-assign]
    _APPLIED.add("container memory")


STOP_REACH_SECONDS = 10.0


def stop_before_the_first_state() -> None:
    from moto.stepfunctions.parser.backend.execution import Execution

    if "stop" in _APPLIED:
        return
    moto_stop = Execution.stop

    def stop(self: Any, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
        worker = self.exec_worker
        give_up = time.monotonic() + STOP_REACH_SECONDS
        while worker is not None and time.monotonic() < give_up:
            if worker.env is not None and worker.env.program_state() is not None:
                break  # the program is evaluating (or has ended): the stop reaches it (or has nothing to stop)
            time.sleep(0.005)
        moto_stop(self, stop_date, error, cause)

    Execution.stop = stop  # type: ignore[method-assign]
    _APPLIED.add("stop")


def apply_all() -> None:
    """The adaptations the local emulator always needs (not `scaled_waits`)."""
    route_lambda_invocations()
    convert_ecs_parameter_casing()
    keep_task_failure_cause()
    page_execution_history()
    stop_before_the_first_state()


@contextlib.contextmanager
def scaled_waits(factor: float) -> Iterator[None]:
    """TESTS ONLY: inside, Retry backoff sleeps and Wait state durations are multiplied by `factor`."""
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    clock = types.SimpleNamespace(**{name: getattr(time, name) for name in dir(time) if not name.startswith("_")})
    clock.sleep = lambda seconds: time.sleep(seconds * factor)

    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        if wait_seconds > 0:
            env.program_state_event.wait(wait_seconds * factor)

    saved_clock, saved_wait = retrier_decl.time, WaitFunction._wait_interval  # type: ignore[attr-defined]
    retrier_decl.time = clock  # type: ignore[attr-defined, assignment]
    WaitFunction._wait_interval = wait_interval  # type: ignore[method-assign]
    try:
        yield
    finally:
        retrier_decl.time = saved_clock  # type: ignore[attr-defined]
        WaitFunction._wait_interval = saved_wait  # type: ignore[method-assign]
