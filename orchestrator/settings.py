"""Every setting read from the environment, in one registry, and where things live.

Each `STORE_SALES_*` variable the package, the dbt project (macros, profiles) or the stack reads is a
`Setting` here: its name, what it accepts and its default. `validate()` checks all of them at once; the CLI
calls it before any command does anything (no execution starts, no lock is taken with a bad value), and the
runner calls it for its own environment on AWS, where the CLI is not in the loop. An empty value counts as
unset. Booleans are `true`, `false`, `1` or `0` (any case), nothing else.

With no configuration at all everything is under the project: `data/` holds the landing extracts and
`data/warehouse.duckdb` the embedded warehouse. Two variables move them: `STORE_SALES_DATA_DIR` (the
landing data directory) and `STORE_SALES_DUCKDB` (the warehouse file). `STORE_SALES_PROJECT_DIR` points at
the dbt project when the package is installed elsewhere (the container image sets it).
"""

from __future__ import annotations

import contextlib
import os
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

from orchestrator.errors import ConfigurationError

DEFAULT_TARGET = "local"
DEFAULT_REPORTS_SCHEMA = "store_sales"
WAREHOUSE_FILE_NAME = "warehouse.duckdb"


class Kind(StrEnum):
    """What a setting accepts."""

    TEXT = "text"
    WHOLE_NUMBER = "whole number"
    SECONDS = "seconds"
    BOOLEAN = "boolean"
    DATE = "date"
    DIRECTORY = "directory"  # when it exists, a directory (a command may create it)
    FILE = "file"  # when it exists, a file (a command may create it)
    EXISTING_DIRECTORY = "existing directory"
    EXISTING_FILE = "existing file"
    S3_FOLDER = "s3 folder"
    ARN = "arn"
    TIME_ZONE = "time zone"


TRUE_WORDS = frozenset({"true", "1"})
FALSE_WORDS = frozenset({"false", "0"})


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, what it is, what it accepts and its default (None: none, or derived
    from other settings as `about` says)."""

    name: str
    kind: Kind
    about: str
    default: str | None = None
    minimum: int | None = None
    maximum: int | None = None

    def accepts(self) -> str:
        """What the setting accepts, in words."""
        match self.kind:
            case Kind.WHOLE_NUMBER:
                if self.minimum is not None and self.maximum is not None:
                    return f"a whole number from {self.minimum} to {self.maximum}"
                return "a whole number" if self.minimum is None else f"a whole number of at least {self.minimum}"
            case Kind.SECONDS:
                return "a number of seconds greater than 0"
            case Kind.BOOLEAN:
                return "true, false, 1 or 0"
            case Kind.DATE:
                return "a date YYYY-MM-DD"
            case Kind.DIRECTORY:
                return "a directory"
            case Kind.EXISTING_DIRECTORY:
                return "an existing directory"
            case Kind.FILE:
                return "a file"
            case Kind.EXISTING_FILE:
                return "an existing file"
            case Kind.S3_FOLDER:
                return "an S3 folder, s3://bucket/prefix"
            case Kind.ARN:
                return "an ARN, arn:aws:..."
            case Kind.TIME_ZONE:
                return "an IANA time zone such as UTC or America/New_York"
            case Kind.TEXT:
                return "any text"

    def raw(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The value as set (stripped), or None when unset or empty."""
        text = (os.environ if environ is None else environ).get(self.name, "").strip()
        return text or None

    def text(self, environ: Mapping[str, str] | None = None) -> str | None:
        """The value as set, else the default."""
        return self.raw(environ) or self.default

    def flag(self, environ: Mapping[str, str] | None = None) -> bool:
        """A boolean setting's value (its default when unset); a ConfigurationError for anything else."""
        text = self.text(environ) or "false"
        self.check(text)
        return text.lower() in TRUE_WORDS

    def seconds(self, environ: Mapping[str, str] | None = None) -> float:
        """A duration setting's value (its default when unset); a ConfigurationError when it is not one."""
        text = self.text(environ) or ""
        self.check(text)
        return float(text)

    def check(self, text: str) -> None:
        """Refuse `text` with a ConfigurationError naming the setting and what it accepts."""
        problem = self.problem(text.strip())
        if problem is not None:
            raise ConfigurationError(f"{self.name}={text!r} {problem}: set it to {self.advice()}, or unset it")

    def advice(self) -> str:
        """What to set instead of a refused value: what the setting accepts, and what it is."""
        return f"{self.accepts()} ({self.about})"

    def problem(self, text: str) -> str | None:
        """Why `text` is refused, or None when it is accepted."""
        match self.kind:
            case Kind.WHOLE_NUMBER:
                if not (text.isascii() and text.isdigit()):
                    return "is not a whole number"
                value = int(text)
                if self.minimum is not None and value < self.minimum:
                    return f"is below {self.minimum}"
                if self.maximum is not None and value > self.maximum:
                    return f"is above {self.maximum}"
            case Kind.SECONDS:
                try:
                    seconds = float(text)
                except ValueError:
                    return "is not a number"
                if not seconds > 0:
                    return "is not positive"
            case Kind.BOOLEAN:
                if text.lower() not in TRUE_WORDS | FALSE_WORDS:
                    return "is not a boolean"
            case Kind.DATE:
                try:
                    date.fromisoformat(text)
                except ValueError:
                    return "is not a date"
            case Kind.DIRECTORY | Kind.EXISTING_DIRECTORY:
                if Path(text).exists() and not Path(text).is_dir():
                    return "is not a directory"
                if self.kind is Kind.EXISTING_DIRECTORY and not Path(text).exists():
                    return "does not exist"
            case Kind.FILE | Kind.EXISTING_FILE:
                if Path(text).is_dir():
                    return "is a directory"
                if self.kind is Kind.EXISTING_FILE and not Path(text).exists():
                    return "does not exist"
            case Kind.S3_FOLDER:
                if not text.startswith("s3://") or not text.removeprefix("s3://").split("/")[0]:
                    return "is not an S3 folder"
            case Kind.ARN:
                if not text.startswith("arn:"):
                    return "is not an ARN"
            case Kind.TIME_ZONE:
                try:
                    zoneinfo.ZoneInfo(text)
                except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
                    return "is not a time zone"
            case Kind.TEXT:
                return None
        return None


# Where things live (read by the package, the runner and the profiles)
PROJECT_DIR = Setting(
    "STORE_SALES_PROJECT_DIR", Kind.EXISTING_DIRECTORY, "the dbt project directory, by default the repository root"
)
DATA_DIR = Setting(
    "STORE_SALES_DATA_DIR", Kind.DIRECTORY, "the landing data directory, by default <project>/data, made by sample-data"
)
DUCKDB = Setting("STORE_SALES_DUCKDB", Kind.FILE, "the DuckDB warehouse file, by default <data dir>/warehouse.duckdb")
TARGET = Setting("STORE_SALES_TARGET", Kind.TEXT, "the dbt target", default=DEFAULT_TARGET)
CONFIG = Setting(
    "STORE_SALES_CONFIG", Kind.EXISTING_FILE, "the configuration file, by default <project>/store-sales.toml"
)
DEBUG = Setting("STORE_SALES_DEBUG", Kind.BOOLEAN, "a traceback instead of the one-line error", default="false")
# The runner's memory in MB (the ECS task definition sets it): DuckDB's memory limit and threads follow it
# (macros/warehouse_resources.sql; in Lambda the runtime's AWS_LAMBDA_FUNCTION_MEMORY_SIZE serves).
MEMORY = Setting("STORE_SALES_MEMORY_MB", Kind.WHOLE_NUMBER, "the runner's memory in MB", minimum=128)
SPILL_DIR = Setting("STORE_SALES_SPILL_DIR", Kind.DIRECTORY, "where DuckDB spills, by default beside the warehouse")
# The refresh window and the data tests' scope, read by dbt at execution time (orchestrator.window)
WINDOW_START = Setting("STORE_SALES_WINDOW_START", Kind.DATE, "the first load date of the refresh window")
WINDOW_END = Setting("STORE_SALES_WINDOW_END", Kind.DATE, "the last load date of the refresh window")
FULL_TESTS = Setting("STORE_SALES_FULL_TESTS", Kind.BOOLEAN, "whole-table data tests, as --full-tests", default="false")
# AWS: the deployed stack and its warehouse (orchestrator.config reads the ones the [aws] table also holds)
STATE_MACHINE_ARN = Setting("STORE_SALES_STATE_MACHINE_ARN", Kind.ARN, "the deployed state machine")
ARTIFACTS_URI = Setting("STORE_SALES_ARTIFACTS_URI", Kind.S3_FOLDER, "where tasks upload dbt artifacts")
LANDING_S3_URI = Setting("STORE_SALES_LANDING_S3_URI", Kind.S3_FOLDER, "the S3 folder holding landing/")
ALERT_TOPIC_ARN = Setting("STORE_SALES_ALERT_TOPIC_ARN", Kind.ARN, "the alert topic of the deadline check")
ALERTS_URI = Setting(
    "STORE_SALES_ALERTS_URI", Kind.S3_FOLDER, "where the at-risk check records each day it has alerted for"
)
SCHEDULE_TIME_ZONE = Setting(
    "STORE_SALES_SCHEDULE_TIME_ZONE", Kind.TIME_ZONE, "the schedule's and the deadline's time zone", default="UTC"
)
DOCS_BUCKET = Setting("STORE_SALES_DOCS_BUCKET", Kind.TEXT, "the bucket the dbt docs are published to")
DOCS_PREFIX = Setting("STORE_SALES_DOCS_PREFIX", Kind.TEXT, "the key prefix of the dbt docs", default="docs")
REDSHIFT_CLUSTER_ID = Setting("STORE_SALES_REDSHIFT_CLUSTER_ID", Kind.TEXT, "the Redshift cluster")
REDSHIFT_WORKGROUP = Setting("STORE_SALES_REDSHIFT_WORKGROUP", Kind.TEXT, "the Redshift Serverless workgroup")
REDSHIFT_HOST = Setting("STORE_SALES_REDSHIFT_HOST", Kind.TEXT, "the Redshift host")
REDSHIFT_PORT = Setting("STORE_SALES_REDSHIFT_PORT", Kind.WHOLE_NUMBER, "the Redshift port", minimum=1, maximum=65535)
REDSHIFT_DATABASE = Setting("STORE_SALES_REDSHIFT_DATABASE", Kind.TEXT, "the Redshift database")
REDSHIFT_SCHEMA = Setting("STORE_SALES_REDSHIFT_SCHEMA", Kind.TEXT, "the Redshift schema of the models")
REDSHIFT_DB_USER = Setting("STORE_SALES_REDSHIFT_DB_USER", Kind.TEXT, "the Redshift database user of an IAM login")
REDSHIFT_USER = Setting("STORE_SALES_REDSHIFT_USER", Kind.TEXT, "the Redshift user of a password login")
REDSHIFT_PASSWORD = Setting("STORE_SALES_REDSHIFT_PASSWORD", Kind.TEXT, "the Redshift password of a password login")
REDSHIFT_SECRET_ARN = Setting("STORE_SALES_REDSHIFT_SECRET_ARN", Kind.ARN, "the Redshift login secret")
REPORTS_SCHEMA = Setting(
    "STORE_SALES_REPORTS_SCHEMA", Kind.TEXT, "the schema of the report models", default=DEFAULT_REPORTS_SCHEMA
)
SPECTRUM_ROLE_ARN = Setting("STORE_SALES_SPECTRUM_ROLE_ARN", Kind.ARN, "the Redshift Spectrum role")
GLUE_DATABASE = Setting(
    "STORE_SALES_GLUE_DATABASE", Kind.TEXT, "the Glue database of the landing", default="store_sales_landing"
)
AWS_PROFILE = Setting("STORE_SALES_AWS_PROFILE", Kind.TEXT, "the AWS profile of dbt's IAM login", default="default")
# PostgreSQL (the `postgres` target)
PG_HOST = Setting("STORE_SALES_PG_HOST", Kind.TEXT, "the PostgreSQL host", default="127.0.0.1")
PG_PORT = Setting(
    "STORE_SALES_PG_PORT", Kind.WHOLE_NUMBER, "the PostgreSQL port", default="5432", minimum=1, maximum=65535
)
PG_USER = Setting("STORE_SALES_PG_USER", Kind.TEXT, "the PostgreSQL user", default="store_sales")
PG_PASSWORD = Setting("STORE_SALES_PG_PASSWORD", Kind.TEXT, "the PostgreSQL password")
PG_DATABASE = Setting("STORE_SALES_PG_DATABASE", Kind.TEXT, "the PostgreSQL database", default="store_sales")
PG_SCHEMA = Setting("STORE_SALES_PG_SCHEMA", Kind.TEXT, "the PostgreSQL schema", default="analytics")
# The task request of an ECS container and the runner's own places (set by the definition, the stack or the
# local emulator; orchestrator.protocol, orchestrator.runtime.runner)
TASK_TOKEN = Setting("STORE_SALES_TASK_TOKEN", Kind.TEXT, "the ECS task's Step Functions token")
TASK = Setting("STORE_SALES_TASK", Kind.TEXT, "the ECS task's name")
MODELS = Setting("STORE_SALES_MODELS", Kind.TEXT, "the ECS task's models")
EXTRA_TESTS = Setting("STORE_SALES_EXTRA_TESTS", Kind.TEXT, "the ECS task's extra tests")
FULL_REFRESH = Setting("STORE_SALES_FULL_REFRESH", Kind.BOOLEAN, "the ECS task's full refresh", default="false")
NODES = Setting("STORE_SALES_NODES", Kind.TEXT, "the ECS task's selected nodes, JSON")
ALLOW_MISSING = Setting("STORE_SALES_ALLOW_MISSING", Kind.TEXT, "the ECS task's accepted missing extracts, JSON")
EXECUTION = Setting("STORE_SALES_EXECUTION", Kind.TEXT, "the ECS task's execution", default="manual")
ARTIFACTS_BUCKET = Setting("STORE_SALES_ARTIFACTS_BUCKET", Kind.TEXT, "the bucket of the task's dbt artifacts")
ARTIFACTS_PREFIX = Setting("STORE_SALES_ARTIFACTS_PREFIX", Kind.TEXT, "the key prefix of the task's dbt artifacts")
HEARTBEAT_SECONDS = Setting(
    "STORE_SALES_HEARTBEAT_SECONDS", Kind.SECONDS, "the ECS task's heartbeat interval", default="30"
)
PARSED_DIR = Setting(
    "STORE_SALES_PARSED_DIR", Kind.DIRECTORY, "the image's parsed project, by default <project>/target"
)
WORK_DIR = Setting("STORE_SALES_WORK_DIR", Kind.DIRECTORY, "the runner's scratch directory, by default the temp dir")
WAREHOUSE_LOCK = Setting("STORE_SALES_WAREHOUSE_LOCK", Kind.FILE, "the warehouse's lock file")

SETTINGS = (
    PROJECT_DIR,
    DATA_DIR,
    DUCKDB,
    TARGET,
    CONFIG,
    DEBUG,
    MEMORY,
    SPILL_DIR,
    WINDOW_START,
    WINDOW_END,
    FULL_TESTS,
    STATE_MACHINE_ARN,
    ARTIFACTS_URI,
    LANDING_S3_URI,
    ALERT_TOPIC_ARN,
    ALERTS_URI,
    SCHEDULE_TIME_ZONE,
    DOCS_BUCKET,
    DOCS_PREFIX,
    REDSHIFT_CLUSTER_ID,
    REDSHIFT_WORKGROUP,
    REDSHIFT_HOST,
    REDSHIFT_PORT,
    REDSHIFT_DATABASE,
    REDSHIFT_SCHEMA,
    REDSHIFT_DB_USER,
    REDSHIFT_USER,
    REDSHIFT_PASSWORD,
    REDSHIFT_SECRET_ARN,
    REPORTS_SCHEMA,
    SPECTRUM_ROLE_ARN,
    GLUE_DATABASE,
    AWS_PROFILE,
    PG_HOST,
    PG_PORT,
    PG_USER,
    PG_PASSWORD,
    PG_DATABASE,
    PG_SCHEMA,
    TASK_TOKEN,
    TASK,
    MODELS,
    EXTRA_TESTS,
    FULL_REFRESH,
    NODES,
    ALLOW_MISSING,
    EXECUTION,
    ARTIFACTS_BUCKET,
    ARTIFACTS_PREFIX,
    HEARTBEAT_SECONDS,
    PARSED_DIR,
    WORK_DIR,
    WAREHOUSE_LOCK,
)
REGISTRY: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}
# The variables a user sets (the rest are set by `deploy`'s configuration, the stack, the definition and the local
# emulator for the tasks): `python -m orchestrator --help` names them, and the README's configuration table lists
# the same (tests/test_settings_registry.py holds the two together).
USER_SETTINGS = (
    DATA_DIR,
    DUCKDB,
    CONFIG,
    PROJECT_DIR,
    TARGET,
    FULL_TESTS,
    MEMORY,
    SPILL_DIR,
    LANDING_S3_URI,
    SCHEDULE_TIME_ZONE,
    DEBUG,
)


def validate(environ: Mapping[str, str] | None = None) -> None:
    """Check every setting that is set (in `environ`, default the process environment) against what it
    accepts; the first one refused raises a ConfigurationError naming it, its value and what it accepts."""
    for setting in SETTINGS:
        text = setting.raw(environ)
        if text is not None:
            setting.check(text)


def project_dir() -> Path:
    """The dbt project directory (the repository root unless STORE_SALES_PROJECT_DIR says otherwise)."""
    configured = PROJECT_DIR.raw()
    if configured:
        return Path(configured).resolve()
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The landing data directory: `<dir>/landing/<extract>/load_date=YYYY-MM-DD/*.parquet`."""
    configured = DATA_DIR.raw()
    if configured:
        return Path(configured).resolve()
    return project_dir() / "data"


def duckdb_path() -> Path:
    """The embedded DuckDB warehouse file."""
    configured = DUCKDB.raw()
    if configured:
        return Path(configured).resolve()
    return data_dir() / WAREHOUSE_FILE_NAME


def dbt_target() -> str:
    """The dbt target in use: `local` (embedded DuckDB) unless STORE_SALES_TARGET names another."""
    return TARGET.text() or DEFAULT_TARGET


def dbt_environment() -> dict[str, str]:
    """The environment variables dbt needs to find the data and the warehouse, as absolute paths."""
    return {
        DATA_DIR.name: str(data_dir()),
        DUCKDB.name: str(duckdb_path()),
        TARGET.name: dbt_target(),
    }


@contextlib.contextmanager
def scoped_environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for the block, then restore the old values."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
