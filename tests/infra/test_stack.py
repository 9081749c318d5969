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
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest
from faults_support import FIRST
from stack_support import PARAMETERS, STACK, UNSUPPORTED_BY_MOTO, outputs

from orchestrator import cli
from orchestrator.cli import deploy
from orchestrator.errors import ExitCode

pytestmark = pytest.mark.slow


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
