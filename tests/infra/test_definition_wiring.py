"""The template deploys the definition `render` writes: every placeholder substituted, the ASL validators
pass, and every failure path (task, trigger) publishes to the alert topic."""

from __future__ import annotations

import json
from typing import Any

import boto3
from infra_support import (
    ACCOUNT,
    PLACEHOLDER,
    REGION,
    ROOT,
    TEMPLATE,
    substituted,
)
from moto import mock_aws
from statelint.linter import Linter

from orchestrator.cli import deploy
from orchestrator.definition.state_machine import (
    CHECK_STATE,
    DESCRIBE_STATE,
    ECS_RESOURCE,
    NOTIFY_STATE,
    NOTIFY_WARNING_STATE,
    RECORD_FAILURE_STATE,
    RECORD_RUN_STATE,
    SNS_RESOURCE,
)
from orchestrator.protocol import RUNNER_TIMED_OUT_ERROR


def test_template_deploys_the_definition_that_render_writes(template: dict[str, Any], definition_text: str) -> None:
    state_machine = template["Resources"]["StateMachine"]["Properties"]
    source = (TEMPLATE.parent / state_machine["DefinitionS3Location"]).resolve()
    assert source == (ROOT / deploy.DEFINITION).resolve()
    assert "Definition" not in state_machine and "DefinitionString" not in state_machine
    # Every placeholder of a fresh render is substituted by the template, and nothing else is.
    assert set(PLACEHOLDER.findall(definition_text)) == set(state_machine["DefinitionSubstitutions"])
    assert state_machine["DefinitionSubstitutions"]["AlertTopicArn"] == {"Ref": "AlertTopic"}


def test_rendered_definition_passes_the_asl_validators(template: dict[str, Any], definition_text: str) -> None:
    assert Linter.validate(definition_text) == []
    concrete = substituted(definition_text, template)
    assert Linter.validate(concrete) == []
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        arn = sfn.create_state_machine(
            name="store-sales-pipeline", definition=concrete, roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
        )["stateMachineArn"]
        assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == json.loads(concrete)


def failure_ends(states: dict[str, Any], start: str) -> str:
    """Follow a failure path through Pass/Choice states to the first Task or Fail it reaches."""
    seen = []
    name = start
    while states[name]["Type"] in {"Pass", "Choice"}:
        seen.append(name)
        state = states[name]
        name = state["Next"] if state["Type"] == "Pass" else state["Default"]
        for choice in state.get("Choices", []):
            assert failure_ends(states, choice["Next"]) == failure_ends(states, name)
        assert len(seen) < 20, seen
    return name


def test_every_failure_path_publishes_to_the_alert_topic(definition_text: str) -> None:
    definition = json.loads(definition_text)
    states = definition["States"]
    notify = states[NOTIFY_STATE]
    assert notify["Resource"] == SNS_RESOURCE and notify["Parameters"]["TopicArn"] == "${AlertTopicArn}"
    tasks = 0
    for name, state in states.items():
        if name in {NOTIFY_WARNING_STATE, RECORD_RUN_STATE}:
            # the run is published already: a warning alert or a run-log row that cannot be written does not fail it
            assert [catch["Next"] for catch in state["Catch"]] == [state["Next"]], name
            continue
        if name == DESCRIBE_STATE:
            # the failure is worded by the runner, or plainly when it does not answer: both go on to the alert
            assert state["Next"] == NOTIFY_STATE
            assert [failure_ends(states, catch["Next"]) for catch in state["Catch"]] == [NOTIFY_STATE]
            continue
        if name == RECORD_FAILURE_STATE:
            # the failure was published: its run-log row goes on to the failure's end either way
            assert [catch["Next"] for catch in state["Catch"]] == [state["Next"]] == [CHECK_STATE]
            continue
        if state["Type"] in {"Task", "Parallel"} and name != NOTIFY_STATE:
            assert state["Catch"], name
            for catch in state["Catch"]:
                if catch["ErrorEquals"] == [RUNNER_TIMED_OUT_ERROR]:  # a Lambda task goes on to ECS, itself caught
                    assert states[catch["Next"]]["Resource"] == ECS_RESOURCE, name
                    continue
                assert "States.ALL" in catch["ErrorEquals"]
                assert failure_ends(states, catch["Next"]) == DESCRIBE_STATE, name
            tasks += 1
        if state["Type"] == "Parallel":
            for branch in state["Branches"]:
                for inner_name, inner in branch["States"].items():
                    if inner["Type"] == "Task":
                        tasks += 1
                        for catch in inner["Catch"]:
                            if catch["ErrorEquals"] == [RUNNER_TIMED_OUT_ERROR]:
                                assert branch["States"][catch["Next"]]["Resource"] == ECS_RESOURCE
                                continue
                            # a branch failure ends the branch; the Parallel's Catch (checked above) notifies
                            assert branch["States"][failure_ends(branch["States"], catch["Next"])]["Type"] == "Fail"
                    assert inner["Type"] != "Succeed", inner_name
    assert tasks >= 5
    fails = [name for name, state in states.items() if state["Type"] == "Fail"]
    assert fails, "no Fail state"
    for name, state in states.items():
        if state.get("Next") in fails or state.get("Default") in fails:
            assert name != "Initialize"


def test_trigger_failures_reach_the_alert_topic(template: dict[str, Any]) -> None:
    trigger = template["Resources"]["TriggerFunction"]["Properties"]
    assert trigger["DeadLetterConfig"]["TargetArn"] == {"Ref": "AlertTopic"}
