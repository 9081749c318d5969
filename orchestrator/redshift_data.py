"""Statements through the Amazon Redshift Data API: execute, poll, read every page.

Parameters are always bound through the API's `Parameters` (`:name` placeholders in the SQL), never
formatted into the SQL text. The call is asynchronous: execute, then poll describe with backoff until
the statement ends or the deadline passes (then it is cancelled), then read every page of the result.
Works with a provisioned cluster (database user through IAM, or a Secrets Manager secret) and with
Redshift Serverless (workgroup, IAM or secret). `orchestrator.reports` turns the result into typed
DataFrames.

Why not AWS SDK for pandas (`awswrangler.data_api.redshift.read_sql_query`), the well-kept library for
"Data API -> DataFrame": its Data API reader takes no bound parameters (aws/aws-sdk-pandas #3107), which
our reports and ad hoc questions must have, and it requires pyarrow < 26 where this project pins 26.
The loop here is small: one execute, describe with backoff and a deadline, get_statement_result pages.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from orchestrator.errors import (
    ConfigurationError,
    QueryFailed,
    QueryTimedOut,
    SecretUnreadable,
)

if TYPE_CHECKING:
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient
    from mypy_boto3_redshift_data.type_defs import SqlParameterTypeDef
    from mypy_boto3_secretsmanager import SecretsManagerClient


@dataclass(frozen=True)
class RedshiftTarget:
    """Where statements run: a cluster (with a database user or a secret) or a serverless workgroup."""

    database: str
    cluster_id: str | None = None
    workgroup: str | None = None
    db_user: str | None = None
    secret_arn: str | None = None

    def __post_init__(self) -> None:
        if (self.cluster_id is None) == (self.workgroup is None):
            raise ConfigurationError(
                "Redshift target needs exactly one of redshift_cluster_id (provisioned) or redshift_workgroup "
                "(serverless): set STORE_SALES_REDSHIFT_CLUSTER_ID or STORE_SALES_REDSHIFT_WORKGROUP"
            )
        if self.cluster_id is not None and self.db_user is None and self.secret_arn is None:
            raise ConfigurationError(
                f"Redshift cluster {self.cluster_id} needs a database user (IAM auth) or a secret: set "
                "STORE_SALES_REDSHIFT_DB_USER or STORE_SALES_REDSHIFT_SECRET_ARN"
            )

    def connection_arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {"Database": self.database}
        if self.cluster_id is not None:
            arguments["ClusterIdentifier"] = self.cluster_id
        if self.workgroup is not None:
            arguments["WorkgroupName"] = self.workgroup
        if self.secret_arn is not None:
            arguments["SecretArn"] = self.secret_arn
        elif self.db_user is not None:
            arguments["DbUser"] = self.db_user
        return arguments


@dataclass(frozen=True)
class QueryResult:
    """A statement's rows as Python values, with each column's name and Redshift type name (e.g. `numeric`)."""

    columns: list[tuple[str, str]]
    rows: list[list[Any]]


def check_secret(client: SecretsManagerClient, secret_arn: str) -> None:
    """Fail early, in one line, when the login secret cannot serve the Data API; its value is never shown.

    The Data API reads the secret with the caller's credentials, so the caller needs
    secretsmanager:GetSecretValue on it; Redshift expects JSON with `username` and `password`.
    """
    try:
        value = client.get_secret_value(SecretId=secret_arn).get("SecretString")
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise SecretUnreadable(
                f"Redshift login secret {secret_arn} does not exist (in this account and region): "
                "check redshift_secret_arn / --secret-arn"
            ) from None
        raise SecretUnreadable(
            f"cannot read the Redshift login secret {secret_arn} ({code or 'refused'}): the caller needs "
            "secretsmanager:GetSecretValue on it (and kms:Decrypt on its key if it uses a customer managed key)"
        ) from None
    except BotoCoreError as error:
        raise SecretUnreadable(f"cannot reach Secrets Manager for {secret_arn}: {error}") from None
    try:
        login = json.loads(value or "")
    except json.JSONDecodeError:
        login = None
    if not isinstance(login, dict) or not login.get("username") or not login.get("password"):
        raise SecretUnreadable(
            f"the Redshift login secret {secret_arn} is not JSON with `username` and `password` "
            '(the format the Data API expects): store it as {"username": ..., "password": ...}'
        )


def _field_value(field: Mapping[str, Any]) -> Any:
    if field.get("isNull"):
        return None
    for key in ("stringValue", "longValue", "doubleValue", "booleanValue"):
        if key in field:
            return field[key]
    if "blobValue" in field:
        return field["blobValue"]
    raise QueryFailed(f"Data API returned a field of unknown shape: {dict(field)}")


def _bind(parameters: Mapping[str, object]) -> list[SqlParameterTypeDef]:
    """Data API parameters: every value travels as a string and Redshift casts it."""
    return [{"name": name, "value": str(value)} for name, value in sorted(parameters.items())]


def query(
    client: RedshiftDataAPIServiceClient,
    target: RedshiftTarget,
    sql: str,
    parameters: Mapping[str, object],
    *,
    deadline_seconds: float = 300.0,
    first_poll_seconds: float = 0.25,
    max_poll_seconds: float = 5.0,
) -> QueryResult:
    """Run one statement and return its rows with the result's column names and types."""
    try:
        arguments = target.connection_arguments()
        if parameters:
            arguments["Parameters"] = _bind(parameters)
        statement_id = client.execute_statement(Sql=sql, **arguments)["Id"]
    except (ClientError, BotoCoreError) as error:
        message = " ".join(str(error).split())
        raise QueryFailed(f"Redshift Data API refused the statement: {message}") from None
    deadline = time.monotonic() + deadline_seconds
    delay = first_poll_seconds
    while True:
        description = client.describe_statement(Id=statement_id)
        status = description["Status"]
        if status == "FINISHED":
            break
        if status in {"FAILED", "ABORTED"}:
            raise QueryFailed(
                f"Redshift statement {statement_id} {status.lower()}: {description.get('Error', 'no message')}"
            )
        if time.monotonic() >= deadline:
            client.cancel_statement(Id=statement_id)
            raise QueryTimedOut(
                f"Redshift statement {statement_id} still {status} after {deadline_seconds:.0f} s: cancelled; "
                "retry with a longer --timeout or check the cluster's load"
            )
        time.sleep(delay)
        delay = min(delay * 2, max_poll_seconds)

    columns: list[tuple[str, str]] = []
    rows: list[list[Any]] = []
    if not description.get("HasResultSet", True):
        return QueryResult(columns, rows)
    kwargs: dict[str, Any] = {"Id": statement_id}
    while True:
        page = client.get_statement_result(**kwargs)
        if not columns:
            columns = [
                (column.get("label") or column.get("name") or "", column.get("typeName", ""))
                for column in page["ColumnMetadata"]
            ]
        rows.extend([_field_value(field) for field in record] for record in page["Records"])
        token = page.get("NextToken")
        if not token:
            return QueryResult(columns, rows)
        kwargs["NextToken"] = token
