"""The settings registry (orchestrator/settings.py) knows every STORE_SALES_* variable the product reads, and
each kind accepts what the README says and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator import settings
from orchestrator.errors import ConfigurationError, ExitCode

ROOT = Path(__file__).resolve().parent.parent
# Where the product reads or sets its variables: the package, the dbt project, the profiles, the image and the stack
READERS = ("orchestrator", "macros", "models", "profiles.yml", "profiles.yml.example", "infra")
VARIABLE = re.compile(r"(?<![A-Za-z0-9_])STORE_SALES_[A-Z0-9_]*[A-Z0-9]\b")


def read_variables() -> dict[str, str]:
    """Every STORE_SALES_* name the product's files spell out, with one file that does."""
    found: dict[str, str] = {}
    for reader in READERS:
        path = ROOT / reader
        files = [path] if path.is_file() else [f for f in sorted(path.rglob("*")) if f.is_file()]
        for file in files:
            if file.suffix in {".pyc", ".parquet", ".duckdb", ".msgpack"}:
                continue
            for name in VARIABLE.findall(file.read_text(encoding="utf-8", errors="ignore")):
                found.setdefault(name, str(file.relative_to(ROOT)))
    return found


def test_every_variable_the_product_reads_is_in_the_registry() -> None:
    found = read_variables()
    assert "STORE_SALES_MEMORY_MB" in found and "STORE_SALES_FULL_TESTS" in found  # the scan sees the macros
    unknown = {name: where for name, where in found.items() if name not in settings.REGISTRY}
    assert not unknown, f"add these to orchestrator/settings.py (name, kind, default): {unknown}"


def test_every_setting_defined_is_in_the_registry() -> None:
    defined = {value.name for value in vars(settings).values() if isinstance(value, settings.Setting)}
    assert defined == set(settings.REGISTRY)
    assert len(settings.SETTINGS) == len(settings.REGISTRY)  # no name twice


def test_every_registered_variable_is_read_somewhere() -> None:
    unread = sorted(set(settings.REGISTRY) - set(read_variables()))
    assert not unread, f"registered but read nowhere: {unread}"


@pytest.mark.parametrize(
    ("setting", "accepted", "refused"),
    [
        (settings.MEMORY, ["128", "4096", " 2048 "], ["abc", "127", "1.5", "-512", "\uff12\uff10\uff14\uff18"]),
        (settings.FULL_TESTS, ["true", "FALSE", "1", "0", "True"], ["maybe", "yes", "no", "2", "t"]),
        (settings.HEARTBEAT_SECONDS, ["30", "7.5"], ["0", "-1", "soon", "nan"]),
        (settings.PG_PORT, ["1", "5432", "65535"], ["0", "65536", "port"]),
        (settings.WINDOW_START, ["2002-12-31"], ["2002-13-01", "31/12/2002"]),
        (settings.SCHEDULE_TIME_ZONE, ["UTC", "America/New_York"], ["Mars/Olympus", "America", "../etc"]),
        (settings.LANDING_S3_URI, ["s3://bucket", "s3://bucket/store-sales"], ["bucket/store-sales", "s3://"]),
        (settings.STATE_MACHINE_ARN, ["arn:aws:states:us-east-1:123456789012:stateMachine:x"], ["store-sales"]),
        (settings.TARGET, ["local", "redshift"], []),
    ],
)
def test_each_kind_accepts_its_values_only(setting: settings.Setting, accepted: list[str], refused: list[str]) -> None:
    for text in accepted:
        setting.check(text)
    for text in refused:
        with pytest.raises(ConfigurationError) as error:
            setting.check(text)
        assert str(error.value).startswith(f"{setting.name}={text!r}")
        assert error.value.exit_code is ExitCode.USAGE


def test_paths_are_refused_only_when_they_are_of_the_wrong_kind(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.touch()
    settings.DATA_DIR.check(str(tmp_path / "not-made-yet"))  # sample-data makes it
    settings.DATA_DIR.check(str(tmp_path))
    settings.DUCKDB.check(str(tmp_path / "warehouse.duckdb"))  # the first run makes it
    with pytest.raises(ConfigurationError, match="is not a directory"):
        settings.DATA_DIR.check(str(a_file))
    with pytest.raises(ConfigurationError, match="is a directory"):
        settings.DUCKDB.check(str(tmp_path))
    with pytest.raises(ConfigurationError, match="does not exist"):
        settings.PROJECT_DIR.check(str(tmp_path / "not-made-yet"))
    with pytest.raises(ConfigurationError, match="does not exist"):
        settings.CONFIG.check(str(tmp_path / "store-sales.toml"))


def test_flags_read_their_default_when_unset_or_empty() -> None:
    assert settings.FULL_TESTS.flag({}) is False
    assert settings.FULL_TESTS.flag({"STORE_SALES_FULL_TESTS": ""}) is False
    assert settings.FULL_TESTS.flag({"STORE_SALES_FULL_TESTS": "1"}) is True
    assert settings.HEARTBEAT_SECONDS.seconds({}) == 30.0
    settings.validate({"STORE_SALES_MEMORY_MB": "", "STORE_SALES_FULL_TESTS": " "})  # empty is unset
    with pytest.raises(ConfigurationError, match="STORE_SALES_FULL_TESTS='maybe'"):
        settings.validate({"STORE_SALES_FULL_TESTS": "maybe"})


def test_the_readmes_configuration_table_lists_the_variables_a_user_sets_with_their_defaults() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.partition("| variable | accepts | default |\n| --- | --- | --- |\n")[2].partition("\n\n")[0]
    rows = {}
    for line in table.splitlines():
        names, accepts, default = (cell.strip() for cell in line.strip("|").split("|"))
        for name in names.split(", "):
            rows[name] = (accepts, default)
    assert list(rows) == [setting.name for setting in settings.USER_SETTINGS]  # same names, same order
    for setting in settings.USER_SETTINGS:
        if setting.default is not None:
            assert setting.default in rows[setting.name][1], (
                f"{setting.name}: the README's default is not {setting.default}"
            )


def test_the_help_names_the_variables_a_user_sets() -> None:
    from orchestrator.cli.parser import build_parser

    text = " ".join(build_parser().format_help().split())
    for setting in settings.USER_SETTINGS:
        assert setting.name in text
