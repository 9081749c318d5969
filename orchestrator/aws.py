"""The one factory of boto3 clients, typed per service by the mypy_boto3 stubs.

Every client of the project comes from here, with the SDK's standard retry mode: the command line passes the
configured region (`Config.require("region")`); the runtime (Lambda, ECS) and the trigger pass none and get
their function's region from the environment AWS gives them. Functions that call AWS take their clients as
arguments (tests inject clients of moto's server); only entry points build them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient

MAX_ATTEMPTS = 8


@overload
def aws_client(service: Literal["stepfunctions"], region: str | None = None) -> SFNClient: ...
@overload
def aws_client(service: Literal["s3"], region: str | None = None) -> S3Client: ...
@overload
def aws_client(service: Literal["sns"], region: str | None = None) -> SNSClient: ...
@overload
def aws_client(service: Literal["secretsmanager"], region: str | None = None) -> SecretsManagerClient: ...
@overload
def aws_client(service: Literal["redshift-data"], region: str | None = None) -> RedshiftDataAPIServiceClient: ...
def aws_client(service: str, region: str | None = None) -> Any:
    """A client of `service` in `region` (None: the environment's region), standard retry mode."""
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(  # type: ignore[call-overload]
        service, region_name=region, config=BotoConfig(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
    )
