"""Fixtures of the deployment tests: the template, and the definition rendered from a fresh parse of the project."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from infra_support import (
    BIN,
    ROOT,
    load_template,
)

from orchestrator.definition.graph import DbtGraph
from orchestrator.definition.manifest import load_manifest
from orchestrator.definition.state_machine import (
    render,
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="module")
def parsed_target() -> Iterator[Path]:
    target = Path(tempfile.mkdtemp(prefix="infra-parse-"))
    subprocess.run(
        [str(BIN / "dbt"), "parse", "--quiet", "--project-dir", str(ROOT), "--profiles-dir", str(ROOT),
         "--target-path", str(target), "--log-path", str(target / "logs")],
        check=True, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )  # fmt: skip
    yield target
    shutil.rmtree(target, ignore_errors=True)


@pytest.fixture(scope="module")
def definition_text(parsed_target: Path) -> str:
    return render(DbtGraph.from_manifest(load_manifest(ROOT, parsed_target, check_fresh=False)))
