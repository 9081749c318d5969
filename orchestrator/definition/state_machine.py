"""Generate the Step Functions definition (ASL, JSONPath) from the dbt graph.

Shape: `Admission` (a Wait of `admission_seconds`, during which the launcher's overlap guard may stop the
execution before any task; left out when 0, as in the local emulator) -> `Initialize` (a Pass that
normalizes the input) -> one state per stage -> `Check warnings`
(-> `Notify warning` when a task returned volume anomalies) -> `Record run` -> `Pipeline succeeded`.
A stage with one task is that task; a stage with several is a Parallel state `Stage N` (one branch per
task) followed by `Collect stage N` (a Pass merging the branch summaries into `$.results`). Every task
is `Build <task>`: it runs `dbt build` for its models (and their tests, so a failing test stops the
downstream stages). On AWS the branches of a Parallel run at the same time; the local emulator
serializes them on the warehouse lock (DuckDB allows one writer), see `orchestrator.local.emulator`.

Execution input (what the launcher sends; every key is required):

    {"refresh_window": {"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"}, "window_days": 1,
     "full_refresh": false, "full_tests": false, "nodes": null, "allow_missing": []}

`window_days` is the window's length (end - start + 1): the definition chooses each `compute: auto`
task's compute from it. `full_tests` makes the data tests check whole tables instead of the rows the
window wrote. `nodes` is null for everything, or a list of model names / unique ids: each task then
builds only the intersection of its models with the list and returns a `skipped` summary when it is
empty (this serves `run --select` and `resume`). `allow_missing` lists extracts whose days in the window
may have no delivery at all (`run --allow-missing item`; see `orchestrator.landing.gate`). Execution
output: the same keys plus `results`, one compact summary per task (`orchestrator.protocol.TaskSummary.to_dict`).

Compute per task (model `meta.orchestrator.compute`, see `orchestrator.definition.graph`):
- lambda: `arn:aws:states:::lambda:invoke` (synchronous), TimeoutSeconds at most 840 (Lambda's hard
  limit is 900). The runner's exception class name is the error name.
- auto: a Choice state `Route <task>` sends a window of at most `lambda_max_days` days to
  `Build <task> on Lambda` and a longer one to `Build <task> on ECS` (the same task either way), so one
  definition runs the daily load in a warm Lambda and a backfill on Fargate without its time limit.
- ecs: `arn:aws:states:::ecs:runTask.waitForTaskToken` on Fargate. Chosen over `.sync` because with
  `.sync` every failure is the same `States.TaskFailed` (an exit code buried in the Cause), so a
  transient error could not be retried apart from a failed model; with the task token the runner
  sends the same typed error names as Lambda (SendTaskFailure) and its summary (SendTaskSuccess).
  A worker that dies without calling back (OOM kill, lost host) is caught by HeartbeatSeconds: the
  runner heartbeats from a thread; TimeoutSeconds bounds the whole task. The task token is the only handle
  on the ECS task the definition has (runTask's answer comes only with the callback), so the container
  stops itself when its state is over: a heartbeat answered TaskTimedOut / TaskDoesNotExist / InvalidToken
  (the state timed out, the execution timed out or was stopped), or none accepted for HeartbeatSeconds
  (`orchestrator.runtime.runner.Heartbeat`). No ECS task outlives its state by more than a beat.
- Lambda's 15 minutes: every Lambda task's payload carries its state's TimeoutSeconds
  (`time_limit_seconds`); the runner stops dbt a minute before the first of that and the invocation's
  remaining time, cancelling its open queries, and fails with `DbtTaskTimedOut`. That error is caught
  first and sent to `Build <task> on ECS`, the same task on Fargate (for an auto task its ECS state; a
  Lambda task gets one as its fallback), so a daily task that outgrew Lambda still loads, without a word
  lost. The machine's TimeoutSeconds counts both.

Retry only on transient infrastructure errors (Lambda service/throttling/SDK errors, ECS API errors
and the runner's `DbtTransientError`), with exponential backoff and full jitter. Never on
`DbtModelFailed`, `DbtTestFailed`, `DbtCrashed`, timeouts or anything else: those are caught, named
(`Failure in <task>`: "task <task> (models: ...) failed with <Error>: <Cause>"), worded in one line by the
runner (`Describe failure`, `orchestrator.runtime.failure`: a Lambda task's Cause is the Lambda runtime's JSON
error, which no person should read), published to the SNS topic with the execution's name and the command that
resumes it (`Notify failure`), written to the warehouse's pipeline_runs (`Record failure`; `Record run` on the
success path, see `orchestrator.runtime.run_record`) and end the execution in `Pipeline failed`, whose Error is
the failing task's and whose Cause is that one line (a Fail state may not raise a reserved `States.*` name, so
`States.Timeout` - a Lambda timeout or a missed ECS heartbeat - ends as `Task.Timeout`).

Placeholders: the defaults of `RenderOptions` are CloudFormation DefinitionSubstitutions
(`${RunnerFunctionArn}`, `${EcsClusterArn}`, `${EcsTaskDefinitionArn}`, `${EcsContainerName}`,
`${SubnetId1}`, `${SubnetId2}`, `${SecurityGroupId}`, `${AlertTopicArn}`, `${ArtifactsBucket}`);
the local emulator renders real values instead. Same manifest + options -> byte-identical JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.definition.graph import Compute, DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.definition.plan import Plan, Task, build_plan
from orchestrator.errors import OrchestrationConfigError
from orchestrator.protocol import (
    ADMISSION_SECONDS,
    DESCRIBE_FAILURE_KEY,
    ENV_ALLOW_MISSING,
    ENV_ARTIFACTS_BUCKET,
    ENV_ARTIFACTS_PREFIX,
    ENV_EXECUTION,
    ENV_EXTRA_TESTS,
    ENV_FULL_REFRESH,
    ENV_HEARTBEAT_SECONDS,
    ENV_MODELS,
    ENV_NODES,
    ENV_TASK,
    ENV_TASK_TOKEN,
    INPUT_KEYS,
    RECORD_RUN_KEY,
    RUNNER_TIMED_OUT_ERROR,
    RUNNER_TRANSIENT_ERROR,
    SUMMARY_KEYS,
)
from orchestrator.window import FULL_TESTS_ENV, WINDOW_END_ENV, WINDOW_START_ENV

LAMBDA_RESOURCE = "arn:aws:states:::lambda:invoke"
ECS_RESOURCE = "arn:aws:states:::ecs:runTask.waitForTaskToken"
SNS_RESOURCE = "arn:aws:states:::sns:publish"
LAMBDA_TRANSIENT_ERRORS = (
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ServiceException",
    "Lambda.TooManyRequestsException",
)
ECS_TRANSIENT_ERRORS = ("ECS.AmazonECSException", "ECS.ServerException")
NOTIFY_STATE = "Notify failure"
DESCRIBE_STATE = "Describe failure"
DESCRIBE_PLAINLY_STATE = "Describe failure plainly"
FAILED_STATE = "Pipeline failed"
CHECK_STATE = "Check failure"
RENAME_STATE = "Rename failure"
SUCCEEDED_STATE = "Pipeline succeeded"
CHECK_WARNINGS_STATE = "Check warnings"
NOTIFY_WARNING_STATE = "Notify warning"
RECORD_RUN_STATE = "Record run"
RECORD_FAILURE_STATE = "Record failure"
ADMISSION_STATE = "Admission"
MACHINE_TIMEOUT_MARGIN_SECONDS = 600
RECORD_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class RetryPolicy:
    interval_seconds: int
    max_attempts: int
    backoff_rate: float = 2.0
    max_delay_seconds: int = 300

    def to_asl(self, errors: Sequence[str]) -> dict[str, Any]:
        return {
            "BackoffRate": self.backoff_rate,
            "ErrorEquals": list(errors),
            "IntervalSeconds": self.interval_seconds,
            "JitterStrategy": "FULL",
            "MaxAttempts": self.max_attempts,
            "MaxDelaySeconds": self.max_delay_seconds,
        }


@dataclass(frozen=True)
class RenderOptions:
    """Everything the definition needs besides the graph (defaults: CloudFormation placeholders)."""

    lambda_function_arn: str = "${RunnerFunctionArn}"
    ecs_cluster_arn: str = "${EcsClusterArn}"
    ecs_task_definition_arn: str = "${EcsTaskDefinitionArn}"
    ecs_container_name: str = "${EcsContainerName}"
    subnets: tuple[str, ...] = ("${SubnetId1}", "${SubnetId2}")
    security_groups: tuple[str, ...] = ("${SecurityGroupId}",)
    assign_public_ip: bool = False
    sns_topic_arn: str = "${AlertTopicArn}"
    artifacts_bucket: str = "${ArtifactsBucket}"
    artifacts_prefix: str = "dbt-artifacts"
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    group_stages: bool = False
    lambda_timeout_seconds: int = 840
    ecs_timeout_seconds: int = 3600
    ecs_heartbeat_seconds: int = 300
    machine_timeout_seconds: int | None = None
    admission_seconds: int = ADMISSION_SECONDS
    infrastructure_retry: RetryPolicy = RetryPolicy(interval_seconds=2, max_attempts=6, max_delay_seconds=60)
    transient_retry: RetryPolicy = RetryPolicy(interval_seconds=30, max_attempts=3)

    def __post_init__(self) -> None:
        if self.admission_seconds < 0:
            raise OrchestrationConfigError(f"admission_seconds {self.admission_seconds} must be 0 or more")
        if not 1 <= self.lambda_timeout_seconds <= 840:
            raise OrchestrationConfigError(
                f"lambda_timeout_seconds {self.lambda_timeout_seconds} must be 1..840 (Lambda stops at 900)"
            )
        if not 1 <= self.ecs_heartbeat_seconds <= self.ecs_timeout_seconds:
            raise OrchestrationConfigError(
                f"ecs_heartbeat_seconds {self.ecs_heartbeat_seconds} must be at least 1 and at most "
                f"ecs_timeout_seconds {self.ecs_timeout_seconds}"
            )


def plan_for(graph: DbtGraph, options: RenderOptions) -> Plan:
    return build_plan(
        graph,
        graph.select(options.select, options.exclude),
        group_stages=options.group_stages,
        lambda_timeout_seconds=options.lambda_timeout_seconds,
        ecs_timeout_seconds=options.ecs_timeout_seconds,
    )


def render(graph: DbtGraph, options: RenderOptions | None = None, comment: str = "") -> str:
    """The ASL definition as deterministic, pretty JSON (sorted keys, trailing newline)."""
    definition = build_definition(graph, options or RenderOptions(), comment)
    return json.dumps(definition, indent=2, sort_keys=True) + "\n"


def render_file(
    project_dir: Path, out: Path, options: RenderOptions | None = None, target_path: Path | None = None
) -> Path:
    """Load `<target_path or project/target>/manifest.json`, render, write `out`; returns `out`."""
    manifest = load_manifest(project_dir, target_path)
    comment = f"dbt project {manifest.project_name}: generated by orchestrator.definition.state_machine, do not edit"
    text = render(DbtGraph.from_manifest(manifest), options, comment)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def build_definition(graph: DbtGraph, options: RenderOptions, comment: str = "") -> dict[str, Any]:
    plan = plan_for(graph, options)
    stage_names = [_stage_state_name(i, stage) for i, stage in enumerate(plan.stages, start=1)]
    states: dict[str, Any] = {
        "Initialize": {
            "Comment": "Normalize the execution input and start an empty results map.",
            "Next": stage_names[0],
            "Parameters": {**{f"{key}.$": f"$.{key}" for key in INPUT_KEYS}, "results": {}},
            "Type": "Pass",
        }
    }
    for index, stage in enumerate(plan.stages, start=1):
        following = stage_names[index] if index < len(stage_names) else CHECK_WARNINGS_STATE
        if len(stage) == 1:
            states.update(_task_states(stage[0], options, following, in_branch=False))
        else:
            collect = f"Collect stage {index}"
            states[stage_names[index - 1]] = _parallel_state(stage, options, collect)
            states[collect] = {
                "Comment": f"Merge the summaries of stage {index} into $.results.",
                "Next": following,
                "Parameters": {
                    **{f"{key}.$": f"$.{key}" for key in INPUT_KEYS},
                    "results.$": "States.JsonMerge($.results, $.stage_results, false)",
                },
                "Type": "Pass",
            }
    states.update(_describe_states(options))
    states[NOTIFY_STATE] = _alert_state(
        {"Message.$": "$.failure.message", "Subject.$": "$.failure.subject"}, RECORD_FAILURE_STATE, options
    )
    states[RECORD_FAILURE_STATE] = _record_state("FAILED", CHECK_STATE, options)
    states.update(_warning_states([task.key for stage in plan.stages for task in stage], options))
    states[RECORD_RUN_STATE] = _record_state("SUCCEEDED", SUCCEEDED_STATE, options)
    states.update(_rename_states_errors(CHECK_STATE, RENAME_STATE, FAILED_STATE))
    states[FAILED_STATE] = {"CausePath": "$.failure.line", "ErrorPath": "$.error.Error", "Type": "Fail"}
    states[SUCCEEDED_STATE] = {"Type": "Succeed"}
    start_at = "Initialize"
    if options.admission_seconds:
        start_at = ADMISSION_STATE
        states[ADMISSION_STATE] = {
            "Comment": "Hold the execution before any task while its launcher checks for an overlapping one "
            "started at the same instant (orchestrator.runtime.step_functions).",
            "Next": "Initialize",
            "Seconds": options.admission_seconds,
            "Type": "Wait",
        }
    definition: dict[str, Any] = {
        "StartAt": start_at,
        "States": states,
        "TimeoutSeconds": options.machine_timeout_seconds or _machine_timeout(plan, options),
    }
    if comment:
        definition["Comment"] = comment
    return definition


def _warning_states(task_keys: Sequence[str], options: RenderOptions) -> dict[str, Any]:
    """A succeeded run whose tasks returned warnings (the volume check, models/monitoring) publishes one
    alert, "published with a warning", then succeeds: the reports are out, and people know to look."""
    warned = [{"IsPresent": True, "Variable": f"$.results.{key}.warnings[0]"} for key in task_keys]
    lists = ", ".join(f"$.results.{key}.warnings" for key in task_keys)
    return {
        CHECK_WARNINGS_STATE: {
            "Choices": [{"Next": NOTIFY_WARNING_STATE, **({"Or": warned} if len(warned) > 1 else warned[0])}],
            "Comment": "Did any task return a warning?",
            "Default": RECORD_RUN_STATE,
            "Type": "Choice",
        },
        NOTIFY_WARNING_STATE: _alert_state(
            {
                "Message.$": "States.Format('Store sales pipeline execution {} published with a warning: {}', "
                f"$$.Execution.Name, States.JsonToString(States.Array({lists})))",
                "Subject": "Store sales published with a warning",
            },
            RECORD_RUN_STATE,
            options,
        ),
    }


def _describe_states(options: RenderOptions) -> dict[str, Any]:
    """`Describe failure`: the runner words the failure (`orchestrator.runtime.failure`: the one line, without
    Lambda's JSON error or stack trace, and the alert's subject and message) into `$.failure`, which the alert,
    the run log and the execution's cause use. Should the runner function not answer, `Describe failure
    plainly` says so with the error's name alone."""
    plainly = (
        "execution {} failed with {}; its message could not be worded (the runner function did not answer): "
        "python -m orchestrator watch {} shows it"
    )
    line = f"States.Format('{plainly}', $$.Execution.Name, $.error.Error, $$.Execution.Name)"
    message = (
        f"States.Format('{plainly}; once fixed, resume it with python -m orchestrator resume {{}}', "
        "$$.Execution.Name, $.error.Error, $$.Execution.Name, $$.Execution.Name)"
    )
    return {
        DESCRIBE_STATE: {
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "Next": DESCRIBE_PLAINLY_STATE, "ResultPath": "$.describe_error"}
            ],
            "Comment": "Word the failure in one line and its alert (the runner, no dbt).",
            "Next": NOTIFY_STATE,
            "Parameters": {
                "FunctionName": options.lambda_function_arn,
                "Payload": {DESCRIBE_FAILURE_KEY: {"error.$": "$.error", "execution.$": "$$.Execution.Name"}},
            },
            "Resource": LAMBDA_RESOURCE,
            "ResultPath": "$.failure",
            "ResultSelector": {
                "line.$": "$.Payload.line",
                "message.$": "$.Payload.message",
                "subject.$": "$.Payload.subject",
            },
            "Retry": [options.infrastructure_retry.to_asl(LAMBDA_TRANSIENT_ERRORS)],
            "TimeoutSeconds": 60,
            "Type": "Task",
        },
        DESCRIBE_PLAINLY_STATE: {
            "Next": NOTIFY_STATE,
            "Parameters": {"line.$": line, "message.$": message, "subject": "Store sales pipeline failed"},
            "ResultPath": "$.failure",
            "Type": "Pass",
        },
    }


def _alert_state(content: dict[str, str], following: str, options: RenderOptions) -> dict[str, Any]:
    """Publish one line (`content`: the Message and Subject parameters) to the alert topic, then go on to
    `following` whether or not it could be sent."""
    return {
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": following, "ResultPath": "$.notify_error"}],
        "Next": following,
        "Parameters": {**content, "TopicArn": options.sns_topic_arn},
        "Resource": SNS_RESOURCE,
        "ResultPath": None,
        "Retry": [options.infrastructure_retry.to_asl(["States.ALL"])],
        "TimeoutSeconds": 60,
        "Type": "Task",
    }


def _record_state(status: str, following: str, options: RenderOptions) -> dict[str, Any]:
    """The execution's last step: the runner writes its row to the warehouse's pipeline_runs
    (`orchestrator.runtime.run_record`). A failed record is caught: it never changes the execution's outcome."""
    payload: dict[str, Any] = {
        "allow_gap.$": "$.allow_gap",
        "completes_window.$": "$.completes_window",
        "execution.$": "$$.Execution.Name",
        "nodes.$": "$.nodes",
        "refresh_window.$": "$.refresh_window",
        "results.$": "$.results",
        "started.$": "$$.Execution.StartTime",
        "status": status,
    }
    if status == "FAILED":
        payload["error.$"] = "$.error"
    return {
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": following, "ResultPath": "$.record_error"}],
        "Comment": f"Write the execution's row ({status}) to the warehouse's pipeline_runs.",
        "Next": following,
        "Parameters": {"FunctionName": options.lambda_function_arn, "Payload": {RECORD_RUN_KEY: payload}},
        "Resource": LAMBDA_RESOURCE,
        "ResultPath": None,
        "Retry": _runner_retries(LAMBDA_TRANSIENT_ERRORS, options),
        "TimeoutSeconds": RECORD_TIMEOUT_SECONDS,
        "Type": "Task",
    }


def _runner_retries(service_errors: Sequence[str], options: RenderOptions) -> list[dict[str, Any]]:
    """A runner invocation's Retry: the service's transient errors, then the runner's own transient error."""
    return [
        options.infrastructure_retry.to_asl(service_errors),
        options.transient_retry.to_asl([RUNNER_TRANSIENT_ERROR]),
    ]


def _machine_timeout(plan: Plan, options: RenderOptions) -> int:
    return sum(max(_task_budget(t, options) for t in stage) for stage in plan.stages) + MACHINE_TIMEOUT_MARGIN_SECONDS


def _task_budget(task: Task, options: RenderOptions) -> int:
    """The longest a task may take: a Lambda task stopped at its deadline runs again on ECS."""
    computes = (Compute.ECS,) if task.compute is Compute.ECS else (Compute.LAMBDA, Compute.ECS)
    return sum(_state_timeout(task, compute, options) for compute in computes)


def _state_timeout(task: Task, compute: Compute, options: RenderOptions) -> int:
    """TimeoutSeconds of the task's state on `compute`: the task's own on its declared compute; Lambda's for an
    auto task on Lambda; the ECS default for a Lambda task's ECS fallback."""
    if compute is task.compute:
        return task.timeout_seconds
    return options.lambda_timeout_seconds if compute is Compute.LAMBDA else options.ecs_timeout_seconds


def _stage_state_name(index: int, stage: Sequence[Task]) -> str:
    return _entry_name(stage[0]) if len(stage) == 1 else f"Stage {index}"


def _build_name(task: Task, compute: Compute | None = None) -> str:
    """`Build <key>`; an auto task's two task states say where they run: `Build <key> on Lambda`/`on ECS`,
    and a Lambda task's ECS fallback is `Build <key> on ECS`."""
    if task.compute is Compute.AUTO or (task.compute is Compute.LAMBDA and compute is Compute.ECS):
        return f"Build {task.key} on {'Lambda' if compute is Compute.LAMBDA else 'ECS'}"
    return f"Build {task.key}"


def _entry_name(task: Task) -> str:
    """The first state of a task: its task state, or for compute auto the Choice in front of it."""
    return f"Route {task.key}" if task.compute is Compute.AUTO else _build_name(task)


def _parallel_state(stage: Sequence[Task], options: RenderOptions, collect: str) -> dict[str, Any]:
    branches = []
    for task in stage:
        branch_states = _task_states(task, options, None, in_branch=True)
        branches.append({"StartAt": _entry_name(task), "States": branch_states})
    return {
        "Branches": branches,
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": DESCRIBE_STATE, "ResultPath": "$.error"}],
        "Comment": "Independent tasks: " + ", ".join(task.key for task in stage),
        "Next": collect,
        "ResultPath": "$.stage_results",
        "ResultSelector": {f"{task.key}.$": f"$[{i}]" for i, task in enumerate(stage)},
        "Type": "Parallel",
    }


def _task_state(
    task: Task, compute: Compute, options: RenderOptions, following: str | None, in_branch: bool
) -> dict[str, Any]:
    timeout = _state_timeout(task, compute, options)
    state = _lambda_task(task, options, timeout) if compute is Compute.LAMBDA else _ecs_task(task, options)
    state["ResultPath"] = f"$.results.{task.key}"
    state["Catch"] = [{"ErrorEquals": ["States.ALL"], "Next": f"Failure in {task.key}", "ResultPath": "$.error"}]
    if compute is Compute.LAMBDA:  # at its deadline the runner stops dbt; the same task then runs on ECS
        on_ecs = {"ErrorEquals": [RUNNER_TIMED_OUT_ERROR], "Next": _build_name(task, Compute.ECS)}
        state["Catch"].insert(0, {**on_ecs, "ResultPath": f"$.results.{task.key}"})
    state["TimeoutSeconds"] = timeout
    state["Type"] = "Task"
    if in_branch:
        state["OutputPath"] = f"$.results.{task.key}"
        state["End"] = True
    else:
        state["Next"] = following
    return state


def _task_states(task: Task, options: RenderOptions, following: str | None, in_branch: bool) -> dict[str, Any]:
    failure = f"Failure in {task.key}"
    states: dict[str, Any] = {}
    if task.compute is Compute.AUTO:
        on_lambda, on_ecs = _build_name(task, Compute.LAMBDA), _build_name(task, Compute.ECS)
        states[_entry_name(task)] = {
            "Choices": [
                {"Next": on_lambda, "NumericLessThanEquals": task.lambda_max_days, "Variable": "$.window_days"}
            ],
            "Comment": f"Windows of up to {task.lambda_max_days} days run on Lambda, longer ones on ECS Fargate.",
            "Default": on_ecs,
            "Type": "Choice",
        }
        states[on_lambda] = _task_state(task, Compute.LAMBDA, options, following, in_branch)
        states[on_ecs] = _task_state(task, Compute.ECS, options, following, in_branch)
    else:
        states[_build_name(task)] = _task_state(task, task.compute, options, following, in_branch)
    if task.compute is Compute.LAMBDA:  # the fallback of a task stopped at the Lambda's deadline
        states[_build_name(task, Compute.ECS)] = _task_state(task, Compute.ECS, options, following, in_branch)
    models = ", ".join(task.models)
    describe = {
        "Comment": "Name the failed task in the error cause.",
        "Next": f"Check failure in {task.key}" if in_branch else DESCRIBE_STATE,
        "Parameters": {
            "Cause.$": f"States.Format('task {task.key} (models: {models}) failed with {{}}: {{}}', "
            "$.error.Error, $.error.Cause)",
            "Error.$": "$.error.Error",
        },
        "ResultPath": "$.error",
        "Type": "Pass",
    }
    states[failure] = describe
    if in_branch:
        stop = f"Stop branch {task.key}"
        states.update(_rename_states_errors(f"Check failure in {task.key}", f"Rename failure in {task.key}", stop))
        states[stop] = {"CausePath": "$.error.Cause", "ErrorPath": "$.error.Error", "Type": "Fail"}
    return states


def _rename_states_errors(check: str, rename: str, fail: str) -> dict[str, Any]:
    """A Fail state may not raise a `States.*` name: `States.Timeout` becomes `Task.Timeout`."""
    return {
        check: {
            "Choices": [{"Next": rename, "StringMatches": "States.*", "Variable": "$.error.Error"}],
            "Comment": "Fail states cannot raise the reserved States.* error names.",
            "Default": fail,
            "Type": "Choice",
        },
        rename: {
            "Next": fail,
            "Parameters": {
                "Cause.$": "$.error.Cause",
                "Error.$": "States.Format('Task.{}', States.ArrayGetItem(States.StringSplit($.error.Error, '.'), 1))",
            },
            "ResultPath": "$.error",
            "Type": "Pass",
        },
    }


def _lambda_task(task: Task, options: RenderOptions, timeout: int) -> dict[str, Any]:
    payload = {
        "artifacts": {"bucket": options.artifacts_bucket, "prefix": options.artifacts_prefix},
        "execution.$": "$$.Execution.Name",
        "extra_tests": list(task.extra_tests),
        "models": list(task.models),
        "task": task.key,
        "time_limit_seconds": timeout,
        **{f"{key}.$": f"$.{key}" for key in INPUT_KEYS},
    }
    return {
        "Comment": f"dbt build on Lambda: {', '.join(task.models)}",
        "Parameters": {"FunctionName": options.lambda_function_arn, "Payload": payload},
        "Resource": LAMBDA_RESOURCE,
        "ResultSelector": {f"{key}.$": f"$.Payload.{key}" for key in SUMMARY_KEYS},
        "Retry": _runner_retries(LAMBDA_TRANSIENT_ERRORS, options),
    }


def _ecs_task(task: Task, options: RenderOptions) -> dict[str, Any]:
    environment = [
        {"Name": ENV_TASK_TOKEN, "Value.$": "$$.Task.Token"},
        {"Name": ENV_TASK, "Value": task.key},
        {"Name": ENV_MODELS, "Value": " ".join(task.models)},
        {"Name": ENV_EXTRA_TESTS, "Value": " ".join(task.extra_tests)},
        {"Name": WINDOW_START_ENV, "Value.$": "$.refresh_window.start"},
        {"Name": WINDOW_END_ENV, "Value.$": "$.refresh_window.end"},
        {"Name": ENV_FULL_REFRESH, "Value.$": "States.JsonToString($.full_refresh)"},
        {"Name": FULL_TESTS_ENV, "Value.$": "States.JsonToString($.full_tests)"},
        {"Name": ENV_NODES, "Value.$": "States.JsonToString($.nodes)"},
        {"Name": ENV_ALLOW_MISSING, "Value.$": "States.JsonToString($.allow_missing)"},
        {"Name": ENV_EXECUTION, "Value.$": "$$.Execution.Name"},
        {"Name": ENV_ARTIFACTS_BUCKET, "Value": options.artifacts_bucket},
        {"Name": ENV_ARTIFACTS_PREFIX, "Value": options.artifacts_prefix},
        {"Name": ENV_HEARTBEAT_SECONDS, "Value": str(max(1, options.ecs_heartbeat_seconds // 4))},
    ]
    return {
        "Comment": f"dbt build on ECS Fargate: {', '.join(task.models)}",
        "HeartbeatSeconds": options.ecs_heartbeat_seconds,
        "Parameters": {
            "Cluster": options.ecs_cluster_arn,
            "LaunchType": "FARGATE",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "AssignPublicIp": "ENABLED" if options.assign_public_ip else "DISABLED",
                    "SecurityGroups": list(options.security_groups),
                    "Subnets": list(options.subnets),
                }
            },
            "Overrides": {"ContainerOverrides": [{"Environment": environment, "Name": options.ecs_container_name}]},
            "TaskDefinition": options.ecs_task_definition_arn,
        },
        "Resource": ECS_RESOURCE,
        "ResultSelector": {f"{key}.$": f"$.{key}" for key in SUMMARY_KEYS},
        "Retry": _runner_retries(ECS_TRANSIENT_ERRORS, options),
    }
