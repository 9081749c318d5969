"""Fixtures of the deployment tests: the template, the definition rendered from a fresh parse of the project, and
the packaged stack created in moto's CloudFormation, its functions called as deployed and its ECS tasks run as
Fargate runs them (`stack`, see tests/infra/test_stack.py)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from engine_support import project_parsed_dir
from faults_support import write_good_landing
from infra_support import (
    BIN,
    ROOT,
    load_template,
)
from moto import mock_aws
from stack_support import (
    PARAMETERS,
    STACK,
    Deployed,
    deployment_network,
    image_environment,
    local_warehouse,
    packaged_template,
)

from orchestrator.definition.graph import DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.definition.state_machine import render, render_file
from orchestrator.local import moto_adapt


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


@contextlib.contextmanager
def created_stack(root: Path) -> Iterator[dict[str, Any]]:
    """The packaged stack created in a fresh moto account, in a network of its own (`parameters`), its runner
    function answered by `Deployed`: the handler its image's Command names, under the function's own environment
    (the warehouse substituted, see stack_support.local_warehouse). `root/data` holds the landing (two good days)
    and the warehouse file."""
    data = root / "data"
    write_good_landing(data)
    definition = render_file(ROOT, root / "statemachine.asl.json", target_path=project_parsed_dir())
    moto_adapt.apply_all()  # the emulator's: Lambda routed, ECS's casing, SendTaskFailure's cause, history pages
    moto_adapt.state_machines_from_cloudformation()
    moto_adapt.task_definitions_from_cloudformation()
    moto_adapt.fargate_containers_sized_by_their_task()
    moto_config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with (
        pytest.MonkeyPatch.context() as monkeypatch,
        mock_aws(config=moto_config),  # type: ignore[arg-type]
        moto_adapt.scaled_waits(0.05),
    ):
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(name, "testing")
        parameters = {**PARAMETERS, **deployment_network()}
        template = packaged_template(definition, parameters)
        deployed = Deployed(template, image_environment(project_parsed_dir()), local_warehouse(data))
        moto_adapt.register_lambda_handler(f"{STACK}-runner", deployed.invoke_runner)
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        with warnings.catch_warnings(record=True) as skipped:
            warnings.simplefilter("always")
            cloudformation.create_stack(
                StackName=STACK,
                TemplateBody=json.dumps(template),
                Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
                Capabilities=["CAPABILITY_NAMED_IAM"],
            )
        attach_managed_policies(template)
        description = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
        try:
            yield {
                "template": template,
                "parameters": parameters,
                "description": description,
                "skipped": [str(w.message) for w in skipped],
                "deployed": deployed,
                "data": data,
                "root": root,
            }
        finally:
            moto_adapt.unregister_lambda_handler(f"{STACK}-runner")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One stack for a module whose tests share one scenario (tests/infra/test_stack.py)."""
    with created_stack(tmp_path_factory.mktemp("stack")) as created:
        yield created


@pytest.fixture
def fresh_stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A stack of its own for each test, in a fresh moto account (tests/infra/test_stack_cli.py)."""
    with created_stack(tmp_path) as created:
        yield created


def attach_managed_policies(template: dict[str, Any]) -> None:
    """Attach each role's ManagedPolicyArns (the stack's own managed policies), as CloudFormation does: moto's
    CloudFormation creates the roles without them, so IAM would answer that no role has one."""
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    summaries = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    physical = {summary["LogicalResourceId"]: summary["PhysicalResourceId"] for summary in summaries}
    iam = boto3.client("iam", region_name="us-east-1")
    for logical, resource in template["Resources"].items():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("ManagedPolicyArns", []):
                iam.attach_role_policy(RoleName=physical[logical], PolicyArn=physical[policy["Ref"]])
