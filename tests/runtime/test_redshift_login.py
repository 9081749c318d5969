"""Redshift login by a Secrets Manager secret: the runner reads the stack's secret (moto's Secrets Manager), and
the image's dbt profile (infra/profiles.yml) then logs in with `method: database`; without a secret, IAM."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from engine_support import ROOT, dbt_command
from moto import mock_aws

from orchestrator.errors import RedshiftLoginError
from orchestrator.runtime import redshift_login

PASSWORD = "correct horse battery staple"


@pytest.fixture
def secrets() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def test_the_secret_becomes_the_profile_s_user_and_password(secrets: Any) -> None:
    arn = secrets.create_secret(Name="login", SecretString=json.dumps({"username": "dbt", "password": PASSWORD}))["ARN"]
    environment = redshift_login.login_environment({redshift_login.SECRET_ARN_ENV: arn}, secrets)
    assert environment == {redshift_login.USER_ENV: "dbt", redshift_login.PASSWORD_ENV: PASSWORD}
    assert redshift_login.PASSWORD_ENV.startswith("DBT_ENV_SECRET_")  # dbt scrubs its value from logs
    assert redshift_login.login_environment({}, secrets) == {}  # no secret: IAM authentication


def test_a_missing_or_malformed_secret_is_one_line_naming_it(secrets: Any) -> None:
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"
    with pytest.raises(
        RedshiftLoginError, match=r"cannot read the Redshift login secret .*gone-AbCdEf.*GetSecretValue"
    ):
        redshift_login.login_environment({redshift_login.SECRET_ARN_ENV: missing}, secrets)
    plain = secrets.create_secret(Name="plain", SecretString=PASSWORD)["ARN"]
    with pytest.raises(RedshiftLoginError, match="is not JSON with `username` and `password`") as failure:
        redshift_login.login_environment({redshift_login.SECRET_ARN_ENV: plain}, secrets)
    assert PASSWORD not in str(failure.value)


@pytest.mark.parametrize(
    ("login", "method"),
    [({redshift_login.USER_ENV: "analyst", redshift_login.PASSWORD_ENV: PASSWORD}, "database"), ({}, "iam")],
    ids=["secret", "iam"],
)
def test_the_image_profile_logs_in_by_password_only_with_a_secret(
    tmp_path: Path, login: dict[str, str], method: str
) -> None:
    """`dbt debug` with the image's profile shows the connection it would open (the connection itself is refused:
    there is no cluster here), and never the password."""
    env = {
        **os.environ,
        **login,
        "STORE_SALES_TARGET": "redshift",
        "STORE_SALES_REDSHIFT_HOST": "127.0.0.1",
        "STORE_SALES_REDSHIFT_PORT": "9",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    command = dbt_command(
        "debug", "--project-dir", str(ROOT), "--profiles-dir", str(ROOT / "infra"), "--target", "redshift",
        "--log-path", str(tmp_path / "logs"),
    )  # fmt: skip
    result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert f"method: {method}" in output, output
    assert PASSWORD not in output
