"""The packaged CloudFormation stack, deployed into moto's CloudFormation, every entry point called as AWS calls it.

`infra/template.yaml` is packaged as `deploy` packages it (the definition rendered from the dbt graph; its
`DefinitionSubstitutions` applied, which moto's StateMachine resource does not read, so the test applies them
with `Fn::Sub`, as CloudFormation does) and created as a stack (tests/infra/conftest.py) in a VPC of its own
(`stack_support.deployment_network`). Its functions are called as deployed (`stack_support.Deployed`): the handler
the template's `ImageConfig.Command` names, under the image's ENV plus the function's `Environment.Variables`
read back from moto. Its ECS task is run as Fargate runs it (`Deployed.run_task_container`): the task moto's ECS
started for the state machine, its container's `EntryPoint` (`python -m orchestrator.runtime.runner`, run in
this process as `__main__`) under the image's ENV, the container's `Environment` read back from moto's task
definition and the task's container overrides; the task is stopped when the container exits. The one
substitution is the warehouse: there is no Redshift here, so the runner function, the ECS container and the docs
function connect to the image's `local` DuckDB target (`stack_support.local_warehouse`); everything else is the
stack's, the landing included: its files are in moto's S3 under the stack's `LandingS3Uri`, as well as in the
directory DuckDB reads.

One scenario runs once for the module (`scenario`), in the order of a real week:
- day FIRST lands in S3, one extract's `_SUCCESS` after another; each marker's EventBridge "Object Created"
  event (the shape S3 sends, matched against the stack's LandingArrivalRule) goes to the trigger function, and
  the third starts the day's one execution of the stack's state machine, whose runner invocations (the tasks,
  then record run) go to the deployed runner handler; the fact's invocation reports less time left than the
  runner's stop margin (as near the function's 900 s timeout), so the runner stops with DbtTaskTimedOut and the
  definition's Catch runs the task on ECS Fargate, whose container reports through the task token; the day's
  marts then equal a clean `dbt build` of the same window;
- day SECOND's store_sales extract never lands; the 07:00 schedule's input (DailySchedule's) starts the day,
  which fails in the landing gate (describe failure, the state machine's alert, record run FAILED);
- the deadline schedule's input (DeadlineSchedule's) for a published day (FIRST), a RUNNING one (SECOND while
  the test holds its runner), a FAILED one (SECOND) and one never started (THIRD), its alerts read through an
  SQS queue subscribed to the stack's AlertTopic; the at-risk schedule's (AtRiskSchedule's) at 08:00 and 08:30
  for SECOND, alerting once;
- the docs function publishes the site to the stack's ArtifactsBucket.
Every AWS call of those functions and of the ECS container (under the role the template gives each) and of the
state machine's tasks (ecs:RunTask and iam:PassRole included) is then evaluated against the deployed policies
(tests/iam_support.py). The CLI then runs SECOND once its extract has landed, from the stack's outputs. The other
way to ECS, a window of more than 31 days, is not taken: the landing holds two days (the definition's Choice on
the window's length is checked in tests/definition/).

Resource types moto's CloudFormation does not create (`UNSUPPORTED_BY_MOTO`) are checked by other means: cfn-lint
and checkov (tests/infra/test_template.py) validate their properties; the schedules' inputs are read from the
template here.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from engine_support import run_dbt, wait_for_execution
from faults_support import FIRST, MART_TABLES, SECOND, extract_file
from iam_support import (
    OPERATOR,
    ApiCall,
    documented_grants,
    documented_unused,
    evaluate,
    grant_rows,
    markdown_table,
    state_machine_calls,
    with_state_machine_calls,
)
from infra_support import ACCOUNT, INFRA_README, REGION, ROOT
from stack_support import (
    HARNESS,
    PARAMETERS,
    STACK,
    UNSUPPORTED_BY_MOTO,
    ContainerRun,
    Deployed,
    Invocation,
    local_warehouse,
    outputs,
    stack_policies,
)

from bench.warehouse import compare
from orchestrator import cli
from orchestrator.cli import deploy
from orchestrator.errors import ExitCode
from orchestrator.landing.contract import EXTRACTS
from orchestrator.landing.gate import MARKER_FILE
from orchestrator.protocol import ENV_EXECUTION, ENV_TASK, ENV_TASK_TOKEN, ExecutionRequest
from orchestrator.window import RefreshWindow

pytestmark = pytest.mark.slow

THIRD = SECOND + timedelta(days=1)  # nothing lands for it
LANDING_BUCKET, LANDING_PREFIX = PARAMETERS["LandingS3Uri"].removeprefix("s3://").split("/", 1)
EXECUTION_SECONDS = 180.0
LATE_TASK = "store_sales"  # its Lambda invocation on day FIRST starts near the function's timeout


@dataclass(frozen=True)
class Arrival:
    """One `_SUCCESS` marker put into the landing bucket, its event, and what the trigger did with it."""

    key: str
    event: dict[str, Any]
    matches_rule: bool
    said: str
    executions: list[str]


@dataclass(frozen=True)
class Alert:
    subject: str
    message: str


@dataclass
class Scenario:
    calls: list[ApiCall]  # the deployed code's and the state machine's AWS calls, by principal
    deployed: Deployed
    machine: str
    arrivals: list[Arrival]
    first: dict[str, Any]
    first_events: list[dict[str, Any]]
    cluster: str
    container: ContainerRun
    ecs_task: dict[str, Any]
    comparison: str
    compared_rows: dict[str, int]  # the rows of each table compared
    comparison_equal: bool
    daily_input: dict[str, Any]
    daily_result: dict[str, Any]
    second: dict[str, Any]
    deadlines: dict[str, dict[str, Any]]
    checkpoints: dict[str, dict[str, Any]]
    alerts: dict[str, list[Alert]]
    docs_result: dict[str, Any]
    docs_objects: dict[str, bytes]
    ledger: list[tuple[Any, ...]]

    def runner_calls(self, execution: dict[str, Any]) -> list[Invocation]:
        """The runner's invocations of one execution, in order."""
        name = execution["name"]
        return [
            call
            for call in self.deployed.invocations
            if call.function == f"{STACK}-runner" and execution_of(call.event) == name
        ]


def execution_of(event: dict[str, Any]) -> str:
    """The execution a runner payload belongs to: a task's `execution`, or record run's / describe failure's."""
    for key in ("record_run", "describe_failure"):
        if key in event:
            return str(event[key]["execution"])
    return str(event.get("execution"))


def object_created(bucket: str, key: str, size: int, etag: str) -> dict[str, Any]:
    """The event S3 sends to EventBridge for a PutObject (AWS S3 user guide, "EventBridge message structure")."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag.strip('"'), "sequencer": f"{time.time_ns():X}"},
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": ACCOUNT,
            "reason": "PutObject",
        },
    }


def entry_of(event: dict[str, Any]) -> dict[str, Any]:
    """The PutEvents entry of an event (EventBridge adds version, id, account and region itself)."""
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event["resources"],
        "EventBusName": "arrival-probe",
    }


def schedule_input(template: dict[str, Any], schedule: str, scheduled_time: str) -> dict[str, Any]:
    """A Scheduler schedule's Target Input as Scheduler sends it: its `Fn::Sub` of the stack's parameters resolved
    (as CloudFormation does), `<aws.scheduler.scheduled-time>` replaced."""
    text = template["Resources"][schedule]["Properties"]["Target"]["Input"]
    if isinstance(text, dict):
        values = {name: str(PARAMETERS.get(name, spec.get("Default"))) for name, spec in template["Parameters"].items()}
        text = re.sub(r"\$\{(\w+)\}", lambda match: values[match.group(1)], text["Fn::Sub"])
    replaced: dict[str, Any] = json.loads(text.replace("<aws.scheduler.scheduled-time>", scheduled_time))
    return replaced


def history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    return [event for page in pages for event in page["events"]]


def wait_for_ecs_task(ecs: Any, sfn: Any, cluster: str, arn: str) -> str:
    """The task the execution started on the stack's cluster (its state waits for the container's callback)."""
    deadline = time.monotonic() + EXECUTION_SECONDS
    while time.monotonic() < deadline:
        tasks: list[str] = ecs.list_tasks(cluster=cluster, desiredStatus="RUNNING")["taskArns"]
        if tasks:
            (task,) = tasks
            return task
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            raise AssertionError(f"{arn} ended without starting an ECS task")
        time.sleep(0.2)
    raise AssertionError(f"{arn} started no ECS task in {EXECUTION_SECONDS} s")


def wait_for_runner_invoked(sfn: Any, arn: str) -> None:
    """Until the execution has invoked the runner (the test holds the invocation)."""
    deadline = time.monotonic() + EXECUTION_SECONDS
    while time.monotonic() < deadline:
        events = sfn.get_execution_history(executionArn=arn)["events"]
        if any(event["type"] == "TaskScheduled" for event in events):
            return
        time.sleep(0.1)
    raise AssertionError(f"{arn} never invoked the runner")


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message delivered to the queue since the last call, in order, its body parsed."""
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def read_alerts(sqs: Any, queue_url: str) -> list[Alert]:
    """The alerts published to the alert topic since the last call (SNS's envelope in the queue)."""
    return [Alert(body.get("Subject") or "", body["Message"]) for body in drain(sqs, queue_url)]


def landing_key(path: Path, data: Path) -> str:
    return f"{LANDING_PREFIX}/{path.relative_to(data).as_posix()}"


def scheduler_calls(template: dict[str, Any], schedules: tuple[str, ...]) -> list[ApiCall]:
    """EventBridge Scheduler's own calls for the schedules whose inputs the scenario sent: each invokes its Target
    (the function its Arn names) with its Target's RoleArn, as the template wires them (moto creates no schedule)."""
    resources = boto3.client("cloudformation", region_name=REGION).list_stack_resources(StackName=STACK)
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources["StackResourceSummaries"]}
    calls = []
    for schedule in schedules:
        target = template["Resources"][schedule]["Properties"]["Target"]
        function = boto3.client("lambda", region_name=REGION).get_function_configuration(
            FunctionName=physical[target["Arn"]["Fn::GetAtt"][0]]
        )
        calls.append(ApiCall(target["RoleArn"]["Fn::GetAtt"][0], "lambda:InvokeFunction", function["FunctionArn"]))
    return calls


@pytest.fixture(scope="module")
def scenario(stack: dict[str, Any]) -> Scenario:
    """The module's scenario (see the module docstring), every AWS call of the deployed code recorded under its
    role (tests/iam_support.py); the test's own calls (landing files, queues, reads) act as HARNESS."""
    recorder = stack["deployed"].recorder
    recorder.install()
    try:
        with recorder.acting_as(HARNESS):
            return run_scenario(stack)
    finally:
        recorder.uninstall()


def run_scenario(stack: dict[str, Any]) -> Scenario:
    deployed: Deployed = stack["deployed"]
    data: Path = stack["data"]
    root: Path = stack["root"]
    machine = outputs(stack)["StateMachineArn"]
    s3, sfn, sqs, sns, events, ecs = (
        boto3.client(name, region_name=REGION) for name in ("s3", "stepfunctions", "sqs", "sns", "events", "ecs")
    )
    trigger, docs = f"{STACK}-trigger", f"{STACK}-docs"
    resources = boto3.client("cloudformation", region_name=REGION).list_stack_resources(StackName=STACK)
    (stack_cluster,) = (
        r["PhysicalResourceId"] for r in resources["StackResourceSummaries"] if r["LogicalResourceId"] == "EcsCluster"
    )
    (cluster,) = (c["clusterArn"] for c in ecs.describe_clusters(clusters=[stack_cluster])["clusters"])

    queue_url = sqs.create_queue(QueueName="alert-reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=outputs(stack)["AlertTopicArn"], Protocol="sqs", Endpoint=queue_arn)
    # the stack's LandingArrivalRule pattern (as moto's CloudFormation resolved it) on a probe rule of its own bus
    # whose target is a queue: moto implements no TestEventPattern, and runs no Lambda target without Docker
    (rule,) = events.list_rules(NamePrefix=f"{STACK}-LandingArrivalRule")["Rules"]
    probe_url = sqs.create_queue(QueueName="arrival-probe")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.create_event_bus(Name="arrival-probe")
    events.put_rule(Name="probe", EventBusName="arrival-probe", EventPattern=rule["EventPattern"], State="ENABLED")
    events.put_targets(Rule="probe", EventBusName="arrival-probe", Targets=[{"Id": "probe", "Arn": probe_arn}])

    # SECOND's store_sales never lands; everything else but FIRST's markers is in the landing bucket already
    shutil.move(extract_file(data, "store_sales", SECOND).parent, root / "withheld-store_sales")
    s3.create_bucket(Bucket=LANDING_BUCKET)
    first_markers = [extract_file(data, extract, FIRST).parent / MARKER_FILE for extract in EXTRACTS]
    for path in sorted(p for p in data.rglob("*") if p.is_file() and p.suffix != ".duckdb"):
        if path not in first_markers:
            s3.upload_file(str(path), LANDING_BUCKET, landing_key(path, data))

    deployed.near_timeout.add(LATE_TASK)
    arrivals = []
    for marker in first_markers:
        key = landing_key(marker, data)
        put = s3.put_object(Bucket=LANDING_BUCKET, Key=key, Body=marker.read_bytes())
        event = object_created(LANDING_BUCKET, key, marker.stat().st_size, put["ETag"])
        events.put_events(Entries=[entry_of(event)])
        matches = [delivered["detail"] for delivered in drain(sqs, probe_url)] == [event["detail"]]
        said = deployed.invoke(trigger, event)["result"]
        names = [e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]]
        arrivals.append(Arrival(key, event, matches, said, names))
    (started,) = sfn.list_executions(stateMachineArn=machine)["executions"]
    # the late task's Lambda stops at its deadline and the definition runs it on ECS: act as Fargate
    task_arn = wait_for_ecs_task(ecs, sfn, cluster, started["executionArn"])
    container = deployed.run_task_container(cluster, task_arn, machine)
    (ecs_task,) = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
    first = wait_for_execution(sfn, started["executionArn"])
    deployed.near_timeout.clear()

    clean = root / "clean"
    run_dbt(ROOT, clean / "target", "build", duckdb=clean / "warehouse.duckdb",
            env={"STORE_SALES_DATA_DIR": str(data), **RefreshWindow.day(FIRST).as_env()})  # fmt: skip
    with deployed.idle():
        result = compare(data / "warehouse.duckdb", clean / "warehouse.duckdb", names=("stack", "clean dbt build"))
    deadlines = {"published": deployed.invoke(trigger, schedule_input(stack["template"], "DeadlineSchedule",
                                                                        f"{SECOND}T09:00:00Z"))}  # fmt: skip
    alerts = {"published": read_alerts(sqs, queue_url)}

    deployed.runner_open.clear()
    daily_input = schedule_input(stack["template"], "DailySchedule", f"{THIRD}T07:00:00Z")
    daily_result = deployed.invoke(trigger, daily_input)
    wait_for_runner_invoked(sfn, daily_result["execution_arn"])
    late_second = schedule_input(stack["template"], "DeadlineSchedule", f"{THIRD}T09:00:00Z")
    deadlines["running"] = deployed.invoke(trigger, late_second)
    alerts["running"] = read_alerts(sqs, queue_url)
    deployed.runner_open.set()
    second = wait_for_execution(sfn, daily_result["execution_arn"])
    alerts["second"] = read_alerts(sqs, queue_url)
    deadlines["failed"] = deployed.invoke(trigger, late_second)
    alerts["failed"] = read_alerts(sqs, queue_url)
    checkpoints = {
        at: deployed.invoke(trigger, schedule_input(stack["template"], "AtRiskSchedule", f"{THIRD}T{at}:00Z"))
        for at in ("08:00", "08:30")
    }
    alerts["at risk"] = read_alerts(sqs, queue_url)
    late_third = schedule_input(stack["template"], "DeadlineSchedule", f"{THIRD + timedelta(days=1)}T09:00:00Z")
    deadlines["never started"] = deployed.invoke(trigger, late_third)
    alerts["never started"] = read_alerts(sqs, queue_url)

    with deployed.idle(), duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
        ledger = connection.execute(
            "select execution_name, status, window_start, window_end from main.pipeline_runs order by window_start"
        ).fetchall()
    docs_result = deployed.invoke(docs, {})
    bucket = outputs(stack)["ArtifactsUri"].removeprefix("s3://").split("/", 1)[0]
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="docs/").get("Contents", [])
    docs_objects = {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}
    machine_calls = [
        call for execution in (first, second) for call in state_machine_calls(sfn, execution["executionArn"])
    ]
    recorded = [call for call in deployed.recorder.calls if call.principal != HARNESS]
    scheduled = scheduler_calls(stack["template"], ("DailySchedule", "DeadlineSchedule", "AtRiskSchedule"))
    return Scenario(
        calls=with_state_machine_calls(recorded, machine_calls) + scheduled,
        deployed=deployed,
        machine=machine,
        arrivals=arrivals,
        first=first,
        first_events=history(sfn, first["executionArn"]),
        cluster=cluster,
        container=container,
        ecs_task=ecs_task,
        comparison=result.details(),
        compared_rows={table.table: table.rows for table in result.tables},
        comparison_equal=result.equal,
        daily_input=daily_input,
        daily_result=daily_result,
        second=second,
        deadlines=deadlines,
        checkpoints=checkpoints,
        alerts=alerts,
        docs_result=docs_result,
        docs_objects=docs_objects,
        ledger=ledger,
    )


def test_the_packaged_template_deploys_and_every_supported_resource_is_created(stack: dict[str, Any]) -> None:
    assert stack["description"]["StackStatus"] == "CREATE_COMPLETE"
    types = {resource["Type"] for resource in stack["template"]["Resources"].values()}
    assert types >= UNSUPPORTED_BY_MOTO
    skipped = {kind for kind in types if any(f"parse {kind} but" in message for message in stack["skipped"])}
    assert skipped == UNSUPPORTED_BY_MOTO  # every other type is created by moto
    resources = boto3.client("cloudformation", region_name=REGION).list_stack_resources(StackName=STACK)
    created = {
        r["ResourceType"] for r in resources["StackResourceSummaries"] if r["ResourceStatus"] == "CREATE_COMPLETE"
    }
    assert types - UNSUPPORTED_BY_MOTO <= created
    machine = boto3.client("stepfunctions", region_name=REGION).describe_state_machine(
        stateMachineArn=outputs(stack)["StateMachineArn"]
    )
    assert "${" not in machine["definition"]  # every substitution resolved to the stack's own resources
    assert f"function:{STACK}-runner" in machine["definition"]
    assert machine["roleArn"].split("/")[-1].startswith(f"{STACK}-StateMachineRole")


def test_the_deployed_functions_run_with_the_stack_s_environment_and_only_the_warehouse_substituted(
    stack: dict[str, Any],
) -> None:
    deployed: Deployed = stack["deployed"]
    runner = deployed.environment(f"{STACK}-runner")
    assert runner["STORE_SALES_LANDING_S3_URI"] == PARAMETERS["LandingS3Uri"]
    assert runner["STORE_SALES_REDSHIFT_WORKGROUP"] == PARAMETERS["RedshiftWorkgroupName"]
    assert runner["STORE_SALES_TARGET"] == "local"  # the substitution: the stack says redshift
    trigger = deployed.environment(f"{STACK}-trigger")
    assert trigger["STORE_SALES_STATE_MACHINE_ARN"] == outputs(stack)["StateMachineArn"]
    assert trigger["STORE_SALES_ALERT_TOPIC_ARN"] == outputs(stack)["AlertTopicArn"]
    artifacts_bucket = outputs(stack)["ArtifactsUri"].removeprefix("s3://").split("/")[0]
    assert trigger["STORE_SALES_ALERTS_URI"] == f"s3://{artifacts_bucket}/alerts"
    docs = deployed.environment(f"{STACK}-docs")
    assert docs["STORE_SALES_DOCS_BUCKET"] == outputs(stack)["DocsUri"].removeprefix("s3://").split("/")[0]


def test_three_markers_of_a_day_start_exactly_one_execution_with_the_day_s_input(scenario: Scenario) -> None:
    assert all(arrival.matches_rule for arrival in scenario.arrivals)  # the stack's LandingArrivalRule passes them
    assert [arrival.said for arrival in scenario.arrivals] == [
        f"customer_address {FIRST} landed; waiting for item, store_sales",
        f"item {FIRST} landed; waiting for store_sales",
        f"store_sales {FIRST} landed, the last of the day: started store-sales-{FIRST}-r1",
    ]
    assert [arrival.executions for arrival in scenario.arrivals] == [[], [], [f"store-sales-{FIRST}-r1"]]
    assert json.loads(scenario.first["input"]) == json.loads(ExecutionRequest(RefreshWindow.day(FIRST)).to_input())
    assert scenario.first["status"] == "SUCCEEDED", scenario.first


def test_the_runner_builds_every_task_of_a_good_day_and_records_its_run(scenario: Scenario) -> None:
    """Every task on Lambda but the late one, which stops at its deadline (and runs on ECS, tested below)."""
    calls = scenario.runner_calls(scenario.first)
    tasks = [call.event["task"] for call in calls if "task" in call.event]
    assert sorted(tasks[:2]) == ["customer_address", "item"] and tasks[2:] == [LATE_TASK, "reports"]
    late = calls[2]
    assert late.error is not None and late.error.startswith(f"DbtTaskTimedOut: task {LATE_TASK} ({FIRST}")
    assert "the Lambda's time was up before dbt started (nothing was loaded)" in late.error
    built = [call for call in calls[:-1] if call is not late]
    assert all(call.error is None for call in built), [call.error for call in built]
    for call in built:
        assert call.result["status"] == "success" and call.result["refresh_window"] == {
            "start": FIRST.isoformat(), "end": FIRST.isoformat()
        }  # fmt: skip
        assert {model["name"] for model in call.result["models"]} == set(call.event["models"])
    assert "record_run" in calls[-1].event
    assert calls[-1].result == {"recorded": f"store-sales-{FIRST}-r1", "status": "SUCCEEDED"}
    assert (f"store-sales-{FIRST}-r1", "SUCCEEDED", FIRST, FIRST) in scenario.ledger


def test_a_task_stopped_at_the_lambda_deadline_runs_again_on_ecs_fargate_as_aws_runs_it(
    stack: dict[str, Any], scenario: Scenario
) -> None:
    """The late task's Lambda reported less time left than the runner's stop margin (as near the function's
    timeout): the runner stopped with DbtTaskTimedOut, the definition's Catch ran the task on ECS, the container
    ran the task definition's command under its environment and the task's overrides, and its summary came back
    through SendTaskSuccess."""
    events = scenario.first_events
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
    on_lambda, on_ecs = f"Build {LATE_TASK} on Lambda", f"Build {LATE_TASK} on ECS"
    assert entered[entered.index(on_lambda) + 1] == on_ecs
    failed = [e["taskFailedEventDetails"] for e in events if e["type"] == "TaskFailed"]
    assert [(f["resourceType"], f["error"]) for f in failed] == [("lambda", "DbtTaskTimedOut")]
    (scheduled,) = [
        e["taskScheduledEventDetails"]
        for e in events
        if e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "ecs"
    ]
    assert scheduled["resource"] == "runTask.waitForTaskToken"
    parameters = json.loads(scheduled["parameters"])
    assert parameters["Cluster"] == scenario.cluster and parameters["LaunchType"] == "FARGATE"
    definition_arn = parameters["TaskDefinition"]
    assert definition_arn.startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{STACK}-runner:")
    network = parameters["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["Subnets"] == stack["parameters"]["SubnetIds"].split(",")
    assert network["SecurityGroups"] == [stack["parameters"]["SecurityGroupId"]]
    (sent,) = parameters["Overrides"]["ContainerOverrides"]
    request = {item["Name"]: item["Value"] for item in sent["Environment"]}
    assert request[ENV_TASK] == LATE_TASK and request[ENV_EXECUTION] == f"store-sales-{FIRST}-r1"
    assert request["STORE_SALES_WINDOW_START"] == request["STORE_SALES_WINDOW_END"] == FIRST.isoformat()
    assert request[ENV_TASK_TOKEN]

    task = scenario.ecs_task  # moto's ECS task: what the definition started, stopped when its container exited
    assert task["taskDefinitionArn"] == definition_arn and task["launchType"] == "FARGATE"
    assert task["overrides"]["containerOverrides"] == [
        {"name": sent["Name"], "environment": [{"name": i["Name"], "value": i["Value"]} for i in sent["Environment"]]}
    ]
    assert task["lastStatus"] == "STOPPED" and task["stoppedReason"] == "Essential container exited with code 0"
    container = scenario.container
    assert container.command == ["python", "-m", "orchestrator.runtime.runner"] and container.exit_code == 0
    environment = container.environment
    assert {name: environment[name] for name in request} == request  # the overrides, as sent
    assert environment["STORE_SALES_LANDING_S3_URI"] == PARAMETERS["LandingS3Uri"]  # the task definition's
    assert environment["STORE_SALES_MEMORY_MB"] == "2048"
    assert environment["STORE_SALES_TARGET"] == "local"  # the substitution: the task definition says redshift

    (succeeded,) = [e["taskSucceededEventDetails"] for e in events if e["type"] == "TaskSucceeded"
                    and e["taskSucceededEventDetails"]["resourceType"] == "ecs"]  # fmt: skip
    summary = json.loads(succeeded["output"])  # what the container sent with SendTaskSuccess
    assert summary["task"] == LATE_TASK and summary["status"] == "success"
    assert summary["refresh_window"] == {"start": FIRST.isoformat(), "end": FIRST.isoformat()}
    late = next(call for call in scenario.runner_calls(scenario.first) if call.event.get("task") == LATE_TASK)
    assert {model["name"] for model in summary["models"]} == set(late.event["models"])
    artifacts = outputs(stack)["ArtifactsUri"].removeprefix("s3://").split("/", 1)[0]
    assert summary["artifacts"] == f"s3://{artifacts}/dbt-artifacts/store-sales-{FIRST}-r1/{LATE_TASK}/"


def test_the_stack_s_day_equals_a_clean_dbt_build_of_the_same_window_row_by_row(scenario: Scenario) -> None:
    """Every mart and report table, every column (none differs legitimately: they hold no load time or
    invocation id; the run's identity is in pipeline_runs, the ledger, checked above); the fact was loaded by
    the ECS container."""
    assert scenario.comparison_equal, scenario.comparison
    assert set(scenario.compared_rows) == set(MART_TABLES)
    assert all(rows > 0 for rows in scenario.compared_rows.values()), scenario.compared_rows  # not two empty ones


def test_the_07_00_schedule_starts_a_day_whose_extract_is_missing_and_the_runner_records_the_failure(
    scenario: Scenario,
) -> None:
    name = f"store-sales-{SECOND}-r1"
    assert scenario.daily_input == {"scheduled_time": f"{THIRD}T07:00:00Z"}
    assert scenario.daily_result["name"] == name
    assert json.loads(scenario.second["input"]) == json.loads(ExecutionRequest(RefreshWindow.day(SECOND)).to_input())
    assert scenario.second["status"] == "FAILED" and scenario.second["error"] == "LandingIncomplete"
    calls = {call.event.get("task") or next(iter(call.event)): call for call in scenario.runner_calls(scenario.second)}
    assert sorted(list(calls)[:2]) == ["customer_address", "item"]
    assert list(calls)[2:] == ["store_sales", "describe_failure", "record_run"]
    assert calls["customer_address"].result["status"] == calls["item"].result["status"] == "success"
    assert calls["store_sales"].error is not None and calls["store_sales"].error.startswith("LandingIncomplete: ")
    assert "store_sales" in calls["store_sales"].error and str(SECOND) in calls["store_sales"].error
    line = calls["describe_failure"].result["line"]
    assert line.startswith("task store_sales ") and "store_sales" in line
    assert calls["record_run"].event["record_run"]["error"]["Error"] == "LandingIncomplete"
    assert calls["record_run"].result == {"recorded": name, "status": "FAILED"}
    assert (name, "FAILED", SECOND, SECOND) in scenario.ledger
    (alert,) = scenario.alerts["second"]  # the state machine's own alert of the failure
    assert name in alert.message and "LandingIncomplete" in alert.subject + alert.message


def test_the_at_risk_checkpoints_alert_once_for_a_day_whose_extract_is_missing(scenario: Scenario) -> None:
    """AtRiskSchedule's input at 08:00 and 08:30 (the stack's defaults) for SECOND, whose store_sales never
    landed: one alert, at the first checkpoint, recorded in the stack's alerts folder (RecordAtRiskAlert)."""
    for at in ("08:00", "08:30"):
        assert scenario.checkpoints[at] == {"day": SECOND.isoformat(), "at_risk": "true"}
    (alert,) = scenario.alerts["at risk"]
    assert alert.subject == f"store sales {SECOND}: at risk"
    assert alert.message.startswith(f"store sales of {SECOND} at 08:00: at risk: store_sales has not landed; ")
    assert alert.message.endswith("; 60 min left (deadline 09:00)")


def test_the_deadline_check_alerts_for_a_running_a_failed_and_a_never_started_day_only(scenario: Scenario) -> None:
    deadlines, alerts = scenario.deadlines, scenario.alerts
    assert deadlines["published"] == {"day": FIRST.isoformat(), "published": "true"}
    assert alerts["published"] == []
    name = f"store-sales-{SECOND}-r1"
    late = f"store sales of {SECOND} not published by the deadline ({THIRD}T09:00:00Z)"
    for case in ("running", "failed"):
        assert deadlines[case] == {"day": SECOND.isoformat(), "published": "false"}
        (alert,) = alerts[case]
        assert alert.subject == f"store sales {SECOND}: late"
    # the execution started in real time, long after the scheduled 2002 deadline: its age there is 0 min
    assert alerts["running"][0].message in {f"{late}: {name} RUNNING for 0 min, in state Build {task}"
                                            for task in ("customer_address", "item")}  # fmt: skip
    assert alerts["failed"][0].message.startswith(f"{late}: {name} FAILED at ")
    assert "(LandingIncomplete: " in alerts["failed"][0].message
    assert deadlines["never started"] == {"day": THIRD.isoformat(), "published": "false"}
    (alert,) = alerts["never started"]
    never = f"store sales of {THIRD} not published by the deadline ({THIRD + timedelta(days=1)}T09:00:00Z)"
    assert alert.message.startswith(f"{never}: no execution started; not landed: ")
    assert all(extract in alert.message for extract in EXTRACTS)


def test_the_docs_function_publishes_the_site_to_the_artifacts_bucket(
    stack: dict[str, Any], scenario: Scenario
) -> None:
    assert scenario.docs_result == {"docs": outputs(stack)["DocsUri"]}
    assert sorted(scenario.docs_objects) == ["docs/catalog.json", "docs/index.html", "docs/manifest.json"]
    catalog = json.loads(scenario.docs_objects["docs/catalog.json"])
    assert {node.split(".")[-1] for node in catalog["nodes"]} >= set(MART_TABLES)  # read from the warehouse
    assert b"fct_store_sales" in scenario.docs_objects["docs/index.html"]


def test_the_cli_runs_the_landed_day_through_the_stack_s_state_machine_from_its_outputs(
    stack: dict[str, Any],
    scenario: Scenario,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data: Path = stack["data"]
    shutil.move(stack["root"] / "withheld-store_sales", extract_file(data, "store_sales", SECOND).parent)
    config = tmp_path / "store-sales.toml"
    settings = deploy.config_from_outputs(stack["description"]["Outputs"])
    assert settings.get("redshift_cluster_id") or settings.get("redshift_workgroup")
    # the configuration as deploy writes it; the warehouse behind this stack is the DuckDB file its runner writes
    # (moto answers no Redshift statement), so the CLI takes the runner's one substitution, STORE_SALES_TARGET=local
    config.write_text(deploy.config_toml(settings))
    monkeypatch.setenv("STORE_SALES_CONFIG", str(config))
    for name, value in local_warehouse(data).items():
        monkeypatch.setenv(name, value)

    code = cli.main(["run", "--date", SECOND.isoformat(), "--aws", "--json"])
    captured = capsys.readouterr()
    assert captured.out.strip(), captured.err
    result = json.loads(captured.out)

    assert code == ExitCode.OK, result
    assert result["name"] == f"store-sales-{SECOND}-r2" and result["status"] == "SUCCEEDED"
    assert result["execution_arn"] == f"{scenario.machine.replace(':stateMachine:', ':execution:')}:{result['name']}"
    assert [state["name"] for state in result["states"]][:2] == ["Admission", "Initialize"]
    with scenario.deployed.idle(), duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as connection:
        loaded = connection.execute(
            "select count(*) from main.fct_store_sales where ss_sold_date = ?", [SECOND]
        ).fetchone()
        landed = connection.execute(
            "select count(*) from read_parquet(?)", [str(extract_file(data, "store_sales", SECOND))]
        ).fetchone()
    assert loaded == landed  # every sales line of the day, one row each


def test_every_aws_call_of_the_deployed_entry_points_is_allowed_by_its_role(scenario: Scenario) -> None:
    """The calls the trigger, runner and docs functions made in the scenario, and the state machine's tasks,
    against the policies the stack deployed (read back from moto's IAM)."""
    policies = stack_policies()
    verdict = evaluate(policies, scenario.calls)
    roles = {
        "TriggerFunctionRole",
        "RunnerFunctionRole",
        "DocsFunctionRole",
        "StateMachineRole",
        "EcsTaskRole",
        "SchedulerRole",
    }
    assert {call.principal for call in scenario.calls} == roles, [c for c in scenario.calls if c.principal not in roles]
    assert verdict.denied == [], verdict.denied
    granted = {(grant.call.principal, grant.call.action, grant.statement.name) for grant in verdict.granted}
    assert {
        ("EcsTaskRole", "states:SendTaskSuccess", "EcsTaskRole.ReportToStateMachine"),
        ("EcsTaskRole", "s3:PutObject", "EcsTaskRole.UploadArtifacts"),
        ("StateMachineRole", "ecs:RunTask", "StateMachineRole.RunFargateTask"),
        ("StateMachineRole", "iam:PassRole", "StateMachineRole.PassTaskRoles"),
    } <= granted
    sent = [c for c in scenario.calls if c.principal == "EcsTaskRole" and c.action == "states:SendTaskSuccess"]
    assert [call.resource for call in sent] == [scenario.machine]  # the token's state machine
    passed = {c.resource.rsplit("/", 1)[-1] for c in scenario.calls if c.action == "iam:PassRole"}
    assert {scenario.deployed.logical_id(role) for role in passed} == {"EcsTaskRole", "EcsExecutionRole"}
    # granted under conditions the evaluator lists, not evaluates: the cluster, the service the roles go to
    conditions = {(policy, sid): json.loads(condition) for policy, sid, condition in verdict.conditional}
    assert conditions[("StateMachineRole", "RunFargateTask")] == {"ArnEquals": {"ecs:cluster": scenario.cluster}}
    assert conditions[("StateMachineRole", "PassTaskRoles")] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }


def test_infra_readme_lists_every_call_of_the_stack_s_roles_and_why_each_unused_statement_is_there(
    scenario: Scenario,
) -> None:
    """infra/README.md's tables ("IAM, proven"), for every principal but the operator (tests/infra/test_stack_cli.py
    holds that one): each call the scenario makes and the statement allowing it, and each statement no call uses
    with the reason it stays (a path no test can reach) or it is removed from the template."""
    policies = stack_policies()
    verdict = evaluate(policies, scenario.calls)
    readme = INFRA_README.read_text(encoding="utf-8")
    rows = grant_rows(verdict.granted)
    documented = {row for row in documented_grants(readme) if row[0] != OPERATOR}
    assert rows == documented, f"infra/README.md's table of calls should read:\n{markdown_table(rows)}"
    unused = {f"{policy}.{sid}" for policy, sid in verdict.unused if policy != OPERATOR}
    justified = {name for name in documented_unused(readme) if not name.startswith(f"{OPERATOR}.")}
    assert unused == justified, (
        f"unused but not justified: {unused - justified}; justified but used: {justified - unused}"
    )


def test_a_login_secret_is_the_runners_only_redshift_credential(stack: dict[str, Any]) -> None:
    """With RedshiftPasswordSecretArn the runners may read that one secret, and no longer ask for IAM credentials."""
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:store-sales/redshift-AbCdEf"
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    parameters = {**stack["parameters"], "RedshiftPasswordSecretArn": secret}
    cloudformation.create_stack(
        StackName="with-secret",
        TemplateBody=json.dumps(stack["template"]),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    resources = cloudformation.list_stack_resources(StackName="with-secret")["StackResourceSummaries"]
    policy_arn = next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "RedshiftAccessPolicy")
    iam = boto3.client("iam", region_name=REGION)
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]
    statements = json.loads(document) if isinstance(document, str) else document
    assert [(s["Sid"], s["Action"], s["Resource"]) for s in statements["Statement"]] == [
        ("ReadLoginSecret", "secretsmanager:GetSecretValue", secret)
    ]
    runner = boto3.client("lambda", region_name=REGION).get_function_configuration(FunctionName="with-secret-runner")
    assert runner["Environment"]["Variables"]["STORE_SALES_REDSHIFT_SECRET_ARN"] == secret
