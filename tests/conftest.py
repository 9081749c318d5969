"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postgres_server import PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 (free port, C locale) for the whole session, stopped at its end."""
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()
