"""The AWS deployment, checked offline: template (cfn-lint, checkov, least privilege, wiring to the
rendered definition, schedule, alerts), Dockerfile (hadolint, checkov) and the image's build and
entrypoint steps run in a plain directory laid out like the image."""

from __future__ import annotations

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import boto3
import duckdb
import pytest
from infra_support import DOCKERFILE, ROOT, TEMPLATE, checkov, load_template, offline
from landing import Address, Day, Item, Landing, Sale, customer_id, natural_id
from moto import mock_aws
from statelint.linter import Linter

from orchestrator.cli import deploy
from orchestrator.config import Config, load
from orchestrator.definition.graph import DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.definition.state_machine import (
    CHECK_STATE,
    ECS_RESOURCE,
    NOTIFY_STATE,
    NOTIFY_WARNING_STATE,
    RECORD_FAILURE_STATE,
    RECORD_RUN_STATE,
    SNS_RESOURCE,
    render,
)
from orchestrator.errors import ConfigurationError, UsageError
from orchestrator.executions import schedule
from orchestrator.protocol import RUNNER_TIMED_OUT_ERROR

BIN = Path(sys.executable).parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
# Actions that have no resource-level permissions in the service authorization reference: the only
# ones a statement may grant on "*" (each is commented in the template).
UNSCOPABLE_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "ecr:GetAuthorizationToken",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "redshift-data:DescribeStatement",
    "redshift-data:GetStatementResult",
    "redshift-data:CancelStatement",
}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
RUNTIME_DEADLINE_SECONDS = 300.0


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def parsed_target() -> Iterator[Path]:
    target = Path(tempfile.mkdtemp(prefix="infra-parse-"))
    subprocess.run(
        [str(BIN / "dbt"), "parse", "--quiet", "--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
         "--target-path", str(target), "--log-path", str(target / "logs")],
        check=True, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )  # fmt: skip
    yield target
    shutil.rmtree(target, ignore_errors=True)


@pytest.fixture(scope="module")
def definition_text(parsed_target: Path) -> str:
    return render(DbtGraph.from_manifest(load_manifest(ROOT, parsed_target, check_fresh=False)))


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every statement, including every branch of an Fn::If, nested ones too."""
    for statement in document["Statement"]:
        yield from branches(statement)


def branches(statement: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "Fn::If" not in statement:
        yield statement
        return
    for branch in statement["Fn::If"][1:]:
        yield from branches(branch)


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, role in resources(template, "AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            yield f"{name}/{policy['PolicyName']}", policy["PolicyDocument"]
    for name, policy in resources(template, "AWS::IAM::ManagedPolicy").items():
        yield name, policy["Properties"]["PolicyDocument"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def substituted(definition: str, template: dict[str, Any]) -> str:
    """The definition with plausible values for the template's DefinitionSubstitutions."""
    names = template["Resources"]["StateMachine"]["Properties"]["DefinitionSubstitutions"]
    values = {name: f"arn:aws:test:{REGION}:{ACCOUNT}:{name.lower()}" for name in names}
    values["EcsContainerName"] = "dbt-runner"
    values["ArtifactsBucket"] = "store-sales-artifacts"
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], definition)


# ---------------------------------------------------------------- linters and scanners


def test_cfn_lint_passes_on_the_template_and_its_packaged_form(tmp_path: Path) -> None:
    raw = subprocess.run(
        [str(BIN / "cfn-lint"), "--format", "parseable", str(TEMPLATE)], capture_output=True, text=True
    )
    findings = [line for line in raw.stdout.splitlines() if line.strip()]
    # The one finding on the raw template is the local definition path that `package` uploads.
    assert len(findings) == 1 and ":W3002:" in findings[0], raw.stdout + raw.stderr
    packaged = tmp_path / "packaged.yaml"
    text = TEMPLATE.read_text(encoding="utf-8")
    local = "DefinitionS3Location: ../target/statemachine.asl.json"
    assert local in text
    packaged.write_text(text.replace(local, "DefinitionS3Location: {Bucket: deploy-bucket, Key: store-sales/abc}"))
    clean = subprocess.run([str(BIN / "cfn-lint"), str(packaged)], capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("path", "framework"), [(TEMPLATE, "cloudformation"), (DOCKERFILE, "dockerfile")])
def test_checkov_passes_and_every_skip_is_justified(path: Path, framework: str) -> None:
    argv = [str(checkov()), "-f", str(path), "--framework", framework, "--skip-download", "-o", "json"]
    result = subprocess.run(
        offline(argv), capture_output=True, text=True, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    )
    report = json.loads(result.stdout)
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert failed == [], failed
    assert report["summary"]["passed"] > 50
    unjustified = [
        c["check_id"] for c in report["results"]["skipped_checks"] if len(c["check_result"]["suppress_comment"]) < 30
    ]
    assert unjustified == []


def test_hadolint_passes_on_the_dockerfile() -> None:
    config = ROOT / "infra" / ".hadolint.yaml"
    result = subprocess.run(
        [str(BIN / "hadolint"), "--config", str(config), str(DOCKERFILE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------- least privilege


def test_no_wildcard_actions_and_every_resource_scoped(template: dict[str, Any]) -> None:
    checked = 0
    for where, document in policy_documents(template):
        for statement in statements(document):
            assert statement["Effect"] == "Allow", where
            actions = as_list(statement["Action"])
            assert all("*" not in action for action in actions), f"{where}: wildcard action in {actions}"
            for resource in as_list(statement["Resource"]):
                if resource == "*":
                    extra = set(actions) - UNSCOPABLE_ACTIONS
                    assert not extra, f"{where}: {sorted(extra)} granted on '*' but they support resource scoping"
                else:
                    assert isinstance(resource, dict) and set(resource) & {"Fn::Sub", "Fn::GetAtt", "Ref"}, (
                        f"{where}: resource {resource!r} is not scoped to the stack or its parameters"
                    )
                    text = json.dumps(resource)
                    assert ":*:*" not in text and ":::*" not in text, f"{where}: {text} is a wildcard resource"
            checked += 1
    assert checked >= 15


def test_pass_role_only_for_the_task_roles_and_no_ecs_sync_rule_needed(
    template: dict[str, Any], definition_text: str
) -> None:
    pass_role = [
        (where, s)
        for where, doc in policy_documents(template)
        for s in statements(doc)
        if "iam:PassRole" in as_list(s["Action"])
    ]
    assert len(pass_role) == 1
    where, statement = pass_role[0]
    assert where.startswith("StateMachineRole/")
    assert statement["Resource"] == [
        {"Fn::GetAtt": ["EcsExecutionRole", "Arn"]},
        {"Fn::GetAtt": ["EcsTaskRole", "Arn"]},
    ]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    # The definition uses the callback pattern (waitForTaskToken), not `.sync`: no managed events rule,
    # so the role has no events:* permission; the task role reports with the task token instead.
    assert ".sync" not in definition_text and "waitForTaskToken" in definition_text
    actions = {a for _, doc in policy_documents(template) for s in statements(doc) for a in as_list(s["Action"])}
    assert not {a for a in actions if a.startswith("events:")}
    task_role = template["Resources"]["EcsTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"} <= {
        a for s in statements(task_role) for a in as_list(s["Action"])
    }


def test_bucket_is_encrypted_private_tls_only_with_lifecycle(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["ArtifactsBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["LifecycleConfiguration"]["Rules"]
    policy = template["Resources"]["ArtifactsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}.items() <= policy[0].items()
    for group in resources(template, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_lambda_and_ecs_run_the_same_image_with_their_entrypoints(template: dict[str, Any]) -> None:
    functions = resources(template, "AWS::Lambda::Function")
    images = {json.dumps(f["Properties"]["Code"]["ImageUri"]) for f in functions.values()}
    container = template["Resources"]["EcsTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert images == {json.dumps(container["Image"])}
    assert "@${ImageDigest}" in container["Image"]["Fn::Sub"]
    assert functions["RunnerFunction"]["Properties"]["ImageConfig"]["Command"] == [
        "orchestrator.runtime.lambda_handler.handler"
    ]
    assert container["EntryPoint"] == ["python", "-m", "orchestrator.runtime.runner"]


# ---------------------------------------------------------------- the definition, its validity, its alerts


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
                assert failure_ends(states, catch["Next"]) == NOTIFY_STATE, name
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


# ---------------------------------------------------------------- schedule


@pytest.mark.parametrize(
    ("time_zone", "scheduled_time", "expected"),
    [
        ("America/New_York", "2024-03-10T11:00:00Z", date(2024, 3, 9)),  # 07:00 EDT, the day DST starts
        ("America/New_York", "2024-01-10T12:00:00Z", date(2024, 1, 9)),  # 07:00 EST
        ("Pacific/Auckland", "2024-01-14T18:00:00Z", date(2024, 1, 14)),  # 07:00 NZDT on the 15th
        ("UTC", "2024-01-01T07:00:00Z", date(2023, 12, 31)),
    ],
)
def test_schedule_starts_the_execution_for_yesterday(
    template: dict[str, Any], definition_text: str, time_zone: str, scheduled_time: str, expected: date
) -> None:
    schedule_resource = template["Resources"]["DailySchedule"]["Properties"]
    assert schedule_resource["ScheduleExpression"] == "cron(0 7 * * ? *)"
    assert schedule_resource["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimeZone"}
    assert schedule_resource["State"] == {"Ref": "ScheduleState"}
    assert template["Parameters"]["ScheduleState"]["AllowedValues"] == ["ENABLED", "DISABLED"]
    target = schedule_resource["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["TriggerFunction", "Arn"]}
    trigger = template["Resources"]["TriggerFunction"]["Properties"]
    assert trigger["ImageConfig"]["Command"] == ["orchestrator.executions.schedule.handler"]
    variables = trigger["Environment"]["Variables"]
    assert variables[schedule.TIME_ZONE_ENV] == {"Ref": "ScheduleTimeZone"}
    # What Scheduler sends: the Input with its context attribute replaced.
    event = json.loads(target["Input"].replace("<aws.scheduler.scheduled-time>", scheduled_time))
    arn_pattern = variables[schedule.STATE_MACHINE_ENV]["Fn::Sub"]
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name=REGION)
        name = "store-sales-pipeline"
        arn = sfn.create_state_machine(
            name=name, definition=substituted(definition_text, template), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
        )["stateMachineArn"]
        assert arn == arn_pattern.replace("${AWS::Partition}", "aws").replace("${AWS::Region}", REGION).replace(
            "${AWS::AccountId}", ACCOUNT
        ).replace("${AWS::StackName}", "store-sales")
        env = {schedule.STATE_MACHINE_ENV: arn, schedule.TIME_ZONE_ENV: time_zone}
        ref = schedule.start_daily(event, env, sfn)
        execution = sfn.describe_execution(executionArn=ref.arn)
    day = expected.isoformat()
    assert ref.name == f"store-sales-{day}-r1"
    assert json.loads(execution["input"]) == {
        "full_refresh": False,
        "full_tests": False,
        "nodes": None,
        "allow_missing": [],
        "refresh_window": {"end": day, "start": day},
        "window_days": 1,
    }


def test_schedule_rejects_a_bad_time_zone_or_input() -> None:
    with pytest.raises(ConfigurationError, match="IANA"):
        schedule.refresh_date("2024-01-01T07:00:00Z", "Mars/Olympus")
    with pytest.raises(UsageError, match="scheduled_time"):
        schedule.start_daily({}, {schedule.STATE_MACHINE_ENV: "arn"}, None)


# ---------------------------------------------------------------- deploy command and outputs


def deploy_settings(**changes: Any) -> deploy.DeploySettings:
    values: dict[str, Any] = {
        "stack_name": "store-sales",
        "region": "eu-west-1",
        "package_bucket": "my-cfn-packages",
        "subnet_ids": ("subnet-1", "subnet-2"),
        "security_group_id": "sg-1",
        "redshift_host": "analytics.abc.eu-west-1.redshift.amazonaws.com",
        "landing_s3_uri": "s3://landing-bucket/store-sales",
        "redshift_cluster_id": "analytics",
    }
    return deploy.DeploySettings(**{**values, **changes})


def test_deploy_script_passes_every_template_parameter(template: dict[str, Any]) -> None:
    script = deploy.script(deploy_settings())
    lines = script.splitlines()
    assert lines[:3] == [
        "set -eu",
        "dbt parse --quiet",
        "python -m orchestrator render --out target/statemachine.asl.json",
    ]
    deploy_line = next(line for line in lines if line.startswith("aws cloudformation deploy"))
    overrides = dict(
        part.strip('"').split("=", 1) for part in deploy_line.split("--parameter-overrides ")[1].split(" ")
    )
    parameters = template["Parameters"]
    assert set(overrides) <= set(parameters)
    assert {name for name, spec in parameters.items() if "Default" not in spec} <= set(overrides)
    assert overrides["ImageDigest"] == "${IMAGE_DIGEST}" and "IMAGE_DIGEST=$(aws ecr describe-images" in script
    assert overrides["ScheduleState"] == "ENABLED"
    assert "aws cloudformation package --template-file infra/template.yaml" in script
    assert "docker build --platform linux/amd64 -f infra/Dockerfile" in script
    build_args = dict(re.findall(r"--build-arg ([A-Z_]+)=(\S*)", script))
    dockerfile_args = set(re.findall(r"^ARG ([A-Z_]+)", DOCKERFILE.read_text(), flags=re.MULTILINE))
    assert set(build_args) == dockerfile_args
    assert "aws lambda invoke --function-name store-sales-docs" in script


def test_deploy_rejects_incomplete_settings() -> None:
    with pytest.raises(UsageError, match="two subnets"):
        deploy_settings(subnet_ids=("subnet-1",))
    with pytest.raises(UsageError, match="either"):
        deploy_settings(redshift_workgroup="wg")
    with pytest.raises(UsageError, match="workgroup-id"):
        deploy_settings(redshift_cluster_id="", redshift_workgroup="wg")


def test_stack_outputs_become_the_cli_configuration(template: dict[str, Any], tmp_path: Path) -> None:
    outputs = template["Outputs"]
    assert set(deploy.OUTPUT_KEYS) <= set(outputs)
    for output, key in deploy.OUTPUT_KEYS.items():
        assert outputs[output]["Description"] == f"[aws] {key}"
    described = [
        {"OutputKey": name, "OutputValue": f"value-of-{name}"} for name in outputs if name != "RedshiftWorkgroup"
    ]
    values = deploy.config_from_outputs(described)
    path = tmp_path / "store-sales.toml"
    path.write_text(deploy.config_toml(values), encoding="utf-8")
    config = load(path)
    assert config.state_machine_arn == "value-of-StateMachineArn"
    assert config.redshift_cluster_id == "value-of-RedshiftClusterId" and config.redshift_workgroup is None
    configurable = {f for f in Config.__dataclass_fields__ if f not in {"source", "redshift_secret_arn"}}
    assert set(deploy.OUTPUT_KEYS.values()) == configurable


# ---------------------------------------------------------------- the image's steps, without docker


def image_layout(root: Path) -> Path:
    """Copy what the Dockerfile COPYs into `root` (the image's /opt/store-sales)."""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("COPY "):
            continue
        *sources, destination = line.split()[1:]
        for source in sources:
            origin = ROOT / source
            target = (
                root / destination / origin.name
                if destination.endswith("/") and origin.is_file()
                else root / destination
            )
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
    return root


def dockerfile_env(project: Path) -> dict[str, str]:
    """The image's ENV, with /opt/store-sales moved to `project`."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    env: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            for pair in line[4:].split():
                key, value = pair.split("=", 1)
                env[key] = value.replace("/opt/store-sales", str(project))
    return env


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """The part of the Lambda Runtime API the runtime interface client uses: next invocation, response."""

    protocol_version = "HTTP/1.1"  # the client's native HTTP code needs it
    pending: ClassVar[list[bytes]] = []
    responses: ClassVar[list[bytes]] = []
    done = threading.Event()

    def do_GET(self) -> None:
        if not self.path.endswith("/runtime/invocation/next") or not RuntimeApi.pending:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = RuntimeApi.pending.pop(0)
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"request-{len(RuntimeApi.responses) + 1}")
        self.send_header("Lambda-Runtime-Deadline-Ms", "4102444800000")
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:runner")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/response"):
            RuntimeApi.responses.append(body)
        else:
            RuntimeApi.responses.append(json.dumps({"status": "error", "body": body.decode()}).encode())
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if not RuntimeApi.pending:
            RuntimeApi.done.set()

    def log_message(self, *args: Any) -> None:
        return


@pytest.mark.slow
def test_image_build_and_both_entrypoints_run_in_a_plain_directory(
    template: dict[str, Any], definition_text: str, tmp_path: Path
) -> None:
    """The Dockerfile's steps after `pip install` (same lock: this virtualenv), then one task through the
    ECS entrypoint and one through the Lambda runtime interface client, on DuckDB (the image's `local`)."""
    project = image_layout(tmp_path / "opt" / "store-sales")
    data = tmp_path / "data"
    env = {
        **os.environ,
        **dockerfile_env(project),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "STORE_SALES_TARGET": "local",
        "STORE_SALES_DATA_DIR": str(data),
        "STORE_SALES_DUCKDB": str(tmp_path / "warehouse" / "warehouse.duckdb"),
        "TMPDIR": str(tmp_path / "tmp"),
    }
    (tmp_path / "tmp").mkdir()
    (tmp_path / "warehouse").mkdir()
    build = re.search(r"^RUN (infra/image-build\.sh) (\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert build is not None
    subprocess.run([str(project / build.group(1)), str(project)], check=True, cwd=project, env=env)
    assert (project / "target" / "partial_parse.msgpack").stat().st_size > 0

    day = date(2002, 1, 10)
    landing = Landing(data)
    landing.write_reference()
    item, address = natural_id("ITEM", 1), natural_id("ADDR", 1)
    landing.write_day(
        day, Day([Address(address)], [Item(item)], [Sale(1, item, customer_id(1), address, natural_id("STORE", 1))])
    )
    definition = json.loads(substituted(definition_text, template))
    branches = definition["States"]["Stage 1"]["Branches"]
    lambda_tasks = [branch["States"][branch["StartAt"]] for branch in branches]
    ecs_task = definition["States"]["Build store_sales on ECS"]  # a backfill's route; a day goes to Lambda
    assert ecs_task["Resource"].startswith("arn:aws:states:::ecs:")
    assert all(task["Resource"] == "arn:aws:states:::lambda:invoke" for task in lambda_tasks)
    window = {"start": day.isoformat(), "end": day.isoformat()}
    context = {"$$.Execution.Name": "image-test", "$.refresh_window.start": day.isoformat(),
               "$.refresh_window.end": day.isoformat(), "$.refresh_window": window, "$.full_refresh": False,
               "$.nodes": None, "States.JsonToString($.full_refresh)": "false", "$.window_days": 1,
               "$.full_tests": False, "States.JsonToString($.full_tests)": "false",
               "States.JsonToString($.nodes)": "null", "$.allow_missing": [],
               "States.JsonToString($.allow_missing)": "[]"}  # fmt: skip

    # Lambda: the image's ENTRYPOINT + CMD (the runtime interface client) against a local Runtime API,
    # one invocation per dimension task with the payload the state machine builds.
    events = []
    for task in lambda_tasks:
        payload = task["Parameters"]["Payload"]
        event = {
            key.removesuffix(".$"): context[value] if key.endswith(".$") else value for key, value in payload.items()
        }
        event["artifacts"] = {"bucket": "", "prefix": ""}  # no S3 here: the upload is tested in test_runner
        events.append(json.dumps(event).encode())
    responses = invoke_through_runtime_client(events, env, tmp_path)
    for event_bytes, response in zip(events, responses, strict=True):
        summary = json.loads(response)
        assert summary["status"] == "success", summary
        assert {m["name"] for m in summary["models"]} == set(json.loads(event_bytes)["models"])

    # ECS: the task definition's EntryPoint with the environment of the state's container overrides.
    container = template["Resources"]["EcsTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    overrides = ecs_task["Parameters"]["Overrides"]["ContainerOverrides"][0]
    assert overrides["Name"] == container["Name"]
    task_env = {
        item["Name"]: item["Value"] if "Value" in item else context.get(item["Value.$"], "")
        for item in overrides["Environment"]
        if item["Name"] != "STORE_SALES_TASK_TOKEN"  # without a token the runner prints its summary
    }
    task_env["STORE_SALES_ARTIFACTS_BUCKET"] = ""
    argv = [str(BIN / "python") if part == "python" else part for part in container["EntryPoint"]]
    ecs = subprocess.run(argv, cwd=tmp_path, env={**env, **task_env}, capture_output=True, text=True, check=False)
    assert ecs.returncode == 0, ecs.stderr[-3000:]
    summary = json.loads(ecs.stdout.strip().splitlines()[-1])
    assert summary["status"] == "success", summary
    assert {m["name"] for m in summary["models"]} == set(task_env["STORE_SALES_MODELS"].split())
    with duckdb.connect(env["STORE_SALES_DUCKDB"], read_only=True) as warehouse:
        assert warehouse.execute("select count(*) from main.fct_store_sales").fetchone() == (1,)


def invoke_through_runtime_client(events: list[bytes], env: dict[str, str], cwd: Path) -> list[bytes]:
    """Run the image's ENTRYPOINT + CMD with a local Runtime API serving `events`; the responses."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    entrypoint = re.search(r"^ENTRYPOINT (.+)$", text, flags=re.MULTILINE)
    cmd = re.search(r"^CMD (.+)$", text, flags=re.MULTILINE)
    assert entrypoint is not None and cmd is not None
    argv = [
        str(BIN / "python") if part == "python" else part for part in json.loads(entrypoint[1]) + json.loads(cmd[1])
    ]
    RuntimeApi.pending = list(events)
    RuntimeApi.responses = []
    RuntimeApi.done.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        RuntimeApi.done.wait(RUNTIME_DEADLINE_SECONDS)
    finally:
        process.kill()
        _, stderr = process.communicate()
        server.shutdown()
        server.server_close()
    assert len(RuntimeApi.responses) == len(events), stderr[-3000:]
    return RuntimeApi.responses
