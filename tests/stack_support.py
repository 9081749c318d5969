"""The packaged CloudFormation stack as the deployment tests create it in moto: its parameters and the network it
is deployed into, the template packaged as `deploy` packages it, its outputs, its functions called as deployed
and its ECS tasks run as Fargate runs them (`Deployed`; the `stack` fixture is in tests/infra/conftest.py)."""

from __future__ import annotations

import contextlib
import importlib
import os
import runpy
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from iam_support import CallRecorder, Statement, deployed_policies
from infra_support import REGION, ROOT, dockerfile_env, load_template

from orchestrator.local import fargate
from orchestrator.protocol import ENV_TASK_TOKEN
from orchestrator.runtime.runner import LAMBDA_STOP_MARGIN_SECONDS

STACK = "store-sales"
PRODUCT_PREFIXES = ("STORE_SALES_", "DBT_")
RUNNER_HELD_SECONDS = 120.0
HARNESS = "test harness"  # the principal of the tests' own AWS calls (iam_support.CallRecorder), not evaluated
# what a runner invocation near its function's timeout has left: less than the runner's stop margin
NEAR_TIMEOUT_REMAINING_SECONDS = LAMBDA_STOP_MARGIN_SECONDS / 2
UNSUPPORTED_BY_MOTO = {
    "AWS::Lambda::EventInvokeConfig",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::Scheduler::Schedule",
}
# the stack's parameters but its network (`deployment_network`: ECS attaches a Fargate task to the first subnet,
# which must exist)
PARAMETERS = {
    "ImageRepositoryName": "store-sales",
    "ImageDigest": "sha256:" + "0" * 64,
    "RedshiftWorkgroupName": "analytics",
    "RedshiftWorkgroupId": "00000000-0000-0000-0000-000000000000",
    "RedshiftHost": "analytics.123456789012.us-east-1.redshift-serverless.amazonaws.com",
    "LandingS3Uri": "s3://landing-bucket/store-sales",
    "AlertEmail": "analytics@example.com",
}


def stack_policies() -> dict[str, list[Statement]]:
    """The policies of every principal of the test stack, as deployed (read back from moto's CloudFormation and IAM)."""
    return deployed_policies(
        boto3.client("cloudformation", region_name=REGION), boto3.client("iam", region_name=REGION), STACK
    )


def deployment_network() -> dict[str, str]:
    """The network an operator deploys the stack into, created in moto's EC2: a VPC with DNS hostnames (moto's ECS
    names a Fargate task's network interface by its DNS name), two subnets and a security group, as the stack's
    SubnetIds and SecurityGroupId parameters."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{index}.0/24")["Subnet"]["SubnetId"] for index in (1, 2)]
    group = ec2.create_security_group(GroupName="store-sales-runners", Description="the runners", VpcId=vpc)
    return {"SubnetIds": ",".join(subnets), "SecurityGroupId": group["GroupId"]}


def packaged_template(definition: Path, parameters: Mapping[str, str]) -> dict[str, Any]:
    """The template with the rendered definition in place of `DefinitionS3Location` (what `cloudformation
    package` uploads) and its `DefinitionSubstitutions` written as the references they stand for, in one
    `Fn::Sub` string (moto's `Fn::Sub` with a variable map runs string.Template, which turns the definition's
    `$$.Execution.Name` into `$.Execution.Name`)."""
    template = load_template()
    machine = template["Resources"]["StateMachine"]["Properties"]
    machine.pop("DefinitionS3Location")
    text = definition.read_text(encoding="utf-8")
    for name, value in machine.pop("DefinitionSubstitutions").items():
        text = text.replace(f"${{{name}}}", reference(value, parameters))
    machine["DefinitionString"] = {"Fn::Sub": text}
    return template


def reference(value: Any, parameters: Mapping[str, str]) -> str:
    """A substitution's value as `Fn::Sub` text: a literal, `${Resource.Attribute}` or `${Name}`."""
    if isinstance(value, str):
        return value
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    index, listed = value["Fn::Select"]  # a subnet: an item of a list parameter
    return parameters[listed["Ref"]].split(",")[int(index)]


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack["description"]["Outputs"]}


def local_warehouse(data_dir: Path) -> dict[str, str]:
    """THE ONE SUBSTITUTION in the stack's environments. The stack connects its runner and docs function to Redshift
    Serverless (STORE_SALES_TARGET=redshift, the workgroup's host): there is no Redshift here, so they connect to
    the image's `local` target instead, an embedded DuckDB file (STORE_SALES_DUCKDB) that reads the landing from
    a directory (STORE_SALES_DATA_DIR, the same files as in the stack's landing S3 folder). Every other variable
    is the stack's, read back from moto, plus the image's ENV."""
    return {
        "STORE_SALES_TARGET": "local",
        "STORE_SALES_DUCKDB": str(data_dir / "warehouse.duckdb"),
        "STORE_SALES_DATA_DIR": str(data_dir),
    }


def image_environment(parsed_dir: Path) -> dict[str, str]:
    """The image's ENV (infra/Dockerfile) for this checkout: /opt/store-sales is the repository, and the image's
    build-time parse (its target/) is the session's parse of the same project."""
    return {**dockerfile_env(ROOT), "STORE_SALES_PARSED_DIR": str(parsed_dir)}


@contextlib.contextmanager
def applied(environment: Mapping[str, str]) -> Iterator[None]:
    """The process environment as a deployed function sees it, for the duration: `environment` set, and every
    other variable the product reads (STORE_SALES_*, DBT_*) unset; everything restored on the way out."""
    saved = dict(os.environ)
    for name in [name for name in os.environ if name.startswith(PRODUCT_PREFIXES)]:
        del os.environ[name]
    os.environ.update(environment)
    try:
        yield
    finally:
        for name in [name for name in os.environ if name not in saved]:
            del os.environ[name]
        os.environ.update(saved)


@dataclass
class LambdaContext:
    """What the Lambda runtime passes as `context` (the part the handlers read)."""

    function_name: str
    timeout_seconds: int
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000)


@dataclass(frozen=True)
class ContainerRun:
    """One ECS task's essential container, run as Fargate runs it: its command, environment and exit code."""

    task_arn: str
    command: list[str]
    environment: dict[str, str]
    exit_code: int


@dataclass(frozen=True)
class Invocation:
    """One call of a deployed function: its event and what it returned or raised."""

    function: str
    event: dict[str, Any]
    result: Any = None
    error: str | None = None


def run_python_module(command: Sequence[str]) -> int:
    """A container's `python -m <module>` run in this process: the module executed as `__main__` (in a namespace
    of its own, as in a new interpreter), its SystemExit the exit code."""
    match list(command):
        case ["python", "-m", module]:
            with warnings.catch_warnings():
                # the module is imported already (the Lambda handler imports it); a container's interpreter has not
                warnings.filterwarnings("ignore", message=".*found in sys.modules", category=RuntimeWarning)
                try:
                    runpy.run_module(module, run_name="__main__")
                except SystemExit as stopped:  # as the interpreter exits: None 0, a number itself, anything else 1
                    return stopped.code if isinstance(stopped.code, int) else 0 if stopped.code is None else 1
            return 0
        case _:
            raise ValueError(f"not a `python -m <module>` command: {command}")


def handler_named(dotted: str) -> Callable[[Mapping[str, Any], Any], Any]:
    """The handler a Lambda image's Command names (`package.module.function`), imported as the runtime does."""
    module, attribute = dotted.rsplit(".", 1)
    handler: Callable[[Mapping[str, Any], Any], Any] = getattr(importlib.import_module(module), attribute)
    return handler


class Deployed:
    """The stack's Lambda functions as deployed: each one's handler (its ImageConfig.Command) and environment
    (Environment.Variables), read back from moto, called as Lambda calls it: the image's ENV, the function's
    variables and the runtime's own (AWS_REGION, AWS_DEFAULT_REGION, AWS_LAMBDA_FUNCTION_NAME) applied to the
    process for the call, with the warehouse connection replaced (`local_warehouse`), its AWS calls recorded
    (while `recorder` is installed) as its role's, the logical id its Role names. The stack's ECS tasks are run
    likewise, as Fargate runs them (`run_task_container`). One call at a time: the environment is the
    process's, and the state machine's Parallel branches invoke the runner from the interpreter's threads."""

    def __init__(self, template: dict[str, Any], image: Mapping[str, str], warehouse: Mapping[str, str]) -> None:
        self.template = template
        self.recorder = CallRecorder(
            workgroup_ids={PARAMETERS["RedshiftWorkgroupName"]: PARAMETERS["RedshiftWorkgroupId"]}
        )
        self.image = dict(image)
        self.warehouse = dict(warehouse)
        self.invocations: list[Invocation] = []
        # the runner tasks whose invocations start near the function's timeout (`NEAR_TIMEOUT_REMAINING_SECONDS`)
        self.near_timeout: set[str] = set()
        self.runner_open = threading.Event()  # cleared: the runner's invocations wait (a day still RUNNING)
        self.runner_open.set()
        self._lock = threading.Lock()

    def logical_id(self, physical_id: str) -> str:
        """The logical id of the stack's resource `physical_id` (a function's or a role's name)."""
        summaries = boto3.client("cloudformation", region_name=REGION).list_stack_resources(StackName=STACK)
        logical: str = next(
            summary["LogicalResourceId"]
            for summary in summaries["StackResourceSummaries"]
            if summary["PhysicalResourceId"] == physical_id
        )
        return logical

    def resource(self, function_name: str) -> dict[str, Any]:
        """The function's resource in the template the stack was created from (moto's GetTemplate answers a
        Python repr, not the template)."""
        resource: dict[str, Any] = self.template["Resources"][self.logical_id(function_name)]
        return resource

    def environment(self, function_name: str) -> dict[str, str]:
        """What the function's process sees: the image's ENV, the function's variables (moto's CloudFormation
        keeps a number parameter's value a number: Lambda holds text), the runtime's own, and the warehouse
        substitution."""
        configuration = boto3.client("lambda", region_name=REGION).get_function_configuration(
            FunctionName=function_name
        )
        variables = {name: str(value) for name, value in configuration["Environment"]["Variables"].items()}
        runtime = {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION, "AWS_LAMBDA_FUNCTION_NAME": function_name}
        return {**self.image, **variables, **runtime, **self.warehouse}

    def invoke(self, function_name: str, event: dict[str, Any], remaining_seconds: float | None = None) -> Any:
        """Call the handler the function's ImageConfig.Command names (moto keeps no ImageConfig of a function its
        CloudFormation creates: read from the stack's template) with the function's environment and timeout;
        `remaining_seconds`: the time the context reports left when the handler starts (None: all of Timeout)."""
        with self.recorder.acting_as(HARNESS):  # the Lambda service reads the function, not the function's role
            properties = self.resource(function_name)["Properties"]
            environment = self.environment(function_name)
            configuration = boto3.client("lambda", region_name=REGION).get_function_configuration(
                FunctionName=function_name
            )
        (command,) = properties["ImageConfig"]["Command"]
        handler = handler_named(command)
        role = properties["Role"]["Fn::GetAtt"][0]
        timeout = int(configuration["Timeout"])
        spent = 0.0 if remaining_seconds is None else timeout - remaining_seconds
        with self._lock, applied(environment), self.recorder.acting_as(role):
            try:
                result = handler(event, LambdaContext(function_name, timeout, started=time.monotonic() - spent))
            except Exception as error:
                self.invocations.append(Invocation(function_name, event, error=f"{type(error).__name__}: {error}"))
                raise
        self.invocations.append(Invocation(function_name, event, result=result))
        return result

    @contextlib.contextmanager
    def idle(self) -> Iterator[None]:
        """No function runs meanwhile (a reader of the warehouse file takes its turn, as DuckDB wants)."""
        with self._lock:
            yield

    def invoke_runner(self, event: Mapping[str, Any], context: Any) -> Any:
        """moto_adapt's route of the state machine's invocations of the runner function."""
        if not self.runner_open.wait(RUNNER_HELD_SECONDS):
            raise TimeoutError(f"the test held the runner for more than {RUNNER_HELD_SECONDS} s")
        near_timeout = event.get("task") in self.near_timeout
        return self.invoke(f"{STACK}-runner", dict(event), NEAR_TIMEOUT_REMAINING_SECONDS if near_timeout else None)

    def run_task_container(self, cluster: str, task_arn: str, state_machine_arn: str) -> ContainerRun:
        """Run the essential container of a task moto's ECS started, as Fargate runs it: the command its task
        definition's EntryPoint names (`python -m <module>`, `run_python_module`), under the image's ENV, the
        container's Environment (read back from moto), the task's container overrides and the region variables
        Fargate sets, with the warehouse connection replaced (`local_warehouse`); its AWS calls recorded as its
        task role's (the logical id of the definition's TaskRoleArn), the task token it reports with mapped to
        `state_machine_arn` (IAM authorizes SendTask* on the state machine that issued it). The task is then
        stopped as ECS stops it when its essential container exits."""
        ecs = boto3.client("ecs", region_name=REGION)
        with self.recorder.acting_as(HARNESS):  # ECS reads the task and its definition, not the task's role
            (task,) = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
            definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
            role = self.logical_id(definition["taskRoleArn"].rsplit("/", 1)[-1])
        (override,) = task["overrides"]["containerOverrides"]
        (container,) = [c for c in definition["containerDefinitions"] if c["name"] == override["name"]]
        variables = {item["name"]: str(item["value"]) for item in container.get("environment", [])}
        overrides = fargate.override_environment(task)
        environment = {
            **self.image,
            **variables,
            **overrides,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            **self.warehouse,
        }
        command = [*container["entryPoint"], *container.get("command", [])]
        self.recorder.task_tokens[overrides[ENV_TASK_TOKEN]] = state_machine_arn
        with self._lock, applied(environment), self.recorder.acting_as(role):
            code = run_python_module(command)
        with self.recorder.acting_as(HARNESS):
            fargate.stop_exited(ecs, cluster, task_arn, code)
        return ContainerRun(task_arn, command, environment, code)
