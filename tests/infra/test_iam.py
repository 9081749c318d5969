"""IAM, proven (tests/iam_support.py): the evaluator on small policies and the recorder on the product's own clients.
The calls of the deployed code are evaluated against the stack's policies in tests/infra/test_stack.py (the
stack's roles) and tests/infra/test_stack_cli.py (the operator's CLI)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from iam_support import (
    CALLS_TABLE,
    UNUSED_TABLE,
    ApiCall,
    CallRecorder,
    Effect,
    Grant,
    Request,
    Statement,
    documented_grants,
    documented_unused,
    evaluate,
    grant_rows,
    markdown_table,
    with_state_machine_calls,
)
from infra_support import load_template, policy_documents, statements
from moto import mock_aws

from orchestrator.aws import aws_client

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:store-sales-pipeline"
BUCKET = "arn:aws:s3:::artifacts"


def allow(sid: str, actions: tuple[str, ...], resources: tuple[str, ...], **more: Any) -> Statement:
    return Statement("Role", sid, Effect.ALLOW, actions=actions, resources=resources, **more)


def call(action: str, resource: str, principal: str = "Role") -> ApiCall:
    return ApiCall(principal, action, resource)


# ---------------------------------------------------------------- the evaluator


def test_a_call_is_allowed_by_the_statement_naming_its_action_and_resource() -> None:
    statement = allow("Start", ("states:StartExecution",), (MACHINE,))
    verdict = evaluate({"Role": [statement]}, [call("states:StartExecution", MACHINE)])
    assert verdict.denied == []
    assert verdict.granted == [Grant(call("states:StartExecution", MACHINE), statement)]


def test_a_call_of_another_action_resource_or_principal_is_denied() -> None:
    policies = {"Role": [allow("Start", ("states:StartExecution",), (MACHINE,))]}
    calls = [
        call("states:StopExecution", MACHINE),
        call("states:StartExecution", MACHINE + "-other"),
        call("states:StartExecution", MACHINE, principal="Other"),
        call("states:StartExecution", MACHINE, principal=""),
    ]
    assert evaluate(policies, calls).denied == calls


def test_actions_match_by_wildcard_and_case_resources_by_wildcard() -> None:
    policies = {
        "Role": [
            allow("Objects", ("s3:get*", "s3:?utObject"), (f"{BUCKET}/dbt-artifacts/*",)),
            allow("Anything", ("logs:*",), ("*",)),
        ]
    }
    allowed = [
        call("s3:GetObject", f"{BUCKET}/dbt-artifacts/e/t/run_results.json"),
        call("s3:PutObject", f"{BUCKET}/dbt-artifacts/x"),
        call("logs:CreateLogStream", "*"),
    ]
    outside = [
        call("s3:PutObject", f"{BUCKET}/docs/index.html"),
        call("s3:ListBucket", BUCKET),
        call("s3:PPutObject", f"{BUCKET}/dbt-artifacts/x"),
    ]
    assert evaluate(policies, allowed + outside).denied == outside


def test_not_action_and_not_resource_allow_everything_but_what_they_name() -> None:
    policies = {
        "Role": [
            Statement("Role", "AllButDelete", Effect.ALLOW, not_actions=("s3:Delete*",), resources=(f"{BUCKET}/*",)),
            Statement("Role", "AllButDocs", Effect.ALLOW, actions=("sns:Publish",), not_resources=("*:docs",)),
        ]
    }
    denied = [call("s3:DeleteObject", f"{BUCKET}/a"), call("sns:Publish", "arn:aws:sns:us-east-1:1:docs")]
    allowed = [call("s3:GetObject", f"{BUCKET}/a"), call("sns:Publish", "arn:aws:sns:us-east-1:1:alerts")]
    assert evaluate(policies, allowed + denied).denied == denied


def test_an_explicit_deny_wins_over_any_allow() -> None:
    everything = allow("Everything", ("*",), ("*",))
    deny = Statement("Role", "NoDocs", Effect.DENY, actions=("s3:PutObject",), resources=(f"{BUCKET}/docs/*",))
    calls = [call("s3:PutObject", f"{BUCKET}/docs/index.html"), call("s3:PutObject", f"{BUCKET}/other")]
    for order in ([everything, deny], [deny, everything]):
        assert evaluate({"Role": order}, calls).denied == calls[:1]


def test_a_statement_allowing_only_under_a_condition_is_listed_with_its_condition() -> None:
    condition = {"ArnEquals": {"ecs:cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/c"}}
    run = allow("RunTask", ("ecs:RunTask",), ("*",), condition=json.dumps(condition, sort_keys=True))
    verdict = evaluate({"Role": [run]}, [call("ecs:RunTask", "arn:task-definition/t:1")])
    assert verdict.denied == []
    assert verdict.conditional == [("Role", "RunTask", json.dumps(condition, sort_keys=True))]
    unconditional = allow("RunAnyTask", ("ecs:RunTask",), ("*",))
    verdict = evaluate({"Role": [run, unconditional]}, [call("ecs:RunTask", "arn:task-definition/t:1")])
    assert verdict.conditional == []  # another statement allows it whatever the condition
    deny = Statement("Role", "NotThere", Effect.DENY, actions=("ecs:*",), resources=("*",), condition='{"Bool": {}}')
    verdict = evaluate({"Role": [unconditional, deny]}, [call("ecs:RunTask", "arn:task-definition/t:1")])
    assert verdict.denied == []  # a conditional deny is listed, not applied
    assert verdict.conditional == [("Role", "NotThere", '{"Bool": {}}')]


def test_an_allow_statement_that_allowed_no_call_is_listed_unused() -> None:
    policies = {
        "Role": [allow("Start", ("states:StartExecution",), (MACHINE,)), allow("Stop", ("states:Stop*",), ("*",))],
        "Other": [Statement("Other", "Publish", Effect.ALLOW, actions=("sns:Publish",), resources=("*",))],
    }
    verdict = evaluate(policies, [call("states:StartExecution", MACHINE)])
    assert verdict.unused == [("Role", "Stop"), ("Other", "Publish")]


def test_a_statement_without_sid_is_named_by_its_index_and_every_statement_of_the_template_has_one() -> None:
    document = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    assert Statement.parse("Role", 3, document).sid == "#3"
    template = load_template()
    missing = [name for name, policy in policy_documents(template) for s in statements(policy) if "Sid" not in s]
    assert missing == []


def test_the_readme_table_is_read_back_as_the_rows_the_tests_make() -> None:
    put = allow("Upload", ("s3:PutObject",), (f"{BUCKET}/*",))
    rows = grant_rows([Grant(call("s3:PutObject", f"{BUCKET}/{key}"), put) for key in ("b", "a", "a")])
    table = markdown_table(rows)
    assert (
        table == "| principal | action | allowed by |\n| --- | --- | --- |\n| Role | `s3:PutObject` | Role.Upload |\n"
    )
    readme = f"text\n<!-- {CALLS_TABLE} -->\n{table}<!-- /{CALLS_TABLE} -->\n"
    readme += f"<!-- {UNUSED_TABLE} -->\n| statement | why |\n| --- | --- |\n| Role.Logs | the service writes |\n"
    readme += f"<!-- /{UNUSED_TABLE} -->\n"
    assert documented_grants(readme) == rows == {("Role", "s3:PutObject", "Role.Upload")}
    assert documented_unused(readme) == {"Role.Logs": "the service writes"}
    with pytest.raises(AssertionError, match="no table"):
        documented_grants("no table here")


# ---------------------------------------------------------------- the recorder


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[CallRecorder]:
    """Installed before moto's mock (which swaps boto3's default session), so the product's clients, created at
    call time by `aws_client`, inherit the hooks."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    recorder = CallRecorder()
    recorder.install()
    try:
        with mock_aws():
            yield recorder
    finally:
        recorder.uninstall()


def test_the_recorder_sees_s3_calls_of_the_product_s_client_as_iam_actions_on_arns(
    recorder: CallRecorder, tmp_path: Path
) -> None:
    setup = boto3.client("s3", region_name="us-east-1")
    setup.create_bucket(Bucket="artifacts")
    file = tmp_path / "manifest.json"
    file.write_text("{}")
    with recorder.acting_as("RunnerFunctionRole"):
        s3 = aws_client("s3", "us-east-1")
        s3.put_object(Bucket="artifacts", Key="dbt-artifacts/e/a.json", Body=b"{}")
        s3.get_object(Bucket="artifacts", Key="dbt-artifacts/e/a.json")
        s3.head_object(Bucket="artifacts", Key="dbt-artifacts/e/a.json")
        s3.list_objects_v2(Bucket="artifacts", Prefix="dbt-artifacts/")
        s3.upload_file(str(file), "artifacts", "dbt-artifacts/e/manifest.json")  # s3transfer's worker threads
    later = threading.Thread(target=lambda: s3.head_bucket(Bucket="artifacts"))  # a thread of the runner's own
    later.start()
    later.join()
    runner = [c for c in recorder.calls if c.principal == "RunnerFunctionRole"]
    assert runner == [
        ApiCall("RunnerFunctionRole", "s3:PutObject", f"{BUCKET}/dbt-artifacts/e/a.json"),
        ApiCall("RunnerFunctionRole", "s3:GetObject", f"{BUCKET}/dbt-artifacts/e/a.json"),
        ApiCall("RunnerFunctionRole", "s3:GetObject", f"{BUCKET}/dbt-artifacts/e/a.json"),
        ApiCall("RunnerFunctionRole", "s3:ListBucket", BUCKET),
        ApiCall("RunnerFunctionRole", "s3:PutObject", f"{BUCKET}/dbt-artifacts/e/manifest.json"),
        ApiCall("RunnerFunctionRole", "s3:ListBucket", BUCKET),
    ]
    assert recorder.calls[0] == ApiCall("", "s3:CreateBucket", BUCKET)  # outside any acting_as: principal ""


def test_the_recorder_sees_step_functions_and_sns_calls_with_their_arns(recorder: CallRecorder) -> None:
    role = "arn:aws:iam::123456789012:role/machine"
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    machine = boto3.client("stepfunctions", region_name="us-east-1").create_state_machine(
        name="store-sales-pipeline", definition=definition, roleArn=role
    )["stateMachineArn"]
    with recorder.acting_as("TriggerFunctionRole"):
        sfn = aws_client("stepfunctions", "us-east-1")
        execution = sfn.start_execution(stateMachineArn=machine, name="day")["executionArn"]
        sfn.describe_execution(executionArn=execution)
        sns = aws_client("sns", "us-east-1")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        sns.publish(TopicArn=topic, Message="late")
    assert machine == MACHINE
    assert recorder.calls[1:] == [
        ApiCall("TriggerFunctionRole", "states:StartExecution", MACHINE),
        ApiCall("TriggerFunctionRole", "states:DescribeExecution", execution),
        ApiCall("TriggerFunctionRole", "sns:CreateTopic", "*"),
        ApiCall("TriggerFunctionRole", "sns:Publish", topic),
    ]


def test_a_run_task_is_named_by_its_task_definition_and_the_interpreter_s_describe_of_it_is_its_own() -> None:
    """moto's interpreter runs an ECS task through boto3 (principal "") and then describes it, which Step Functions'
    callback integration does not: both are the state machine's, read from the history instead."""
    definition = "arn:aws:ecs:us-east-1:123456789012:task-definition/store-sales-runner:3"
    recorder = CallRecorder()
    by_revision = Request("ecs", "RunTask", {"cluster": "c", "taskDefinition": "store-sales-runner:3"}, "us-east-1")
    by_arn = Request("ecs", "RunTask", {"cluster": "c", "taskDefinition": definition}, "us-east-1")
    assert recorder.authorized(by_revision) == recorder.authorized(by_arn) == [("ecs:RunTask", definition)]
    machine = [ApiCall("StateMachineRole", "ecs:RunTask", definition)]
    stop = call("ecs:StopTask", "*", "")
    interpreter = [call("ecs:RunTask", definition, ""), call("ecs:DescribeTasks", "*", ""), stop]
    assert with_state_machine_calls(interpreter, machine) == [stop, *machine]
    assert with_state_machine_calls(interpreter[1:2], []) == interpreter[1:2]  # no RunTask: nobody's, denied


def test_the_recorder_stops_at_uninstall_and_sees_clients_created_after_install_only() -> None:
    recorder = CallRecorder()
    with mock_aws():
        before = boto3.client("sns", region_name="us-east-1")
        recorder.install()
        try:
            during = aws_client("sns", "us-east-1")
            before.list_topics()
            during.list_topics()
        finally:
            recorder.uninstall()
        during.list_topics()
    assert recorder.calls == [ApiCall("", "sns:ListTopics", "*")]
