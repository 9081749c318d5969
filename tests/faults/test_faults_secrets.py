"""No credentials in the repository, and the dbt profiles take every secret from the environment.

The scan reads every git-tracked text file. The only credentials allowed are moto's dummy value
`testing` (the local emulator and the tests use it for every AWS key).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DUMMY_VALUES = frozenset({"testing"})
ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b")
PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY(?: BLOCK)?-----")
SECRET_KEY = re.compile(r"(?i)secret[a-z_]*[\"']?\s*[:=]\s*[\"']?(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])")
PASSWORD = re.compile(r"(?i)\b(?:password|passwd|pwd)[\"']?\s*[:=]\s*[\"'](?P<value>[^\"'\s]+)[\"']")
SECRET_FIELD = re.compile(r"(?i)password|passphrase|secret|token|private_key|access_key")
ENV_VAR_ONLY = re.compile(r"^\{\{\s*env_var\('[A-Z][A-Z0-9_]*'(?:,\s*'')?\)\s*\}\}$")


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in listed.decode().split("\0") if name]


def findings(text: str) -> list[str]:
    """Every credential-looking string in `text` (allowlisted dummy values and templated values excluded)."""
    found = [match.group(0) for pattern in (ACCESS_KEY_ID, PRIVATE_KEY) for match in pattern.finditer(text)]
    for pattern in (SECRET_KEY, PASSWORD):
        for match in pattern.finditer(text):
            value = match.group("value")
            if value not in DUMMY_VALUES and not value.startswith(("{{", "$", "<")):
                found.append(match.group(0))
    return found


def test_the_scanner_finds_each_kind_of_credential() -> None:
    key_id = "AKIA" + "Q" * 16
    secret = "wJalrXUtnFEMI/K7MDENG/" + "b" * 18
    samples = {
        "key id": f"aws_access_key_id = {key_id}",
        "session key id": f"ASIA{'Z' * 16}",
        "secret key": f'AWS_SECRET_ACCESS_KEY: "{secret}"',
        "private key": "-----BEGIN RSA " + "PRIVATE KEY-----",
        "passwords": "pass" + "word: 'hunter22'",  # split so that this file does not trip its own scan
    }
    for kind, sample in samples.items():
        assert findings(sample), kind
    allowed = [
        'aws_secret_access_key="testing"',
        "password: \"{{ env_var('STORE_SALES_PG_PASSWORD', '') }}\"",
        "password=$PGPASSWORD",
    ]
    assert [findings(sample) for sample in allowed] == [[], [], []]


def test_no_tracked_file_holds_a_credential() -> None:
    files = tracked_files()
    assert any(path.name == "profiles.yml" for path in files)
    leaks = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary (images) or deleted in the work tree
        leaks.extend(f"{path.relative_to(ROOT)}: {finding}" for finding in findings(text))
    assert leaks == []


def secret_fields(node: Any, where: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            path = f"{where}.{key}" if where else str(key)
            if SECRET_FIELD.search(str(key)) and not isinstance(value, dict | list):
                found.append((path, value))
            found.extend(secret_fields(value, path))
        return found
    if isinstance(node, list):
        return [field for item in node for field in secret_fields(item, where)]
    return []


@pytest.mark.parametrize("name", ["profiles.yml", "profiles.yml.example"])
def test_profiles_take_every_secret_from_the_environment(name: str) -> None:
    profiles = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
    fields = secret_fields(profiles)
    assert fields, f"{name} has no password field: the check would prove nothing"
    for path, value in fields:
        assert isinstance(value, str) and ENV_VAR_ONLY.match(value), f"{name}: {path} is {value!r}, not env_var(...)"
