"""The packaged CloudFormation stack as the deployment tests create it in moto: its parameters, the template
packaged as `deploy` packages it, and its outputs (the `stack` fixture is in tests/infra/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra_support import load_template

STACK = "store-sales"
UNSUPPORTED_BY_MOTO = {
    "AWS::Lambda::EventInvokeConfig",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::Scheduler::Schedule",
}
PARAMETERS = {
    "ImageRepositoryName": "store-sales",
    "ImageDigest": "sha256:" + "0" * 64,
    "SubnetIds": "subnet-0a,subnet-0b",
    "SecurityGroupId": "sg-0a",
    "RedshiftWorkgroupName": "analytics",
    "RedshiftWorkgroupId": "00000000-0000-0000-0000-000000000000",
    "RedshiftHost": "analytics.123456789012.us-east-1.redshift-serverless.amazonaws.com",
    "LandingS3Uri": "s3://landing-bucket/store-sales",
    "AlertEmail": "analytics@example.com",
}


def packaged_template(definition: Path) -> dict[str, Any]:
    """The template with the rendered definition in place of `DefinitionS3Location` (what `cloudformation
    package` uploads) and its `DefinitionSubstitutions` written as the references they stand for, in one
    `Fn::Sub` string (moto's `Fn::Sub` with a variable map runs string.Template, which turns the definition's
    `$$.Execution.Name` into `$.Execution.Name`)."""
    template = load_template()
    machine = template["Resources"]["StateMachine"]["Properties"]
    machine.pop("DefinitionS3Location")
    text = definition.read_text(encoding="utf-8")
    for name, value in machine.pop("DefinitionSubstitutions").items():
        text = text.replace(f"${{{name}}}", reference(value))
    machine["DefinitionString"] = {"Fn::Sub": text}
    return template


def reference(value: Any) -> str:
    """A substitution's value as `Fn::Sub` text: a literal, `${Resource.Attribute}` or `${Name}`."""
    if isinstance(value, str):
        return value
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    index, listed = value["Fn::Select"]  # a subnet: an item of a list parameter
    return PARAMETERS[listed["Ref"]].split(",")[int(index)]


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {output["OutputKey"]: output["OutputValue"] for output in stack["description"]["Outputs"]}
