"""The 07:00 schedule: the execution for yesterday in the schedule's time zone, bad zones and inputs refused."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import boto3
import pytest
from infra_support import (
    ACCOUNT,
    REGION,
    substituted,
)
from moto import mock_aws

from orchestrator.errors import ConfigurationError, UsageError
from orchestrator.runtime import checkpoint, schedule, trigger


@pytest.mark.parametrize(
    ("time_zone", "scheduled_time", "expected"),
    [
        ("America/New_York", "2024-03-10T11:00:00Z", date(2024, 3, 9)),  # 07:00 EDT, the day DST starts
        ("America/New_York", "2024-01-10T12:00:00Z", date(2024, 1, 9)),  # 07:00 EST
        ("Pacific/Auckland", "2024-01-14T18:00:00Z", date(2024, 1, 14)),  # 07:00 NZDT on the 15th
        ("UTC", "2024-01-01T07:00:00Z", date(2023, 12, 31)),
    ],
)
def test_schedule_starts_the_execution_for_yesterday(
    template: dict[str, Any], definition_text: str, time_zone: str, scheduled_time: str, expected: date
) -> None:
    schedule_resource = template["Resources"]["DailySchedule"]["Properties"]
    assert schedule_resource["ScheduleExpression"] == "cron(0 7 * * ? *)"
    assert schedule_resource["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimeZone"}
    assert schedule_resource["State"] == {"Ref": "ScheduleState"}
    assert template["Parameters"]["ScheduleState"]["AllowedValues"] == ["ENABLED", "DISABLED"]
    target = schedule_resource["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["TriggerFunction", "Arn"]}
    function = template["Resources"]["TriggerFunction"]["Properties"]
    assert function["ImageConfig"]["Command"] == ["orchestrator.runtime.trigger.handler"]
    variables = function["Environment"]["Variables"]
    assert variables[schedule.TIME_ZONE_ENV] == {"Ref": "ScheduleTimeZone"}
    # What Scheduler sends: the Input with its context attribute replaced.
    event = json.loads(target["Input"].replace("<aws.scheduler.scheduled-time>", scheduled_time))
    arn_pattern = variables[schedule.STATE_MACHINE_ENV]["Fn::Sub"]
    # not interpreted: the test reads the execution's input; run, it would go on calling the placeholder ARNs
    with mock_aws(config={"stepfunctions": {"execute_state_machine": False}}):
        sfn = boto3.client("stepfunctions", region_name=REGION)
        name = "store-sales-pipeline"
        arn = sfn.create_state_machine(
            name=name, definition=substituted(definition_text, template), roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn"
        )["stateMachineArn"]
        assert arn == arn_pattern.replace("${AWS::Partition}", "aws").replace("${AWS::Region}", REGION).replace(
            "${AWS::AccountId}", ACCOUNT
        ).replace("${AWS::StackName}", "store-sales")
        env = {schedule.STATE_MACHINE_ENV: arn, schedule.TIME_ZONE_ENV: time_zone}
        ref = trigger.start_daily(event, env, sfn)
        execution = sfn.describe_execution(executionArn=ref.arn)
    day = expected.isoformat()
    assert ref.name == f"store-sales-{day}-r1"
    assert json.loads(execution["input"]) == {
        "full_refresh": False,
        "full_tests": False,
        "nodes": None,
        "allow_missing": [],
        "refresh_window": {"end": day, "start": day},
        "window_days": 1,
        "completes_window": True,
        "allow_gap": False,
    }


def test_schedule_rejects_a_bad_time_zone_or_input() -> None:
    with pytest.raises(ConfigurationError, match="IANA"):
        schedule.refresh_date("2024-01-01T07:00:00Z", "Mars/Olympus")
    with pytest.raises(UsageError, match="scheduled_time"):
        trigger.start_daily({}, {schedule.STATE_MACHINE_ENV: "arn"}, None)


def test_the_at_risk_checkpoints_fire_before_the_deadline_with_it_and_alert_once_a_day(
    template: dict[str, Any],
) -> None:
    """AtRiskSchedule: at AtRiskCheckMinutes of AtRiskCheckHour (default 08:00 and 08:30) in the schedule's zone, the
    trigger gets the deadline with the scheduled time; the trigger knows where to record the days it alerted for."""
    resource = template["Resources"]["AtRiskSchedule"]["Properties"]
    assert resource["ScheduleExpression"] == {"Fn::Sub": "cron(${AtRiskCheckMinutes} ${AtRiskCheckHour} * * ? *)"}
    parameters = template["Parameters"]
    assert (parameters["AtRiskCheckHour"]["Default"], parameters["AtRiskCheckMinutes"]["Default"]) == (8, "0,30")
    assert resource["ScheduleExpressionTimezone"] == {"Ref": "ScheduleTimeZone"}
    assert resource["State"] == {"Ref": "ScheduleState"}
    assert resource["Target"]["Arn"] == {"Fn::GetAtt": ["TriggerFunction", "Arn"]}
    sent = resource["Target"]["Input"]["Fn::Sub"].replace("<aws.scheduler.scheduled-time>", "2024-01-02T08:00:00Z")
    event = json.loads(sent.replace("${DeadlineHour}", "09").replace("${DeadlineMinute}", "00"))  # as typed
    assert event == {schedule.AT_RISK_KEY: "2024-01-02T08:00:00Z", "deadline": "09:00"}
    variables = template["Resources"]["TriggerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables[checkpoint.ALERTS_URI_ENV] == {"Fn::Sub": "s3://${ArtifactsBucket}/alerts"}
