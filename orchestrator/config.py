"""The user's configuration, in one place: a TOML file and environment variables.

Sources, later ones winning: the file (`--config FILE`, else $STORE_SALES_CONFIG, else
`<project>/store-sales.toml` when it exists), then environment variables. Every setting:

| key (file, [aws] table)  | environment variable              | used by                          |
| ------------------------ | --------------------------------- | -------------------------------- |
| region                   | AWS_REGION / AWS_DEFAULT_REGION   | every AWS call                   |
| state_machine_arn        | STORE_SALES_STATE_MACHINE_ARN     | run, watch, history, backfill... |
| artifacts_uri            | STORE_SALES_ARTIFACTS_URI         | where tasks upload dbt artifacts |
| redshift_cluster_id      | STORE_SALES_REDSHIFT_CLUSTER_ID   | reports (provisioned cluster)    |
| redshift_workgroup       | STORE_SALES_REDSHIFT_WORKGROUP    | reports (Redshift Serverless)    |
| redshift_database        | STORE_SALES_REDSHIFT_DATABASE     | reports                          |
| redshift_db_user         | STORE_SALES_REDSHIFT_DB_USER      | reports (cluster, IAM auth)      |
| redshift_secret_arn      | STORE_SALES_REDSHIFT_SECRET_ARN   | reports (secret auth)            |
| reports_schema           | STORE_SALES_REPORTS_SCHEMA        | schema of the report models      |

The file holds one table, [aws]; an unknown table or key, or a value its environment variable would refuse
(`orchestrator.settings`), is a ConfigurationError naming the file, the key and what is accepted.

**The mode**, one rule for every command and for `reports.connect()` (`Config.mode`): `--local` / `--aws`
(or `connect("local")` / `connect("aws")`) wins; otherwise AWS when the configuration names a deployed part of
the stack (a state machine ARN, a Redshift cluster or workgroup), else local. In AWS mode a value the command
needs and the configuration lacks is an error that names the key and the variable to set.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from orchestrator import settings
from orchestrator.errors import ConfigurationError

CONFIG_ENV = settings.CONFIG.name
CONFIG_FILE_NAME = "store-sales.toml"
DEFAULT_REPORTS_SCHEMA = settings.DEFAULT_REPORTS_SCHEMA
TABLE = "aws"  # the file's one table

# The keys of the [aws] table that are also environment variables: what they accept is the variable's
_SETTINGS: dict[str, settings.Setting] = {
    "state_machine_arn": settings.STATE_MACHINE_ARN,
    "artifacts_uri": settings.ARTIFACTS_URI,
    "redshift_cluster_id": settings.REDSHIFT_CLUSTER_ID,
    "redshift_workgroup": settings.REDSHIFT_WORKGROUP,
    "redshift_database": settings.REDSHIFT_DATABASE,
    "redshift_db_user": settings.REDSHIFT_DB_USER,
    "redshift_secret_arn": settings.REDSHIFT_SECRET_ARN,
    "reports_schema": settings.REPORTS_SCHEMA,
    "landing_s3_uri": settings.LANDING_S3_URI,
}
_ENV_NAMES: dict[str, tuple[str, ...]] = {
    "region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    **{key: (setting.name,) for key, setting in _SETTINGS.items()},
}


class Mode(StrEnum):
    """Where commands act: this machine (the local emulator, the DuckDB file) or the deployed stack."""

    LOCAL = "local"
    AWS = "aws"


@dataclass(frozen=True)
class Config:
    """Resolved configuration; `source` says where the file came from, for error messages."""

    region: str | None = None
    state_machine_arn: str | None = None
    artifacts_uri: str | None = None
    redshift_cluster_id: str | None = None
    redshift_workgroup: str | None = None
    redshift_database: str | None = None
    redshift_db_user: str | None = None
    redshift_secret_arn: str | None = None
    reports_schema: str | None = None
    landing_s3_uri: str | None = None
    source: str = "environment"

    @property
    def redshift_configured(self) -> bool:
        """True when the configuration names a Redshift cluster or workgroup."""
        return bool(self.redshift_cluster_id or self.redshift_workgroup)

    def mode(self, requested: Mode | None = None) -> Mode:
        """The one rule: an explicit choice wins; otherwise AWS when the configuration names a deployed part of
        the stack (the state machine, or the Redshift warehouse it loads), else local. A configuration naming
        only Redshift is AWS mode too, so `run` says the state machine ARN is missing instead of loading the
        local DuckDB file while `report` reads Redshift."""
        if requested is not None:
            return requested
        return Mode.AWS if self.state_machine_arn or self.redshift_configured else Mode.LOCAL

    def require(self, key: str) -> str:
        """The value of `key`, or a ConfigurationError that says how to set it."""
        value = getattr(self, key)
        if value:
            return str(value)
        variables = " or ".join(f"${name}" for name in _ENV_NAMES[key])
        raise ConfigurationError(
            f"configuration value {key!r} is missing: set {variables} or `{key} = ...` in the [aws] "
            f"table of {self.source if self.source != 'environment' else CONFIG_FILE_NAME}"
        )


def _config_file(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigurationError(f"configuration file {explicit} does not exist: check the --config path")
        return explicit
    from_env = settings.CONFIG.raw()
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigurationError(f"${CONFIG_ENV} points at {path}, which does not exist: fix or unset it")
        return path
    default = settings.project_dir() / CONFIG_FILE_NAME
    return default if default.is_file() else None


def _closest(name: str, known: list[str]) -> str:
    """` (did you mean X?)` when a known name is close to `name`, else nothing."""
    matches = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {matches[0]}?)" if matches else ""


def _read_file(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigurationError(f"configuration file {path} cannot be read: {error}") from None
    for name, value in document.items():
        if name == TABLE:
            continue
        if isinstance(value, dict):
            raise ConfigurationError(
                f"configuration file {path}: unknown table [{name}]{_closest(f'[{name}]', [f'[{TABLE}]'])}; "
                f"the only table is [{TABLE}]"
            )
        raise ConfigurationError(
            f"configuration file {path}: key {name} is outside any table; settings go in the [{TABLE}] table"
        )
    section = document.get(TABLE, {})
    if not isinstance(section, dict):
        raise ConfigurationError(f"configuration file {path}: [{TABLE}] must be a table of key = value lines")
    known = sorted({field.name for field in fields(Config)} - {"source"})
    for key in sorted(section):
        if key not in known:
            raise ConfigurationError(
                f"configuration file {path}: unknown key {key} in [{TABLE}]{_closest(key, known)}; "
                f"known keys are {', '.join(known)}"
            )
    bad = sorted(key for key, value in section.items() if not isinstance(value, str))
    if bad:
        raise ConfigurationError(f"configuration file {path}: {', '.join(bad)} must be quoted strings")
    for key, setting in _SETTINGS.items():
        value = section.get(key, "")
        problem = setting.problem(value.strip()) if value.strip() else None
        if problem is not None:
            raise ConfigurationError(
                f"configuration file {path}: [{TABLE}] {key} = {value!r} {problem}: set it to {setting.advice()}"
            )
    return dict(section)


def load(explicit: Path | None = None) -> Config:
    """Read the configuration file (if any) and the environment."""
    path = _config_file(explicit)
    values: dict[str, str] = _read_file(path) if path is not None else {}
    for key, names in _ENV_NAMES.items():
        for name in names:
            if os.environ.get(name):
                values[key] = os.environ[name]
                break
    return Config(**values, source=str(path) if path is not None else "environment")
