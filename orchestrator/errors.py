"""One exception root for the whole package, with specific leaves.

Every error carries the process exit code the CLI returns for it, and its message says what was
wrong, where, and what to do. The CLI prints the message on one line; it never shows a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of `python -m orchestrator` (documented in the README)."""

    OK = 0
    PIPELINE_FAILED = 1
    USAGE = 2
    TIMED_OUT = 3
    ENVIRONMENT = 4


class StoreSalesError(Exception):
    """Root of every error the orchestrator raises on purpose."""

    exit_code: ExitCode = ExitCode.ENVIRONMENT


class UsageError(StoreSalesError):
    """Bad input from the user: a malformed date, an unknown option value, a reversed window."""

    exit_code = ExitCode.USAGE


class ConfigurationError(UsageError):
    """A configuration value is missing or invalid (environment variable, config file)."""


class SecretUnreadable(ConfigurationError):
    """The Redshift login secret is missing, unreadable by the caller, or not {username, password} JSON."""


class DataDirError(UsageError):
    """The data directory is missing, unreadable, not writable or does not hold the expected layout."""


class LoadGap(UsageError):
    """A window that would leave landed days unloaded before it (type-2 history needs days in order)."""


class LedgerOutdated(UsageError):
    """The warehouse's run log lacks what this version reads (the view of complete loads)."""


class EnvironmentProblem(StoreSalesError):
    """The machine or a service is not in a state the command can work with (disk, permissions, tools)."""

    exit_code = ExitCode.ENVIRONMENT


class ManifestError(EnvironmentProblem):
    """dbt's target/manifest.json is missing, unreadable, of an unsupported version or older than the project."""


class SelectionError(UsageError):
    """A dbt-style selector names a model or tag the project does not have."""


class OrchestrationConfigError(ConfigurationError):
    """A model's `meta.orchestrator` settings (or a renderer option) are invalid."""


class RunnerPayloadError(UsageError):
    """The task payload the state machine sent to the runner is malformed."""


class RunnerError(StoreSalesError):
    """A dbt task failed inside the runner (Lambda or ECS).

    The class NAME is the error name the state machine sees (Lambda reports `type(error).__name__`,
    the ECS runner sends the same name with SendTaskFailure): Retry and Catch match on it.
    """

    exit_code = ExitCode.PIPELINE_FAILED


class DbtTaskTimedOut(RunnerError):
    """A Lambda task reached the runner's deadline (its 15 minutes less a margin to stop cleanly): dbt's open
    queries were cancelled and rolled back. The definition answers by running the same task on ECS."""


class RedshiftLoginError(RunnerError):
    """The Redshift login secret (RedshiftPasswordSecretArn) cannot be read or has the wrong shape."""

    exit_code = ExitCode.ENVIRONMENT


class TaskStateEnded(RunnerError):
    """The Step Functions state an ECS container works for is over (timed out, or its execution stopped):
    the container stops at once rather than go on loading data nobody waits for."""


class DbtModelFailed(RunnerError):
    """A model (or seed/snapshot) of the task failed to build: never retried."""


class DbtTestFailed(RunnerError):
    """The task's models built but one of their tests failed or errored: never retried."""


class DbtTransientError(RunnerError):
    """An infrastructure hiccup (lock conflict, refused connection, throttling): the state retries it."""

    exit_code = ExitCode.ENVIRONMENT


class DbtCrashed(RunnerError):
    """dbt itself stopped with an exception before or while running the task: never retried."""


class LandingIncomplete(RunnerError):
    """An extract of a day in the window has not fully landed (no `_SUCCESS` marker, or files that do not
    match it): the task stops before dbt, so nothing is loaded. Never retried: the delivery must arrive."""


class RunRecordFailed(RunnerError):
    """The execution's row could not be written to the warehouse's pipeline_runs (its last state)."""

    exit_code = ExitCode.ENVIRONMENT


class ArtifactUploadError(RunnerError):
    """dbt's artifacts could not be uploaded to S3 after the build."""

    exit_code = ExitCode.ENVIRONMENT


class LandingTimedOut(StoreSalesError):
    """`run --wait-for-landing` waited its --timeout and the window's extracts had still not landed."""

    exit_code = ExitCode.TIMED_OUT


class ExecutionConflict(UsageError):
    """Another execution is RUNNING for an overlapping refresh window."""


class ExecutionNotFound(UsageError):
    """The execution named on the command line does not exist."""


class WatchDeadlineExceeded(StoreSalesError):
    """The execution was still running when the watch deadline passed (it keeps running)."""

    exit_code = ExitCode.TIMED_OUT


class QueryFailed(StoreSalesError):
    """Redshift rejected or aborted the statement, or the Data API call itself failed."""


class QueryTimedOut(StoreSalesError):
    """The statement did not finish before the deadline (it was cancelled)."""

    exit_code = ExitCode.TIMED_OUT


class WarehouseBusy(StoreSalesError):
    """A reader of the local warehouse waited its timeout and a pipeline run (or another writer) still held it."""

    exit_code = ExitCode.TIMED_OUT


class LocalAwsError(EnvironmentProblem):
    """The local AWS stand-in (moto server, emulated Lambda/ECS) could not start or deploy."""


class DocsError(EnvironmentProblem):
    """dbt could not generate the docs site, or the site could not be uploaded."""


class DeployError(EnvironmentProblem):
    """A deployment step (render, docker, aws cloudformation) failed or the stack has no expected output."""
