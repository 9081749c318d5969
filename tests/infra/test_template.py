"""The template, checked offline: cfn-lint (as written and as packaged), checkov, hadolint on the Dockerfile,
and least privilege (scoped actions and resources, PassRole, the bucket, the functions' image)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from infra_support import (
    BIN,
    DOCKERFILE,
    ROOT,
    TEMPLATE,
    as_list,
    checkov,
    offline,
    policy_documents,
    resources,
    statements,
)

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
