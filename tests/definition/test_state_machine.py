"""The generated ASL definition: golden files, validity (statelint and moto), shape and policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from engine_support import (
    ENGINE_PROJECT,
    ROOT,
    engine_parsed_dir,
    project_parsed_dir,
    wait_for_execution,
)
from golden_support import GOLDEN_DIR, assert_matches_golden
from moto import mock_aws
from statelint.linter import Linter

from orchestrator.definition.graph import DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.definition.state_machine import (
    ECS_RESOURCE,
    LAMBDA_RESOURCE,
    RenderOptions,
    build_definition,
    render,
    render_file,
)
from orchestrator.errors import OrchestrationConfigError
from orchestrator.protocol import ADMISSION_SECONDS, START_SETTLE_SECONDS

CASES = {
    "chain": ("+chain_c",),
    "diamond": ("+dia_join",),
    "fanout": ("fan_root+",),
    "ephemeral": ("+eph_leaf",),
}
NEVER_RETRIED = {"DbtModelFailed", "DbtTestFailed", "DbtCrashed", "States.ALL", "States.Timeout", "States.TaskFailed"}


@pytest.fixture(scope="module")
def graph() -> DbtGraph:
    return DbtGraph.from_manifest(load_manifest(ENGINE_PROJECT, engine_parsed_dir(), check_fresh=False))


def task_states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name, state in definition["States"].items():
        if state["Type"] == "Parallel":
            for branch in state["Branches"]:
                found.update(task_states(branch))
        elif state["Type"] == "Task" and name.startswith("Build "):
            found[name] = state
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_definition_matches_golden_file(graph: DbtGraph, case: str) -> None:
    text = render(graph, RenderOptions(select=CASES[case]), comment=f"engine test project: {case}")
    assert_matches_golden({GOLDEN_DIR / f"engine_{case}.json": text})


@pytest.mark.parametrize("case", sorted(CASES))
def test_definition_is_valid_asl_for_statelint_and_moto(graph: DbtGraph, case: str) -> None:
    text = render(graph, RenderOptions(select=CASES[case]))
    assert Linter.validate(text) == []
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name=f"engine-{case}", definition=text, roleArn="arn:aws:iam::123456789012:role/sfn"
        )["stateMachineArn"]
        assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == json.loads(text)


def test_render_is_deterministic_and_uses_cloudformation_placeholders(graph: DbtGraph) -> None:
    first = render(graph, RenderOptions(select=("+dia_join", "+chain_c")))
    assert first == render(graph, RenderOptions(select=("+chain_c", "+dia_join")))
    for placeholder in (
        "${RunnerFunctionArn}",
        "${EcsClusterArn}",
        "${EcsTaskDefinitionArn}",
        "${EcsContainerName}",
        "${SubnetId1}",
        "${SecurityGroupId}",
        "${AlertTopicArn}",
        "${ArtifactsBucket}",
    ):
        assert placeholder in first


def test_executions_wait_in_admission_longer_than_the_launchers_overlap_check(graph: DbtGraph) -> None:
    deployed = build_definition(graph, RenderOptions(select=("+dia_join",)))
    assert deployed["StartAt"] == "Admission"
    admission = deployed["States"]["Admission"]
    assert (admission["Type"], admission["Next"], admission["Seconds"]) == ("Wait", "Initialize", ADMISSION_SECONDS)
    assert ADMISSION_SECONDS >= 3 * START_SETTLE_SECONDS  # the pause, then a listing and the stop, before any task
    local = build_definition(graph, RenderOptions(select=("+dia_join",), admission_seconds=0))
    assert local["StartAt"] == "Initialize" and "Admission" not in local["States"]


def test_diamond_sides_share_a_parallel_state_and_the_join_follows(graph: DbtGraph) -> None:
    definition = build_definition(graph, RenderOptions(select=("+dia_join",)))
    states = definition["States"]
    assert states["Initialize"]["Next"] == "Build dia_root"
    assert states["Build dia_root"]["Next"] == "Stage 2"
    parallel = states["Stage 2"]
    assert parallel["Type"] == "Parallel"
    assert [b["StartAt"] for b in parallel["Branches"]] == ["Build dia_left", "Build dia_right"]
    assert parallel["Catch"][0]["Next"] == "Describe failure"
    assert states["Collect stage 2"]["Next"] == "Build dia_join"
    assert states["Build dia_join"]["Next"] == "Check warnings"
    # each stage's Lambda task may run 840 s, stop at its deadline and run again on ECS for up to 3600 s
    assert definition["TimeoutSeconds"] == 3 * (840 + 3600) + 600


def test_compute_per_node_from_meta_and_timeouts_everywhere(graph: DbtGraph) -> None:
    tasks = task_states(build_definition(graph, RenderOptions(select=("+chain_c", "fan_root+"))))
    assert tasks["Build chain_c"]["Resource"] == ECS_RESOURCE
    assert tasks["Build chain_c"]["TimeoutSeconds"] == 1200
    assert tasks["Build chain_c"]["HeartbeatSeconds"] == 300
    assert tasks["Build fan_3"]["Resource"] == ECS_RESOURCE
    for name in ("Build chain_a", "Build chain_b", "Build fan_1", "Build fan_pair"):
        assert tasks[name]["Resource"] == LAMBDA_RESOURCE
        assert tasks[name]["TimeoutSeconds"] == 840
    assert tasks["Build fan_pair"]["Parameters"]["Payload"]["models"] == ["fan_5", "fan_6"]
    assert all("TimeoutSeconds" in state for state in tasks.values())


def test_retry_only_on_transient_errors_with_backoff_and_jitter(graph: DbtGraph) -> None:
    tasks = task_states(build_definition(graph, RenderOptions(select=("+chain_c",))))
    for state in tasks.values():
        retried = {error for rule in state["Retry"] for error in rule["ErrorEquals"]}
        assert "DbtTransientError" in retried
        assert not retried & NEVER_RETRIED
        assert all(rule["JitterStrategy"] == "FULL" and rule["BackoffRate"] > 1 for rule in state["Retry"])
        assert state["Catch"][-1] == {
            "ErrorEquals": ["States.ALL"],
            "Next": state["Catch"][-1]["Next"],
            "ResultPath": "$.error",
        }
    assert {"Lambda.TooManyRequestsException", "Lambda.ServiceException"} <= {
        e for rule in tasks["Build chain_a"]["Retry"] for e in rule["ErrorEquals"]
    }
    assert "ECS.AmazonECSException" in {e for rule in tasks["Build chain_c"]["Retry"] for e in rule["ErrorEquals"]}


def test_a_lambda_task_stopped_at_its_deadline_runs_again_on_ecs(graph: DbtGraph) -> None:
    states = build_definition(graph, RenderOptions(select=("+chain_c",), ecs_timeout_seconds=1800))["States"]
    lambda_task, fallback = states["Build chain_a"], states["Build chain_a on ECS"]
    assert lambda_task["Parameters"]["Payload"]["time_limit_seconds"] == lambda_task["TimeoutSeconds"] == 840
    assert lambda_task["Catch"][0] == {
        "ErrorEquals": ["DbtTaskTimedOut"],
        "Next": "Build chain_a on ECS",
        "ResultPath": "$.results.chain_a",
    }
    assert lambda_task["Catch"][1]["ErrorEquals"] == ["States.ALL"]
    assert fallback["Resource"] == ECS_RESOURCE and fallback["TimeoutSeconds"] == 1800
    assert fallback["Next"] == lambda_task["Next"] == "Build chain_b"
    assert fallback["ResultPath"] == lambda_task["ResultPath"] == "$.results.chain_a"
    assert "Build chain_c on ECS" not in states  # an ECS task has no fallback


def test_lambda_timeout_over_the_limit_is_refused() -> None:
    with pytest.raises(OrchestrationConfigError, match=r"must be 1\.\.840"):
        RenderOptions(lambda_timeout_seconds=900)


def test_render_file_writes_the_definition(tmp_path: Path) -> None:
    out = render_file(
        ENGINE_PROJECT,
        tmp_path / "out" / "definition.json",
        RenderOptions(select=("+dia_join",)),
        target_path=engine_parsed_dir(),
    )
    definition = json.loads(out.read_text(encoding="utf-8"))
    assert definition["Comment"].startswith("dbt project engine")
    assert "Stage 2" in definition["States"]


def test_real_project_definition_matches_golden_and_has_the_expected_shape() -> None:
    manifest = load_manifest(ROOT, project_parsed_dir(), check_fresh=False)
    text = render(DbtGraph.from_manifest(manifest), RenderOptions(), comment="dbt project store_sales")
    assert_matches_golden({GOLDEN_DIR / "store_sales.json": text})
    assert Linter.validate(text) == []
    states = json.loads(text)["States"]
    assert states["Initialize"]["Next"] == "Stage 1"
    stage_1 = states["Stage 1"]
    assert [b["StartAt"] for b in stage_1["Branches"]] == ["Build customer_address", "Build item"]
    models = [task_states(b)[b["StartAt"]]["Parameters"]["Payload"]["models"] for b in stage_1["Branches"]]
    assert models == [["stg_tpcds__customer_addresses", "dim_customer_address"], ["stg_tpcds__items", "dim_item"]]
    assert states["Collect stage 1"]["Next"] == "Route store_sales"
    route = states["Route store_sales"]
    assert route["Type"] == "Choice"
    assert route["Choices"] == [
        {"Next": "Build store_sales on Lambda", "NumericLessThanEquals": 31, "Variable": "$.window_days"}
    ]
    assert route["Default"] == "Build store_sales on ECS"
    assert states["Build store_sales on Lambda"]["Resource"] == LAMBDA_RESOURCE
    assert states["Build store_sales on Lambda"]["TimeoutSeconds"] == 840
    assert states["Build store_sales on ECS"]["Resource"] == ECS_RESOURCE
    assert states["Build store_sales on ECS"]["TimeoutSeconds"] == 3600
    for name in ("Build store_sales on Lambda", "Build store_sales on ECS"):
        assert states[name]["Next"] == "Build reports"
        assert states[name]["ResultPath"] == "$.results.store_sales"
        assert states[name]["Catch"][-1]["Next"] == "Failure in store_sales"
    assert states["Build store_sales on Lambda"]["Catch"][0]["Next"] == "Build store_sales on ECS"
    assert states["Build reports"]["Resource"] == LAMBDA_RESOURCE
    assert states["Build reports"]["Next"] == "Check warnings"
    check = states["Check warnings"]
    assert check["Default"] == "Record run"
    assert check["Choices"][0]["Next"] == "Notify warning"
    assert [rule["Variable"] for rule in check["Choices"][0]["Or"]] == [
        f"$.results.{task}.warnings[0]" for task in ("customer_address", "item", "store_sales", "reports")
    ]
    assert states["Notify warning"]["Next"] == states["Notify warning"]["Catch"][0]["Next"] == "Record run"
    # both ends write the execution's row to pipeline_runs; a failed write never changes the outcome
    for record, status, following in (
        ("Record run", "SUCCEEDED", "Pipeline succeeded"),
        ("Record failure", "FAILED", "Check failure"),
    ):
        payload = states[record]["Parameters"]["Payload"]["record_run"]
        assert payload["status"] == status
        assert ("error.$" in payload) == (status == "FAILED")
        assert states[record]["Next"] == states[record]["Catch"][0]["Next"] == following
        assert states[record]["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    assert states["Notify failure"]["Next"] == "Record failure"
    # a failure is worded once, by the runner, into $.failure: the alert and the execution's cause use that line
    describe = states["Describe failure"]
    assert describe["Parameters"]["Payload"] == {
        "describe_failure": {"error.$": "$.error", "execution.$": "$$.Execution.Name"}
    }
    assert describe["ResultPath"] == states["Describe failure plainly"]["ResultPath"] == "$.failure"
    assert describe["Next"] == states["Describe failure plainly"]["Next"] == "Notify failure"
    assert describe["Catch"][0]["Next"] == "Describe failure plainly"
    assert states["Notify failure"]["Parameters"]["Message.$"] == "$.failure.message"
    assert states["Notify failure"]["Parameters"]["Subject.$"] == "$.failure.subject"
    assert states["Pipeline failed"]["CausePath"] == "$.failure.line"
    assert states["Failure in store_sales"]["Next"] == "Describe failure"


def test_a_failure_the_runner_cannot_word_still_alerts_without_its_cause(graph: DbtGraph) -> None:
    """Should the runner function not answer `Describe failure`, its fallback (run here by moto's interpreter)
    words the alert from the error's name alone: never the Cause, which for a Lambda task is its JSON error."""
    plainly = build_definition(graph, RenderOptions(select=("+dia_join",)))["States"]["Describe failure plainly"]
    fallback = {key: value for key, value in plainly.items() if key != "Next"}
    definition = {"StartAt": "Fallback", "States": {"Fallback": {**fallback, "End": True}}}
    lambda_error = json.dumps({"errorMessage": "boom", "errorType": "DbtCrashed", "stackTrace": ['File "/var/task"']})
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        arn = sfn.create_state_machine(
            name="fallback", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
        )["stateMachineArn"]
        failed = json.dumps({"error": {"Error": "DbtCrashed", "Cause": lambda_error}})
        execution = sfn.start_execution(stateMachineArn=arn, name="run-1", input=failed)["executionArn"]
        description = wait_for_execution(sfn, execution)
    failure = json.loads(description["output"])["failure"]
    assert failure["line"] == (
        "execution run-1 failed with DbtCrashed; its message could not be worded (the runner function did not "
        "answer): python -m orchestrator watch run-1 shows it"
    )
    assert failure["message"] == failure["line"] + "; once fixed, resume it with python -m orchestrator resume run-1"
    assert failure["subject"] == "Store sales pipeline failed"
