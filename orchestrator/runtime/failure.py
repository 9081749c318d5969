"""A failed execution told in one line: what its alert, its run-log row, its execution cause and the CLI say.

A task's error reaches the definition as Step Functions' `{"Error", "Cause"}`; the `Failure in <task>` state
prefixes the cause with the task (`TASK_FAILURE_PREFIX`), since a Parallel branch's Fail state carries nothing
else. The cause inside is the runner's own message for an ECS task (SendTaskFailure), but for a Lambda task it
is the JSON error the Lambda runtime makes (`errorMessage`, `errorType`, `stackTrace` with the runtime's file
paths). `describe` reduces any of these to the one line a person reads: the runner's message (which already
names the task, the window, what was wrong and what to do) or, for an error the runner did not raise (a Lambda
or ECS service error, a timeout), the task and the error. The definition's `Describe failure` state calls it
through the runner function (`{"describe_failure": ...}`, see `orchestrator.runtime.lambda_handler`), and the
alert it returns is that line plus the execution's name and the command that resumes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The cause the definition's `Failure in <task>` state writes: States.Format('task <task> (models: <models>)
# failed with {}: {}', Error, Cause) (orchestrator.definition.state_machine)
TASK_FAILURE_PREFIX = re.compile(r"^task (?P<task>\S+) \(models: [^)]*\) failed with (?P<error>[^:]+): ", re.DOTALL)
LINE_LIMIT = 2000
SUBJECT_LIMIT = 100  # SNS: at most 100 printable ASCII characters, no line break
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class FailureReport:
    """One failed execution: `line` says what failed and what to do; `subject` and `message` are its alert."""

    execution: str
    error: str
    task: str | None
    line: str

    @property
    def resume_command(self) -> str:
        return f"python -m orchestrator resume {self.execution}"

    @property
    def subject(self) -> str:
        where = f" in task {self.task}" if self.task else ""
        text = f"Store sales {self.execution} failed{where}: {self.error}"
        text = text.encode("ascii", "replace").decode("ascii")
        return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."

    @property
    def message(self) -> str:
        return f"{self.line} (execution {self.execution}; once fixed, resume it with `{self.resume_command}`)"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message, "subject": self.subject}


def describe(execution: str, error: Mapping[str, Any]) -> FailureReport:
    """The report of `execution`, failed with `error` (the definition's `{"Error", "Cause"}`)."""
    name = str(error.get("Error") or "UnknownError")
    task, cause = split_cause(str(error.get("Cause") or ""))
    text = one_line(lambda_error_message(cause))
    if task is None or text.startswith(f"task {task} "):
        line = text or name
    else:
        line = f"task {task} failed with {name}" + (f": {text}" if text else "")
    return FailureReport(execution, name, task, _limited(line))


def line_of(error: str | None, cause: str | None) -> str | None:
    """The one line of an execution's error and cause as Step Functions keeps them (None when it has neither).
    New executions' causes already are that line; older ones held the task prefix and Lambda's JSON error."""
    if not error and not cause:
        return None
    return describe("", {"Error": error, "Cause": cause}).line


def split_cause(cause: str) -> tuple[str | None, str]:
    """(the task, the cause within) of a `Failure in <task>` cause; (None, cause) for any other."""
    match = TASK_FAILURE_PREFIX.match(cause)
    if match is None:
        return None, cause
    return match["task"], cause[match.end() :]


def lambda_error_message(cause: str) -> str:
    """The `errorMessage` of the Lambda runtime's JSON error; any other cause as it is."""
    if not cause.lstrip().startswith("{"):
        return cause
    try:
        document = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(document, dict) and "errorMessage" in document:
        return str(document["errorMessage"])
    return cause


def one_line(text: str) -> str:
    """`text` without colour codes, line breaks or runs of blanks."""
    return " ".join(ANSI_ESCAPE.sub("", text).split())


def _limited(line: str) -> str:
    return line if len(line) <= LINE_LIMIT else line[: LINE_LIMIT - 3] + "..."
