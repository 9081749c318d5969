"""The deploy command: every template parameter passed, incomplete settings refused, the stack's outputs
become the CLI's configuration."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from infra_support import (
    DOCKERFILE,
)

from orchestrator.cli import deploy
from orchestrator.config import Config, load
from orchestrator.errors import UsageError


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
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:store-sales-pipeline"
    shaped = {"StateMachineArn": arn, "ArtifactsUri": "s3://store-sales-artifacts/dbt"}  # what the CLI accepts
    described = [
        {"OutputKey": name, "OutputValue": shaped.get(name, f"value-of-{name}")}
        for name in outputs
        if name != "RedshiftWorkgroup"
    ]
    values = deploy.config_from_outputs(described)
    path = tmp_path / "store-sales.toml"
    path.write_text(deploy.config_toml(values), encoding="utf-8")
    config = load(path)
    assert config.state_machine_arn == arn
    assert config.redshift_cluster_id == "value-of-RedshiftClusterId" and config.redshift_workgroup is None
    configurable = {f for f in Config.__dataclass_fields__ if f not in {"source", "redshift_secret_arn"}}
    assert set(deploy.OUTPUT_KEYS.values()) == configurable
