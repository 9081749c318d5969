"""Fixtures of the command tests: real TPC-DS extracts (SF 0.01) generated once per module, and a private copy
of them as the commands' data directory for each test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.local import sample_data


@pytest.fixture(scope="module")
def extracts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("sf001") / "data"
    sample_data.generate(scale=0.01, data_dir=data)
    return data


@pytest.fixture
def data_dir(extracts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private copy of the extracts, with the warehouse beside them, as the commands' data directory."""
    data = tmp_path / "data"
    shutil.copytree(extracts / "landing", data / "landing")
    shutil.copytree(extracts / "reference", data / "reference")
    for name in ("STORE_SALES_DUCKDB", "STORE_SALES_CONFIG", "STORE_SALES_STATE_MACHINE_ARN", "STORE_SALES_TARGET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("STORE_SALES_DATA_DIR", str(data))
    yield data
