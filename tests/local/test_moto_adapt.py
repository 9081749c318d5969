"""Each moto adaptation: the patched attribute still exists, the fix is still needed, and it works."""

from __future__ import annotations

import inspect
import json
import threading
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from orchestrator.local import moto_adapt

ROLE = "arn:aws:iam::123456789012:role/sfn"


class FlakyError(Exception):
    """A stand-in for the runner's typed errors."""


def test_lambda_invoke_signature_is_the_one_patched() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    moto_adapt.route_lambda_invocations()
    params = list(inspect.signature(LambdaSimpleBackend.invoke).parameters)
    assert params == ["self", "function_name", "qualifier", "body", "headers", "response_headers"]


def test_lambda_errors_surface_with_the_exception_class_name() -> None:
    moto_adapt.route_lambda_invocations()
    with mock_aws(config={"lambda": {"use_docker": False}}):
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = boto3.client("lambda", region_name="us-east-1")
        lam.create_function(FunctionName="echo", Runtime="python3.11", Role=role, Handler="h.h", Code={"ZipFile": b"x"})
        unrouted = lam.invoke(FunctionName="echo", Payload=b'{"a": 1}')
        assert json.loads(unrouted["Payload"].read()) == {"a": 1}  # moto alone only echoes: still needed

        def handler(event: dict[str, object], context: object) -> dict[str, object]:
            if event.get("fail"):
                raise FlakyError("node x failed")
            return {"doubled": 2 * int(str(event["n"]))}

        moto_adapt.register_lambda_handler("echo", handler)
        try:
            ok = lam.invoke(FunctionName="echo", Payload=b'{"n": 21}')
            assert json.loads(ok["Payload"].read()) == {"doubled": 42}
            failed = lam.invoke(
                FunctionName="arn:aws:lambda:us-east-1:123456789012:function:echo", Payload=b'{"fail": 1}'
            )
            assert failed["FunctionError"] == "Unhandled"
            body = json.loads(failed["Payload"].read())
            assert body["errorType"] == "FlakyError"
            assert body["errorMessage"] == "node x failed"
        finally:
            moto_adapt.unregister_lambda_handler("echo")


def test_ecs_casing_conversion_is_still_a_stub_in_moto() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs import (
        StateTaskServiceEcs,
    )

    parameters = {"LaunchType": "FARGATE"}
    StateTaskService._normalise_parameters(None, parameters)
    assert parameters == {"LaunchType": "FARGATE"}  # unchanged: the conversion is still missing
    moto_adapt.convert_ecs_parameter_casing()
    assert StateTaskServiceEcs._normalise_parameters is not StateTaskService._normalise_parameters
    shape = moto_adapt._operation_model("ecs", "run_task").input_shape
    assert {"launchType", "taskDefinition", "overrides"} <= set(shape.members)


def run_until_done(sfn: object, arn: str) -> dict[str, object]:
    for _ in range(300):
        description: dict[str, object] = sfn.describe_execution(executionArn=arn)  # type: ignore[attr-defined]
        if description["status"] != "RUNNING":
            return description
        time.sleep(0.05)
    raise AssertionError("execution did not finish")


def test_send_task_failure_keeps_the_cause() -> None:
    moto_adapt.keep_task_failure_cause()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="tokens")["QueueUrl"]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        definition = {
            "StartAt": "Wait",
            "States": {
                "Wait": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}},
                    "TimeoutSeconds": 30,
                    "End": True,
                }
            },
        }
        machine = sfn.create_state_machine(name="m", definition=json.dumps(definition), roleArn=ROLE)
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="e1")["executionArn"]
        messages: list[dict[str, str]] = []
        for _ in range(30):  # bounded: 30 long polls of 1 s
            messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", [])
            if messages:
                break
        assert messages, "the task token never reached the queue"
        token = json.loads(messages[0]["Body"])["token"]
        sfn.send_task_failure(taskToken=token, error="DbtModelFailed", cause="model dim_item failed: boom")
        description = run_until_done(sfn, arn)
    assert description["status"] == "FAILED"
    assert description["error"] == "DbtModelFailed"
    assert description["cause"] == "model dim_item failed: boom"


def test_a_stop_that_comes_before_the_first_state_stops_the_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    moto_adapt.stop_before_the_first_state()
    begin = threading.Event()
    moto_start = ExecutionWorker.start

    def late_start(worker: ExecutionWorker) -> None:  # the worker thread begins late, as on a loaded machine
        threading.Thread(target=lambda: (begin.wait(), moto_start(worker)), daemon=True).start()

    monkeypatch.setattr(ExecutionWorker, "start", late_start)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        definition = {"StartAt": "Admission", "States": {"Admission": {"Type": "Wait", "Seconds": 60, "End": True}}}
        machine = sfn.create_state_machine(name="m", definition=json.dumps(definition), roleArn=ROLE)
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="e1")["executionArn"]
        backend = stepfunctions_parser_backends["123456789012"]["us-east-1"]
        (execution,) = backend._get_executions()
        with pytest.raises(AttributeError):  # moto alone: the stop fails on the worker's missing environment
            execution.exec_worker.stop(stop_date=None, error=None, cause=None)
        threading.Timer(0.3, begin.set).start()
        sfn.stop_execution(executionArn=arn, error="OverlappingExecution", cause="another went first")
        description = run_until_done(sfn, arn)  # well before the Wait's 60 s
    assert description["status"] == "ABORTED"


def test_execution_history_is_paged_as_step_functions_pages_it() -> None:
    moto_adapt.page_execution_history()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        steps = [f"Step {index}" for index in range(60)]
        states = {
            name: {"Type": "Pass", "Next": following}
            for name, following in zip(steps, [*steps[1:], "Done"], strict=True)
        }
        definition = {"StartAt": steps[0], "States": {**states, "Done": {"Type": "Succeed"}}}
        machine = sfn.create_state_machine(name="m", definition=json.dumps(definition), roleArn=ROLE)
        arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name="e1")["executionArn"]
        run_until_done(sfn, arn)
        first = sfn.get_execution_history(executionArn=arn)  # 124 events, AWS's default page of 100
        rest = sfn.get_execution_history(executionArn=arn, nextToken=first["nextToken"])
        newest = sfn.get_execution_history(executionArn=arn, maxResults=3, reverseOrder=True)
    ids = [event["id"] for event in first["events"] + rest["events"]]
    assert ids == list(range(1, 125)) and len(first["events"]) == 100 and "nextToken" not in rest
    assert [event["id"] for event in newest["events"]] == [124, 123, 122] and newest["nextToken"]


def test_scaled_waits_patches_the_retry_clock_and_wait_states_and_restores_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    original_clock, original_wait = retrier_decl.time, WaitFunction._wait_interval
    assert original_clock is time  # moto's retrier sleeps with the time module itself
    assert list(inspect.signature(original_wait).parameters) == ["self", "env", "wait_seconds"]
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    with moto_adapt.scaled_waits(0.01):
        retrier_decl.time.sleep(30.0)
        assert WaitFunction._wait_interval is not original_wait
    assert slept == [pytest.approx(0.3)]
    assert (retrier_decl.time, WaitFunction._wait_interval) == (original_clock, original_wait)


def test_task_definitions_from_cloudformation_keep_every_property() -> None:
    from moto.ecs.models import TaskDefinition

    source = inspect.getsource(TaskDefinition)  # moto's own code, whatever is patched
    original = source[source.index("def create_from_cloudformation_json") : source.index("def update_from_")]
    assert "TaskRoleArn" not in original and "NetworkMode" not in original  # moto drops them: still needed
    moto_adapt.task_definitions_from_cloudformation()
    template = {
        "Resources": {
            "Definition": {
                "Type": "AWS::ECS::TaskDefinition",
                "Properties": {
                    "Family": "runner",
                    "RequiresCompatibilities": ["FARGATE"],
                    "NetworkMode": "awsvpc",
                    "Cpu": "1024",
                    "Memory": "4096",
                    "TaskRoleArn": ROLE,
                    "ExecutionRoleArn": f"{ROLE}-execution",
                    "ContainerDefinitions": [
                        {
                            "Name": "dbt-runner",
                            "Image": "runner:1",
                            "EntryPoint": ["python", "-m", "orchestrator.runtime.runner"],
                            "Environment": [{"Name": "STORE_SALES_TARGET", "Value": "redshift"}],
                        }
                    ],
                },
            }
        }
    }
    with mock_aws():
        boto3.client("cloudformation", region_name="us-east-1").create_stack(
            StackName="s", TemplateBody=json.dumps(template)
        )
        described = boto3.client("ecs", region_name="us-east-1").describe_task_definition(taskDefinition="runner")
    definition = described["taskDefinition"]
    assert (definition["taskRoleArn"], definition["executionRoleArn"]) == (ROLE, f"{ROLE}-execution")
    assert definition["networkMode"] == "awsvpc" and definition["requiresCompatibilities"] == ["FARGATE"]
    assert (definition["cpu"], definition["memory"]) == ("1024", "4096")
    (container,) = definition["containerDefinitions"]
    assert container["entryPoint"] == ["python", "-m", "orchestrator.runtime.runner"]
    assert container["environment"] == [{"name": "STORE_SALES_TARGET", "value": "redshift"}]


def test_a_fargate_container_without_memory_of_its_own_runs_sized_by_its_task() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend, ecs_backends

    moto_adapt.fargate_containers_sized_by_their_task()
    calculate = EC2ContainerServiceBackend._calculate_task_resource_requirements
    with mock_aws():
        ecs = boto3.client("ecs", region_name="us-east-1")
        cluster = ecs.create_cluster(clusterName="c")["cluster"]["clusterArn"]
        ecs.register_task_definition(
            family="runner", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="1024", memory="4096",
            containerDefinitions=[{"name": "dbt-runner", "image": "runner:1", "essential": True}],
        )  # fmt: skip
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # moto's ENI wants a DNS name
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        network: Any = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": []}}
        definition = ecs_backends["123456789012"]["us-east-1"].describe_task_definition("runner")
        with pytest.raises(TypeError, match="NoneType"):  # moto's own sum: still needed
            calculate.__wrapped__(definition)  # type: ignore[attr-defined]
        (task,) = ecs.run_task(
            cluster=cluster, taskDefinition="runner", launchType="FARGATE", networkConfiguration=network
        )["tasks"]
    assert task["lastStatus"] == "RUNNING" and task["taskDefinitionArn"].endswith(":task-definition/runner:1")
