"""What the CloudFormation stack would create, created in moto: the local mirror of infra/template.yaml.

The artifacts bucket, the alert topic, the runner Lambda function (its invocations are answered by a handler
in this process, `orchestrator.local.moto_adapt.register_lambda_handler`), an ECS cluster and task
definition when the command's windows can reach an ECS task, and the state machine rendered from the dbt
graph by `orchestrator.definition.state_machine.render` with their real (local) ARNs.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from orchestrator.definition.graph import Compute, DbtGraph
from orchestrator.definition.state_machine import RenderOptions, plan_for, render
from orchestrator.local import moto_adapt
from orchestrator.local.fargate import CLUSTER_NAME
from orchestrator.local.moto_server import ACCOUNT_ID, REGION
from orchestrator.window import RefreshWindow

ACCOUNT_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/store-sales-local"
FUNCTION_NAME = "store-sales-dbt-runner"
TASK_FAMILY = "store-sales-dbt"
CONTAINER_NAME = "dbt"
BUCKET_NAME = "store-sales-artifacts"
TOPIC_NAME = "store-sales-alerts"
STATE_MACHINE_NAME = "store-sales-pipeline"
CONTAINER_MEMORY_MB = 2048
# The local task definition uses bridge networking, so moto's ECS never looks these up: no VPC is
# created (moto's EC2 backend alone took 1.4 s of every local command's start).
LOCAL_SUBNET = "subnet-0local0000000000"
LOCAL_SECURITY_GROUP = "sg-0local0000000000"

LambdaHandler = Callable[[Mapping[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class LocalResources:
    state_machine_arn: str
    topic_arn: str
    definition: str
    with_ecs: bool


def may_use_ecs(graph: DbtGraph, render_options: RenderOptions, windows: tuple[RefreshWindow, ...]) -> bool:
    """Whether an execution of one of `windows` (any window when empty) can reach an ECS task."""
    if not windows:
        return True
    longest = max(window.days for window in windows)
    return any(
        task.compute is Compute.ECS or (task.compute is Compute.AUTO and longest > (task.lambda_max_days or 0))
        for task in plan_for(graph, render_options).tasks
    )


def deploy(
    client: Callable[[str], Any],
    graph: DbtGraph,
    project_name: str,
    render_options: RenderOptions,
    runner: LambdaHandler,
    with_ecs: bool,
) -> LocalResources:
    """Create the resources with `client` (a boto3 client factory of the moto server); `runner` answers
    the runner function's invocations; ECS only `with_ecs` (the definition names its ARNs anyway)."""
    client("s3").create_bucket(Bucket=BUCKET_NAME)
    topic_arn = client("sns").create_topic(Name=TOPIC_NAME)["TopicArn"]
    role_arn = client("iam").create_role(RoleName="store-sales-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("handler.py", "def handler(event, context):\n    return event\n")
    function_arn = client("lambda").create_function(
        FunctionName=FUNCTION_NAME,
        Runtime="python3.11",
        Role=role_arn,
        Handler="orchestrator.runtime.lambda_handler.handler",
        Code={"ZipFile": archive.getvalue()},
        Timeout=900,
    )["FunctionArn"]
    moto_adapt.register_lambda_handler(FUNCTION_NAME, runner)
    if with_ecs:
        ecs = client("ecs")
        cluster_arn = ecs.create_cluster(clusterName=CLUSTER_NAME)["cluster"]["clusterArn"]
        task_definition_arn = ecs.register_task_definition(
            family=TASK_FAMILY,
            networkMode="bridge",
            containerDefinitions=[
                {
                    "name": CONTAINER_NAME,
                    "image": "store-sales-dbt:local",
                    "essential": True,
                    "memory": CONTAINER_MEMORY_MB,
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]
    else:
        cluster_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:cluster/{CLUSTER_NAME}"
        task_definition_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task-definition/{TASK_FAMILY}:1"
    options = replace(
        render_options,
        lambda_function_arn=function_arn,
        ecs_cluster_arn=cluster_arn,
        ecs_task_definition_arn=task_definition_arn,
        ecs_container_name=CONTAINER_NAME,
        subnets=(LOCAL_SUBNET,),
        security_groups=(LOCAL_SECURITY_GROUP,),
        sns_topic_arn=topic_arn,
        artifacts_bucket=BUCKET_NAME,
        admission_seconds=0,  # a local run holds the data directory's lock: no overlapping launch can start
    )
    definition = render(graph, options, f"dbt project {project_name} (local)")
    state_machine_arn = client("stepfunctions").create_state_machine(
        name=STATE_MACHINE_NAME, definition=definition, roleArn=ACCOUNT_ROLE
    )["stateMachineArn"]
    return LocalResources(state_machine_arn, topic_arn, definition, with_ecs)


def unregister() -> None:
    """Stop answering the runner function's invocations."""
    moto_adapt.unregister_lambda_handler(FUNCTION_NAME)
