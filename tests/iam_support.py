"""IAM, proven: the AWS calls the deployed code makes, recorded per principal, checked against the policies the
stack deploys (moto evaluates no IAM policy, so this library does).

- `CallRecorder` sees every AWS API call made through boto3 (botocore event hooks) and records it as an
  `ApiCall`: the principal making it (the template's logical id of its role, set with `acting_as`), the IAM
  action and the ARN of the resource it touches, as the service authorization reference names them.
- `state_machine_calls` reads the calls of the state machine's own Task states (moto's interpreter calls moto's
  backends directly, not through botocore) from an execution's history, for the principal "StateMachineRole".
- `deployed_policies` reads each principal's policies back from moto's IAM after the stack is created, and
  `evaluate` decides every call against them (Allow by Action/NotAction and Resource/NotResource with `*` and
  `?` wildcards, explicit Deny wins). Conditions are not evaluated: every statement that decided a call only
  under a condition is listed in the verdict.
- `markdown_table` renders who may do what, and by which statement; `documented_grants` and `documented_unused`
  read infra/README.md's two tables ("IAM, proven") back, so the tests hold the README to the calls they see.
"""

from __future__ import annotations

import ast
import contextlib
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import boto3
from botocore import handlers
from botocore.model import OperationModel
from infra_support import ACCOUNT

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_stepfunctions import SFNClient

ANY_RESOURCE = "*"
PARTITION = "aws"
STATE_MACHINE_ROLE = "StateMachineRole"
OPERATOR = "OperatorPolicy"  # the managed policy for the people who run the CLI


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
            case "ecs" if request.operation == "RunTask":
                return [("ecs:RunTask", arns.task_definition(params["taskDefinition"]))]
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

    def task_definition(self, name: str) -> str:
        """A task definition's ARN from the ARN or `family:revision` a RunTask names."""
        if name.startswith("arn:"):
            return name
        return f"arn:{PARTITION}:ecs:{self.region}:{self.account}:task-definition/{name}"

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


def state_machine_calls(sfn_client: SFNClient, execution_arn: str) -> list[ApiCall]:
    """The calls of the execution's Task states, made by the state machine's role: each `TaskScheduled` event
    names its integration (`resourceType`, `resource`) and the parameters it was called with. Running an ECS task
    also passes the task definition's task and execution roles (`iam:PassRole`), read from ECS."""
    calls: list[ApiCall] = []
    pages = sfn_client.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    for event in (event for page in pages for event in page["events"]):
        if event["type"] != "TaskScheduled":
            continue
        details = event["taskScheduledEventDetails"]
        parameters = json.loads(details["parameters"])
        arns = Arns(details["region"], execution_arn.split(":")[4])
        integration = (details["resourceType"], details["resource"].split(".")[0])
        match integration:
            case ("lambda", "invoke"):
                function = arns.function(parameters["FunctionName"], parameters.get("Qualifier"))
                calls.append(ApiCall(STATE_MACHINE_ROLE, "lambda:InvokeFunction", function))
            case ("ecs", "runTask"):
                calls += ecs_run_task_calls(parameters["TaskDefinition"], details["region"])
            case ("sns", "publish"):
                calls.append(ApiCall(STATE_MACHINE_ROLE, "sns:Publish", parameters["TopicArn"]))
            case _:
                raise ValueError(f"no IAM mapping for the state machine's integration {integration}")
    return calls


# moto's interpreter follows its runTask with a DescribeTasks of the task it started (it answers with the task's
# description); Step Functions' callback integration makes no such call (its documented policy for
# runTask.waitForTaskToken is ecs:RunTask alone)
INTERPRETER_FOLLOW_UPS = {"ecs:RunTask": "ecs:DescribeTasks"}


def with_state_machine_calls(recorded: list[ApiCall], machine: list[ApiCall]) -> list[ApiCall]:
    """The recorded calls and the state machine's, without the interpreter's own: moto's interpreter makes its
    Task states' calls (Lambda's invoke, ECS's runTask) through boto3, in a thread of its own, so the recorder
    sees them under principal "" as well; a recorded call of principal "" that a Task of the history makes (same
    action and resource) is the state machine's, and so is the interpreter's follow-up of such a call
    (`INTERPRETER_FOLLOW_UPS`). Any other call of principal "" stays (and is denied)."""
    tasks = {(call.action, call.resource) for call in machine}
    follow_ups = {INTERPRETER_FOLLOW_UPS[call.action] for call in machine if call.action in INTERPRETER_FOLLOW_UPS}
    return [
        c for c in recorded if c.principal or ((c.action, c.resource) not in tasks and c.action not in follow_ups)
    ] + machine


def ecs_run_task_calls(task_definition: str, region: str) -> list[ApiCall]:
    """ecs:RunTask on the task definition (its condition key ecs:cluster is listed, not evaluated) and
    iam:PassRole of its roles."""
    ecs = boto3.client("ecs", region_name=region)
    described = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    roles = [role for role in (described.get("taskRoleArn"), described.get("executionRoleArn")) if role]
    return [ApiCall(STATE_MACHINE_ROLE, "ecs:RunTask", described["taskDefinitionArn"])] + [
        ApiCall(STATE_MACHINE_ROLE, "iam:PassRole", role) for role in roles
    ]


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class Statement:
    """One statement of a deployed policy, as IAM reads it."""

    policy: str  # the logical id of the role (its inline policies) or of the managed policy holding it
    sid: str  # the statement's Sid, or "#<index>" in its policy document when it has none
    effect: Effect
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    condition: str = ""  # the Condition block as JSON, "" when unconditional

    @classmethod
    def parse(cls, policy: str, index: int, document: Mapping[str, Any]) -> Statement:
        return cls(
            policy=policy,
            sid=document.get("Sid", f"#{index}"),
            effect=Effect(document["Effect"]),
            actions=listed(document.get("Action")),
            not_actions=listed(document.get("NotAction")),
            resources=listed(document.get("Resource")),
            not_resources=listed(document.get("NotResource")),
            condition=json.dumps(document["Condition"], sort_keys=True) if "Condition" in document else "",
        )

    def matches(self, call: ApiCall) -> bool:
        """Action and resource both match; the condition is not evaluated."""
        if self.actions:
            action = any(wildcard(pattern, call.action, ignore_case=True) for pattern in self.actions)
        else:
            action = not any(wildcard(pattern, call.action, ignore_case=True) for pattern in self.not_actions)
        if self.resources:
            resource = any(wildcard(pattern, call.resource) for pattern in self.resources)
        else:
            resource = not any(wildcard(pattern, call.resource) for pattern in self.not_resources)
        return action and resource

    @property
    def name(self) -> str:
        return f"{self.policy}.{self.sid}"


def listed(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's match: `*` any run of characters, `?` any one character (actions are case-insensitive)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


@dataclass(frozen=True)
class Grant:
    call: ApiCall
    statement: Statement  # the statement that allows it


@dataclass(frozen=True)
class Verdict:
    denied: list[ApiCall]  # calls no statement allows, or an unconditional Deny denies
    unused: list[tuple[str, str]]  # (policy, sid) of each Allow statement that allowed no call
    conditional: list[tuple[str, str, str]]  # (policy, sid, condition) of each statement that decided a call
    granted: list[Grant]  # each allowed call and its allowing statement


def evaluate(policies: Mapping[str, list[Statement]], calls: list[ApiCall]) -> Verdict:
    """Every call (once) against its principal's statements. An unconditional Deny that matches denies. Else an
    unconditional Allow that matches allows; else a conditional Allow that matches allows only under its
    condition, listed. A conditional Deny that matches denies only under its condition: listed, not denied.
    A principal without policies (e.g. "", calls made outside `acting_as`) is denied everything."""
    denied: list[ApiCall] = []
    granted: list[Grant] = []
    conditional: dict[tuple[str, str, str], None] = {}
    for call in dict.fromkeys(calls):
        matching = [statement for statement in policies.get(call.principal, []) if statement.matches(call)]
        for statement in matching:
            if statement.condition and statement.effect is Effect.DENY:
                conditional[(statement.policy, statement.sid, statement.condition)] = None
        if any(s.effect is Effect.DENY and not s.condition for s in matching):
            denied.append(call)
            continue
        allows = sorted((s for s in matching if s.effect is Effect.ALLOW), key=lambda s: bool(s.condition))
        if not allows:
            denied.append(call)
            continue
        granted.append(Grant(call, allows[0]))
        if allows[0].condition:
            conditional[(allows[0].policy, allows[0].sid, allows[0].condition)] = None
    used = {(grant.statement.policy, grant.statement.sid) for grant in granted}
    statements = dict.fromkeys(
        (s.policy, s.sid) for listed_ in policies.values() for s in listed_ if s.effect is Effect.ALLOW
    )
    return Verdict(denied, [key for key in statements if key not in used], list(conditional), granted)


def deployed_policies(
    cloudformation: CloudFormationClient, iam: IAMClient, stack_name: str
) -> dict[str, list[Statement]]:
    """Each principal of the stack (a role, or a managed policy: OperatorPolicy is attached to people) and the
    statements in effect for it, read from IAM: a role's inline policies and its attached managed policies
    (a managed policy of the stack is named by its logical id, any other by its ARN)."""
    resources = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
    summaries = [summary for page in resources for summary in page["StackResourceSummaries"]]
    managed_ids = {
        s["PhysicalResourceId"]: s["LogicalResourceId"]
        for s in summaries
        if s["ResourceType"] == "AWS::IAM::ManagedPolicy"
    }
    policies = {logical: managed_statements(iam, arn, logical) for arn, logical in managed_ids.items()}
    for summary in summaries:
        if summary["ResourceType"] != "AWS::IAM::Role":
            continue
        role, logical = summary["PhysicalResourceId"], summary["LogicalResourceId"]
        statements: list[Statement] = []
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            statements += parsed(logical, document)
        for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            arn = attached["PolicyArn"]
            statements += policies.get(managed_ids.get(arn, ""), []) or managed_statements(iam, arn, arn)
        policies[logical] = statements
    return policies


def managed_statements(iam: IAMClient, arn: str, name: str) -> list[Statement]:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return parsed(name, iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"])


def parsed(policy: str, document: str | Mapping[str, Any]) -> list[Statement]:
    """The statements of a policy document: IAM returns it as JSON text or, decoded by botocore, a mapping; moto's
    CloudFormation stores a role's inline policy as the Python repr of its document (a literal, read as one)."""
    return [Statement.parse(policy, index, s) for index, s in enumerate(listed_statements(decoded(document)))]


def decoded(document: str | Mapping[str, Any]) -> Any:
    """The `Statement` of a policy document."""
    if isinstance(document, Mapping):
        return document["Statement"]
    try:
        return json.loads(document)["Statement"]
    except json.JSONDecodeError:
        return ast.literal_eval(document)["Statement"]


def listed_statements(value: Mapping[str, Any] | list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [value] if isinstance(value, Mapping) else list(value)


GrantRow = tuple[str, str, str]  # principal, action, the statement that allows it ("Policy.Sid")
CALLS_TABLE = "iam-calls"  # infra/README.md's table of principal -> call -> statement, between HTML comments
UNUSED_TABLE = "iam-unused"  # its table of the statements no test call uses, each with the reason


def grant_rows(granted: list[Grant]) -> set[GrantRow]:
    return {(grant.call.principal, grant.call.action, grant.statement.name) for grant in granted}


def markdown_table(rows: set[GrantRow]) -> str:
    """principal | action | allowed by: infra/README.md's table, as the tests' calls make it."""
    lines = ["| principal | action | allowed by |", "| --- | --- | --- |"]
    lines += [f"| {principal} | `{action}` | {statement} |" for principal, action, statement in sorted(rows)]
    return "\n".join(lines) + "\n"


def table_cells(text: str, table: str) -> list[list[str]]:
    """The body rows of the Markdown table between `<!-- table -->` and `<!-- /table -->` in `text`, each a list of
    its cells (backticks dropped)."""
    match = re.search(rf"<!-- {table} -->\n(.*?)<!-- /{table} -->", text, flags=re.DOTALL)
    if match is None:
        raise AssertionError(f"no table <!-- {table} --> ... <!-- /{table} --> in the README")
    rows = [line.strip().strip("|").split("|") for line in match.group(1).strip().splitlines()[2:]]
    return [[cell.strip().strip("`") for cell in row] for row in rows]


def documented_grants(text: str) -> set[GrantRow]:
    """The README's principal -> call -> statement rows."""
    return {(principal, action, statement) for principal, action, statement in table_cells(text, CALLS_TABLE)}


def documented_unused(text: str) -> dict[str, str]:
    """The README's statements that no test call uses ("Policy.Sid"), each with why."""
    return {statement: reason for statement, reason in table_cells(text, UNUSED_TABLE)}
