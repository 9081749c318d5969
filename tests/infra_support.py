"""Tools of the infrastructure tests, installed on first use the way CI can (PyPI and Debian only).

- checkov pins an older boto3 than the project, so it lives in its own virtualenv `.venv/checkov`
  (git-ignored), made once with the pinned version below.
- chromium comes from Debian (`apt-get install chromium`, as root) when it is missing.
- The template is read with cfn-lint's YAML loader (it understands !Ref, !Sub, ...).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
INFRA_README = ROOT / "infra" / "README.md"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
BIN = Path(sys.executable).parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
CHECKOV_VERSION = "3.3.30"
CHECKOV_VENV = ROOT / ".venv" / "checkov"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    template: dict[str, Any] = cfn_yaml.load(str(path))
    return template


@functools.cache
def checkov() -> Path:
    """The checkov executable, installed into its own virtualenv when missing."""
    executable = CHECKOV_VENV / "bin" / "checkov"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(CHECKOV_VENV)], check=True)
        subprocess.run(
            [str(CHECKOV_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
             f"checkov=={CHECKOV_VERSION}"],
            check=True,
        )  # fmt: skip
    return executable


@functools.cache
def chromium() -> str:
    """Debian's chromium, installed with apt-get when missing (the tests run as root in CI)."""
    found = shutil.which("chromium")
    if found is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True, env=env, capture_output=True)
        found = shutil.which("chromium")
    assert found is not None, "apt-get installed chromium but it is not on PATH"
    return found


def offline(argv: list[str]) -> list[str]:
    """Run `argv` in a new network namespace (no network at all) when this machine allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True, check=False).returncode == 0:
        return [unshare, "--net", *argv]
    return argv


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
