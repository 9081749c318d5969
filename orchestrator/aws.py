"""The one factory of the command line's boto3 clients (the runtime's code gets its clients injected, or
builds them from the Lambda/ECS environment)."""

from __future__ import annotations

from typing import Any

from orchestrator.config import Config


def aws_client(service: str, config: Config) -> Any:
    """Every boto3 client of the CLI: the configured region and the SDK's standard retry mode."""
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=config.require("region"),
        config=BotoConfig(retries={"mode": "standard", "max_attempts": 8}),
    )
