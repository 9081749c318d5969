"""The deploy command: every template parameter passed, incomplete or bad settings refused before anything runs,
`deploy` runs exactly the script `--print` shows, and its last step writes the stack's outputs as the CLI's
configuration."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from cli_support import assert_one_line_error, cli
from infra_support import (
    DOCKERFILE,
)

from orchestrator.cli import deploy
from orchestrator.config import Config, load
from orchestrator.errors import ExitCode, UsageError

DEPLOY = (
    "deploy",
    "--region", "eu-west-1",
    "--package-bucket", "my-cfn-packages",
    "--subnet-ids", "subnet-1,subnet-2",
    "--security-group-id", "sg-1",
    "--redshift-host", "analytics.abc.eu-west-1.redshift.amazonaws.com",
    "--landing-s3-uri", "s3://landing-bucket/store-sales",
    "--redshift-cluster-id", "analytics",
)  # fmt: skip
ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:store-sales-pipeline"
REGISTRY_LOGIN = "the-registry-login-of-the-test"  # what `aws ecr get-login-password` answers, piped to docker


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


def stack_outputs(template: dict[str, Any]) -> list[dict[str, str]]:
    """What `describe-stacks --query Stacks[0].Outputs` answers for a provisioned cluster's stack."""
    shaped = {  # what the CLI accepts
        "StateMachineArn": ARN,
        "ArtifactsUri": "s3://store-sales-artifacts/dbt",
        "LandingS3Uri": "s3://landing-bucket/store-sales",
    }
    return [
        {"OutputKey": name, "OutputValue": shaped.get(name, f"value-of-{name}")}
        for name in template["Outputs"]
        if name != "RedshiftWorkgroup"
    ]


def commands(script: str) -> list[str]:
    """The script's commands, in order (comments and `set -eu` left out)."""
    return [line for line in script.splitlines()[1:] if not line.startswith("#")]


def test_deploy_script_passes_every_template_parameter(template: dict[str, Any]) -> None:
    script = deploy.script(deploy_settings(), Path("store-sales.toml"))
    lines = commands(script)
    assert script.startswith("set -eu\n")
    assert lines[:2] == ["dbt parse --quiet", "python -m orchestrator render --out target/statemachine.asl.json"]
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
    # the last step writes the configuration file
    assert lines[-1] == (
        "aws cloudformation describe-stacks --stack-name store-sales --query 'Stacks[0].Outputs' --output json "
        "--region eu-west-1 | python -m orchestrator write-config --config-file store-sales.toml"
    )


def test_deploy_runs_exactly_the_printed_script(template: dict[str, Any], tmp_path: Path) -> None:
    """Every command `deploy` runs is the script's, in its order, with the captured values in place of its
    variables; the last one (run for real) writes the configuration file."""
    config, config_file = deploy_settings(), tmp_path / "store-sales.toml"
    answers = {
        "get-caller-identity": "123456789012\n",
        "get-login-password": REGISTRY_LOGIN,
        "describe-images": "sha256:feed\n",
        "describe-stacks": json.dumps(stack_outputs(template)),
    }
    ran: list[tuple[list[str], str | None]] = []

    def runner(argv: Sequence[str], stdin: str | None) -> str:
        ran.append((list(argv), stdin))
        if "write-config" in argv:
            return deploy.run_command(argv, stdin)
        return next((answer for word, answer in answers.items() if word in argv), "")

    line = deploy.execute(config, config_file, runner)

    expanded = deploy.script(config, config_file).replace("${ACCOUNT_ID}", "123456789012")
    expanded = expanded.replace("${IMAGE_DIGEST}", "sha256:feed")
    printed = [
        shlex.split(part)
        for command in commands(expanded)
        for part in re.sub(r"^[A-Z_]+=\$\((.*)\)$", r"\1", command).split(" | ")
    ]
    assert [argv for argv, _ in ran] == printed
    piped = {argv[0]: stdin for argv, stdin in ran if stdin is not None}
    assert piped == {"docker": answers["get-login-password"], "python": answers["describe-stacks"]}
    assert line == f"wrote {config_file}: state machine {ARN}"
    assert load(config_file).state_machine_arn == ARN


BAD_VALUES = [
    ("--schedule-time-zone", "Mars/X", "--schedule-time-zone 'Mars/X' is not a time zone: give an IANA time zone"),
    ("--alert-email", "notanemail", "--alert-email 'notanemail' is not an e-mail address: give one like"),
    ("--region", "nowhere-1", "--region 'nowhere-1' is not an AWS region (botocore"),
]


@pytest.mark.parametrize("printing", [True, False], ids=["print", "run"])
@pytest.mark.parametrize(("option", "value", "message"), BAD_VALUES, ids=[bad[0] for bad in BAD_VALUES])
def test_deploy_refuses_a_bad_value_before_anything_runs(
    tmp_path: Path, option: str, value: str, message: str, printing: bool
) -> None:
    """The CLI refuses in one line with exit code 2; no tool started (each one on the PATH records its call), no
    file written, nothing printed."""
    tools, calls, project = tmp_path / "bin", tmp_path / "calls.log", tmp_path / "project"
    tools.mkdir()
    project.mkdir()
    for tool in ("aws", "docker", "dbt", "python"):
        (tools / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n', encoding="utf-8")
        (tools / tool).chmod(0o755)
    config_file = tmp_path / "store-sales.toml"
    result = cli(
        *DEPLOY, option, value, "--config-file", str(config_file), *(["--print"] if printing else []),
        env={"PATH": f"{tools}{os.pathsep}{os.environ['PATH']}", "STORE_SALES_PROJECT_DIR": str(project)},
    )  # fmt: skip
    assert_one_line_error(result, ExitCode.USAGE, f"error: {message}")
    assert result.stdout == ""
    assert not calls.exists() and not config_file.exists() and list(project.iterdir()) == []


def test_the_good_values_pass() -> None:
    """The other side of the refusals: real zones, addresses and regions of every partition are accepted."""
    for zone in ("UTC", "America/New_York", "Pacific/Auckland"):
        assert deploy_settings(schedule_time_zone=zone).schedule_time_zone == zone
    for email in ("data-team@example.com", "first.last+alerts@mail.example.co.uk"):
        assert deploy_settings(alert_email=email).alert_email == email
    for region in ("eu-west-1", "us-east-1", "cn-north-1", "us-gov-west-1"):
        assert deploy_settings(region=region).region == region


def test_deploy_rejects_incomplete_settings() -> None:
    with pytest.raises(UsageError, match="two subnets"):
        deploy_settings(subnet_ids=("subnet-1",))
    with pytest.raises(UsageError, match="either"):
        deploy_settings(redshift_workgroup="wg")
    with pytest.raises(UsageError, match="workgroup-id"):
        deploy_settings(redshift_cluster_id="", redshift_workgroup="wg")
    for email in ("notanemail", "two@@example.com", "x@example", "x@.com", "x y@example.com"):
        with pytest.raises(UsageError, match=r"--alert-email .* is not an e-mail address"):
            deploy_settings(alert_email=email)
    with pytest.raises(UsageError, match=r"--region 'eu-west1' is not an AWS region \(did you mean eu-west-1\?\)"):
        deploy_settings(region="eu-west1")


def test_deploy_refuses_a_region_without_a_service_of_the_stack() -> None:
    """botocore's endpoint data: a region with Redshift but not Redshift Serverless takes a cluster, not a workgroup."""
    session = botocore.session.get_session()
    without_serverless = sorted(
        set(session.get_available_regions("redshift")) - set(session.get_available_regions("redshift-serverless"))
    )
    assert without_serverless, "every region offers Redshift Serverless now: pick another missing service"
    region = without_serverless[0]
    assert deploy_settings(region=region).region == region
    with pytest.raises(UsageError, match=f"--region '{region}' does not offer redshift-serverless"):
        deploy_settings(region=region, redshift_cluster_id="", redshift_workgroup="wg", redshift_workgroup_id="id")


def test_stack_outputs_become_the_cli_configuration(template: dict[str, Any], tmp_path: Path) -> None:
    outputs = template["Outputs"]
    assert set(deploy.OUTPUT_KEYS) <= set(outputs)
    for output, key in deploy.OUTPUT_KEYS.items():
        assert outputs[output]["Description"] == f"[aws] {key}"
    path = tmp_path / "store-sales.toml"
    written = cli("write-config", "--config-file", str(path), stdin=json.dumps(stack_outputs(template)))
    assert written.returncode == 0, written.stderr
    config = load(path)
    assert config.state_machine_arn == ARN
    assert config.redshift_cluster_id == "value-of-RedshiftClusterId" and config.redshift_workgroup is None
    configurable = {f for f in Config.__dataclass_fields__ if f not in {"source", "redshift_secret_arn"}}
    assert set(deploy.OUTPUT_KEYS.values()) == configurable


def test_write_config_refuses_an_empty_input_and_writes_nothing(tmp_path: Path) -> None:
    """What a failed `describe-stacks` leaves in the printed script's pipe (a POSIX shell has no pipefail)."""
    path = tmp_path / "store-sales.toml"
    written = cli("write-config", "--config-file", str(path), stdin="")
    assert written.returncode == ExitCode.USAGE
    assert written.stderr.strip().startswith("error: write-config read nothing on its standard input")
    assert len(written.stderr.strip().splitlines()) == 1 and not path.exists()
