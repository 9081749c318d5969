"""The packaged CloudFormation stack, deployed into moto's CloudFormation and exercised end to end.

`infra/template.yaml` is packaged as `deploy` packages it (the definition rendered from the dbt graph; its
`DefinitionSubstitutions` applied, which moto's StateMachine resource does not read, so the test applies them
with `Fn::Sub`, as CloudFormation does) and created as a stack. Then one execution runs through the stack's own
state machine, started by the CLI from the stack's outputs (`store-sales.toml`, as `deploy` writes it).

moto cannot run the runner's container image: invocations of the stack's runner function are routed to the same
Lambda handler in-process, on the local DuckDB target. Resource types moto's CloudFormation does not create
(`UNSUPPORTED_BY_MOTO`) are checked by other means: cfn-lint and checkov (tests/infra/test_template.py) validate their
properties, and the daily schedule's input is the trigger's (tests/infra/test_schedule.py).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from engine_support import ROOT, project_parsed_dir
from faults_support import FIRST, write_good_landing
from infra_support import load_template
from moto import mock_aws

from orchestrator import cli
from orchestrator.cli import deploy
from orchestrator.definition.state_machine import render_file
from orchestrator.errors import ExitCode
from orchestrator.local import moto_adapt
from orchestrator.runtime import lambda_handler
from orchestrator.runtime.runner import RunnerConfig

pytestmark = pytest.mark.slow

STACK = "store-sales"
UNSUPPORTED_BY_MOTO = {
    "AWS::Lambda::EventInvokeConfig",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::Scheduler::Schedule",
}
PARAMETERS = {
    "ImageRepositoryName": "store-sales",
    "ImageDigest": "sha256:" + "0" * 64,
    "SubnetIds": "subnet-0a,subnet-0b",
    "SecurityGroupId": "sg-0a",
    "RedshiftWorkgroupName": "analytics",
    "RedshiftWorkgroupId": "00000000-0000-0000-0000-000000000000",
    "RedshiftHost": "analytics.123456789012.us-east-1.redshift-serverless.amazonaws.com",
    "LandingS3Uri": "s3://landing-bucket/store-sales",
    "AlertEmail": "analytics@example.com",
}


def packaged_template(definition: Path) -> dict[str, Any]:
    """The template with the rendered definition in place of `DefinitionS3Location` (what `cloudformation
    package` uploads) and its `DefinitionSubstitutions` written as the references they stand for, in one
    `Fn::Sub` string (moto's `Fn::Sub` with a variable map runs string.Template, which turns the definition's
    `$$.Execution.Name` into `$.Execution.Name`)."""
    template = load_template()
    machine = template["Resources"]["StateMachine"]["Properties"]
    machine.pop("DefinitionS3Location")
    text = definition.read_text(encoding="utf-8")
    for name, value in machine.pop("DefinitionSubstitutions").items():
        text = text.replace(f"${{{name}}}", reference(value))
    machine["DefinitionString"] = {"Fn::Sub": text}
    return template


def reference(value: Any) -> str:
    """A substitution's value as `Fn::Sub` text: a literal, `${Resource.Attribute}` or `${Name}`."""
    if isinstance(value, str):
        return value
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    index, listed = value["Fn::Select"]  # a subnet: an item of a list parameter
    return PARAMETERS[listed["Ref"]].split(",")[int(index)]


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The stack created in moto, its runner function answered by the in-process handler."""
    data = tmp_path / "data"
    write_good_landing(data)
    monkeypatch.setenv("STORE_SALES_DATA_DIR", str(data))
    monkeypatch.setenv("STORE_SALES_DUCKDB", str(data / "warehouse.duckdb"))
    monkeypatch.delenv("STORE_SALES_TARGET", raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    definition = render_file(ROOT, tmp_path / "statemachine.asl.json", target_path=project_parsed_dir())
    runner = RunnerConfig(
        project_dir=ROOT,
        profiles_dir=ROOT,
        parsed_dir=project_parsed_dir(),
        target="local",
        work_root=tmp_path,
        warehouse_lock=tmp_path / "warehouse.lock",  # DuckDB takes one writer: the branches take turns, as locally
    )
    moto_adapt.route_lambda_invocations()
    moto_adapt.keep_task_failure_cause()
    moto_adapt.page_execution_history()
    moto_adapt.state_machines_from_cloudformation()
    moto_config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=moto_config), moto_adapt.scaled_waits(0.05):  # type: ignore[arg-type]
        moto_adapt.register_lambda_handler(f"{STACK}-runner", lambda event, _: lambda_handler.handle(event, runner))
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        template = packaged_template(definition)
        with warnings.catch_warnings(record=True) as skipped:
            warnings.simplefilter("always")
            cloudformation.create_stack(
                StackName=STACK,
                TemplateBody=json.dumps(template),
                Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in PARAMETERS.items()],
                Capabilities=["CAPABILITY_NAMED_IAM"],
            )
        description = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
        try:
            yield {"template": template, "description": description, "skipped": [str(w.message) for w in skipped]}
        finally:
            moto_adapt.unregister_lambda_handler(f"{STACK}-runner")


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack["description"]["Outputs"]}


def test_the_packaged_template_deploys_and_every_supported_resource_is_created(stack: dict[str, Any]) -> None:
    assert stack["description"]["StackStatus"] == "CREATE_COMPLETE"
    types = {resource["Type"] for resource in stack["template"]["Resources"].values()}
    assert types >= UNSUPPORTED_BY_MOTO
    skipped = {kind for kind in types if any(f"parse {kind} but" in message for message in stack["skipped"])}
    assert skipped == UNSUPPORTED_BY_MOTO  # every other type is created by moto
    resources = boto3.client("cloudformation", region_name="us-east-1").list_stack_resources(StackName=STACK)
    created = {
        r["ResourceType"] for r in resources["StackResourceSummaries"] if r["ResourceStatus"] == "CREATE_COMPLETE"
    }
    assert types - UNSUPPORTED_BY_MOTO <= created
    machine = boto3.client("stepfunctions", region_name="us-east-1").describe_state_machine(
        stateMachineArn=next(
            o["OutputValue"] for o in stack["description"]["Outputs"] if o["OutputKey"] == "StateMachineArn"
        )
    )
    assert "${" not in machine["definition"]  # every substitution resolved to the stack's own resources
    assert f"function:{STACK}-runner" in machine["definition"]
    assert machine["roleArn"].split("/")[-1].startswith(f"{STACK}-StateMachineRole")


def test_the_cli_runs_a_day_through_the_stack_s_state_machine_from_its_outputs(
    stack: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "store-sales.toml"
    settings = deploy.config_from_outputs(stack["description"]["Outputs"])
    assert settings.get("redshift_cluster_id") or settings.get("redshift_workgroup")
    # the warehouse behind this stack is the DuckDB file its in-process runner writes (moto answers no Redshift
    # statement), so the CLI reads the ledger there: the configuration keeps everything but the Redshift target
    local = {key: value for key, value in settings.items() if key not in {"redshift_cluster_id", "redshift_workgroup"}}
    config.write_text(deploy.config_toml(local))
    monkeypatch.setenv("STORE_SALES_CONFIG", str(config))

    code = cli.main(["run", "--date", FIRST.isoformat(), "--aws", "--json"])
    captured = capsys.readouterr()
    assert captured.out.strip(), captured.err
    result = json.loads(captured.out)

    assert code == ExitCode.OK, result
    assert result["name"] == f"store-sales-{FIRST}-r1" and result["status"] == "SUCCEEDED"
    machine = outputs(stack)["StateMachineArn"]
    assert result["execution_arn"] == f"{machine.replace(':stateMachine:', ':execution:')}:{result['name']}"
    assert [state["name"] for state in result["states"]][:2] == ["Admission", "Initialize"]
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as connection:
        loaded = connection.execute(
            "select count(*) from main.fct_store_sales where ss_sold_date = ?", [FIRST]
        ).fetchone()
    assert loaded is not None and loaded[0] > 0


def test_a_login_secret_is_the_runners_only_redshift_credential(stack: dict[str, Any]) -> None:
    """With RedshiftPasswordSecretArn the runners may read that one secret, and no longer ask for IAM credentials."""
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:store-sales/redshift-AbCdEf"
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    parameters = {**PARAMETERS, "RedshiftPasswordSecretArn": secret}
    cloudformation.create_stack(
        StackName="with-secret",
        TemplateBody=json.dumps(stack["template"]),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    resources = cloudformation.list_stack_resources(StackName="with-secret")["StackResourceSummaries"]
    policy_arn = next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == "RedshiftAccessPolicy")
    iam = boto3.client("iam", region_name="us-east-1")
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]
    statements = json.loads(document) if isinstance(document, str) else document
    assert [(s["Sid"], s["Action"], s["Resource"]) for s in statements["Statement"]] == [
        ("ReadLoginSecret", "secretsmanager:GetSecretValue", secret)
    ]
    runner = boto3.client("lambda", region_name="us-east-1").get_function_configuration(
        FunctionName="with-secret-runner"
    )
    assert runner["Environment"]["Variables"]["STORE_SALES_REDSHIFT_SECRET_ARN"] == secret
