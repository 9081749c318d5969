"""Fixtures of the dbt project's tests: the session's PostgreSQL server, the day-by-day warehouse loaded once
(window_history.py), and the offline Redshift target."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import window_history
from models_harness import Warehouse
from postgres_server import PostgresServer
from redshift_offline import redshift_target


@pytest.fixture(scope="module")
def redshift(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """The project for an offline Redshift target (an unresolvable host), one per module."""
    return redshift_target(tmp_path_factory.mktemp("redshift"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 (free port, C locale) for the whole session, stopped at its end."""
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """tests/models/window_history.py's warehouse, loaded once per session; tests break copies of it."""
    return window_history.load(tmp_path_factory.mktemp("window-tests") / "loaded")
