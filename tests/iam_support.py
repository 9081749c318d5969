"""IAM, proven: the AWS calls the deployed code makes, recorded per principal, checked against the policies the
stack deploys (moto evaluates no IAM policy, so this library does).

- `CallRecorder` sees every AWS API call made through boto3 (botocore event hooks) and records it as an
  `ApiCall`: the principal making it (the template's logical id of its role, set with `acting_as`), the IAM
  action and the ARN of the resource it touches, as the service authorization reference names them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore import handlers
from botocore.model import OperationModel
from infra_support import ACCOUNT

ANY_RESOURCE = "*"
PARTITION = "aws"


@dataclass(frozen=True)
class ApiCall:
    principal: str  # the template's logical id of the role (or managed policy) making the call
    action: str  # the IAM action, e.g. "states:StartExecution"
    resource: str  # the ARN the call touches, or "*" when the action takes no resource


@dataclass(frozen=True)
class Request:
    """One API call as botocore is about to make it."""

    service: str  # the IAM service prefix (the service model's signing name)
    operation: str
    params: Mapping[str, Any]
    region: str


@dataclass
class CallRecorder:
    """Records every AWS API call made through boto3 while installed.

    A call belongs to the principal of the innermost `acting_as` block of the thread making it; a call of a
    thread outside any block belongs to the principal that was acting when its client was created (the runner
    uploads through s3transfer's worker threads and heartbeats from a thread of its own, with clients made by
    the entry point), else to "". `task_tokens` maps the task tokens handed to a runner to the state machine
    that issued them: a `SendTask*` request names only its token, IAM authorizes it on that state machine.
    `workgroup_ids` maps Redshift Serverless workgroup names to their ids (requests name the workgroup, its ARN
    holds the id).
    """

    account: str = ACCOUNT
    task_tokens: dict[str, str] = field(default_factory=dict)
    workgroup_ids: dict[str, str] = field(default_factory=dict)
    calls: list[ApiCall] = field(default_factory=list)
    _acting: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _installed: bool = False

    def install(self) -> None:
        """Hook the client class creation of boto3's default session and of every botocore session created from
        now on (moto's `mock_aws` swaps in a new default session; some libraries make sessions of their own)."""
        self._installed = True
        handlers.BUILTIN_HANDLERS.append(("creating-client-class", self._add_recording))
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.register("creating-client-class", self._add_recording)

    def uninstall(self) -> None:
        """Stop recording: clients created while installed keep their hook, which records no more."""
        self._installed = False
        handlers.BUILTIN_HANDLERS.remove(("creating-client-class", self._add_recording))
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.unregister("creating-client-class", self._add_recording)

    @contextlib.contextmanager
    def acting_as(self, principal: str) -> Iterator[None]:
        """Calls made by this thread inside the block, and by clients created in it, belong to `principal`."""
        outer = self._principal()
        self._acting.principal = principal
        try:
            yield
        finally:
            self._acting.principal = outer

    def _principal(self) -> str:
        principal: str = getattr(self._acting, "principal", "")
        return principal

    def _add_recording(self, base_classes: list[type], **_: Any) -> None:
        """The client class gets a base whose constructor hooks the new client's own events."""
        base_classes.insert(0, self._recording_base())

    def _recording_base(self) -> type:
        recorder = self

        class Recording:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                creator = recorder._principal()
                self.meta.events.register("provide-client-params", recorder._hook(creator))  # type: ignore[attr-defined]

        return Recording

    def _hook(self, creator: str) -> Callable[..., None]:
        def record(params: Mapping[str, Any], model: OperationModel, context: Mapping[str, Any], **_: Any) -> None:
            if not self._installed:
                return
            request = Request(model.service_model.signing_name, model.name, params, context["client_region"])
            principal = self._principal() or creator
            with self._lock:
                self.calls.extend(ApiCall(principal, action, resource) for action, resource in self.authorized(request))

        return record

    def authorized(self, request: Request) -> list[tuple[str, str]]:
        """The (IAM action, resource ARN) pairs IAM authorizes for `request`."""
        arns = Arns(request.region, self.account)
        params = request.params
        match request.service:
            case "s3":
                return s3_authorized(request.operation, params)
            case "states":
                return [(f"states:{request.operation}", self._states_resource(params))]
            case "sns":
                return [(f"sns:{request.operation}", params.get("TopicArn") or params.get("TargetArn") or "*")]
            case "secretsmanager":
                secret = params.get("SecretId")
                resource = ANY_RESOURCE if secret is None else arns.secret(secret)
                return [(f"secretsmanager:{request.operation}", resource)]
            case "lambda":
                action = "InvokeFunction" if request.operation == "Invoke" else request.operation
                name = params.get("FunctionName")
                resource = ANY_RESOURCE if name is None else arns.function(name, params.get("Qualifier"))
                return [(f"lambda:{action}", resource)]
            case "redshift-data":
                return [(f"redshift-data:{request.operation}", self._data_api_resource(params, arns))]
            case "redshift-serverless":
                name = params.get("workgroupName")
                resource = ANY_RESOURCE if name is None else self._workgroup(name, arns)
                return [(f"redshift-serverless:{request.operation}", resource)]
            case "redshift" if request.operation == "GetClusterCredentials":
                cluster = params["ClusterIdentifier"]
                pairs = [("redshift:GetClusterCredentials", arns.redshift("dbuser", f"{cluster}/{params['DbUser']}"))]
                if "DbName" in params:
                    pairs.append(
                        ("redshift:GetClusterCredentials", arns.redshift("dbname", f"{cluster}/{params['DbName']}"))
                    )
                pairs += [
                    ("redshift:JoinGroup", arns.redshift("dbgroup", f"{cluster}/{g}"))
                    for g in params.get("DbGroups", [])
                ]
                return pairs
            case service:
                return [(f"{service}:{request.operation}", ANY_RESOURCE)]

    def _states_resource(self, params: Mapping[str, Any]) -> str:
        if "taskToken" in params:
            return self.task_tokens.get(params["taskToken"], ANY_RESOURCE)
        for key in ("executionArn", "stateMachineArn", "activityArn", "mapRunArn", "resourceArn"):
            if key in params:
                arn: str = params[key]
                return arn
        return ANY_RESOURCE

    def _data_api_resource(self, params: Mapping[str, Any], arns: Arns) -> str:
        """The cluster or workgroup a statement runs on; the statement operations take no resource."""
        if "ClusterIdentifier" in params:
            return arns.redshift("cluster", params["ClusterIdentifier"])
        if "WorkgroupName" in params:
            return self._workgroup(params["WorkgroupName"], arns)
        return ANY_RESOURCE

    def _workgroup(self, name: str, arns: Arns) -> str:
        if name.startswith("arn:"):
            return name
        workgroup = self.workgroup_ids.get(name, name)
        return f"arn:{PARTITION}:redshift-serverless:{arns.region}:{arns.account}:workgroup/{workgroup}"


@dataclass(frozen=True)
class Arns:
    region: str
    account: str

    def secret(self, secret_id: str) -> str:
        if secret_id.startswith("arn:"):
            return secret_id
        return f"arn:{PARTITION}:secretsmanager:{self.region}:{self.account}:secret:{secret_id}"

    def function(self, name: str, qualifier: str | None) -> str:
        arn = (
            name if name.startswith("arn:") else f"arn:{PARTITION}:lambda:{self.region}:{self.account}:function:{name}"
        )
        return arn if qualifier is None else f"{arn}:{qualifier}"

    def redshift(self, kind: str, name: str) -> str:
        return f"arn:{PARTITION}:redshift:{self.region}:{self.account}:{kind}:{name}"


S3_BUCKET_ACTIONS = {
    "ListObjects": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "HeadBucket": "ListBucket",
    "ListObjectVersions": "ListBucketVersions",
    "ListMultipartUploads": "ListBucketMultipartUploads",
}
S3_OBJECT_ACTIONS = {
    "GetObject": "GetObject",
    "HeadObject": "GetObject",
    "PutObject": "PutObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "AbortMultipartUpload": "AbortMultipartUpload",
    "ListParts": "ListMultipartUploadParts",
    "DeleteObject": "DeleteObject",
}


def s3_authorized(operation: str, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """S3's actions are not its operations' names: a list or head of the bucket is ListBucket on the bucket, a
    head of an object GetObject, each part of a multipart upload PutObject on the object."""
    bucket = f"arn:{PARTITION}:s3:::{params['Bucket']}" if "Bucket" in params else ANY_RESOURCE
    if operation in S3_BUCKET_ACTIONS:
        return [(f"s3:{S3_BUCKET_ACTIONS[operation]}", bucket)]
    if operation in S3_OBJECT_ACTIONS:
        return [(f"s3:{S3_OBJECT_ACTIONS[operation]}", f"{bucket}/{params['Key']}")]
    if operation == "DeleteObjects":
        return [("s3:DeleteObject", f"{bucket}/{item['Key']}") for item in params["Delete"]["Objects"]]
    return [(f"s3:{operation}", bucket if "Key" not in params else f"{bucket}/{params['Key']}")]
