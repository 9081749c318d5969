"""Redshift login by a Secrets Manager secret, for the runner's dbt profile (infra/profiles.yml).

The stack logs in with IAM authentication unless its `RedshiftPasswordSecretArn` parameter names a secret; the
runners then get `STORE_SALES_REDSHIFT_SECRET_ARN`. The secret holds `{"username": ..., "password": ...}` (the
shape Redshift and the Secrets Manager console create). The runner reads it once per process and gives dbt
`STORE_SALES_REDSHIFT_DB_USER` and `DBT_ENV_SECRET_REDSHIFT_PASSWORD` (dbt scrubs every `DBT_ENV_SECRET_*` value
from its logs and artifacts); the profile then logs in with `method: database`. Only the runner roles may read
that one secret (the template's RedshiftAccessPolicy).

dbt's partial parse keys on the login's user and method, which the image's build-time parse (IAM) does not
share: with a secret, the first task of each process parses the project in full.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from orchestrator import settings
from orchestrator.aws import aws_client
from orchestrator.errors import RedshiftLoginError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

SECRET_ARN_ENV = settings.REDSHIFT_SECRET_ARN.name
USER_ENV = settings.REDSHIFT_DB_USER.name
PASSWORD_ENV = "DBT_ENV_SECRET_REDSHIFT_PASSWORD"


def login_environment(
    environ: Mapping[str, str] | None = None, client: SecretsManagerClient | None = None
) -> dict[str, str]:
    """The variables dbt's profile reads for a password login; none when no secret is configured."""
    arn = (os.environ if environ is None else environ).get(SECRET_ARN_ENV, "")
    if not arn:
        return {}
    username, password = _read_secret(arn, client)
    return {USER_ENV: username, PASSWORD_ENV: password}


@functools.cache
def _read_secret(arn: str, client: SecretsManagerClient | None) -> tuple[str, str]:
    if client is None:
        client = aws_client("secretsmanager")
    try:
        text = client.get_secret_value(SecretId=arn)["SecretString"]
    except Exception as error:  # botocore raises several unrelated types (ClientError, EndpointError...)
        code = getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__
        raise RedshiftLoginError(
            f"cannot read the Redshift login secret {arn} ({code}): check that it exists and that the runner's "
            "role may secretsmanager:GetSecretValue on it (the stack grants it for RedshiftPasswordSecretArn)"
        ) from None
    try:
        document = json.loads(text)
        return str(document["username"]), str(document["password"])
    except (ValueError, KeyError, TypeError):
        raise RedshiftLoginError(
            f"the Redshift login secret {arn} is not JSON with `username` and `password`: store it as "
            '{"username": ..., "password": ...}'
        ) from None
