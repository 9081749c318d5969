"""Shared pytest fixtures."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

# The suite runs on two workers (pytest-xdist, `-n 2` in pyproject.toml). A module listed
# here keeps all its state under temporary paths (its own dbt target and warehouse, its own moto server):
# it runs whole on one worker, so its module fixtures are built once, beside anything else. Every other
# module shares the repository itself (the CLI parses the project into ./target and writes ./logs, the
# benchmark and the notebook run the CLI): all of those run one after another on the same worker.
# test_window_tests and test_generic_tests share the session warehouse `loaded`, so they share a worker.
ISOLATED_MODULES = {
    "test_architecture": "test_architecture",
    "test_landing_contract": "test_landing_contract",
    "test_faults_landing": "test_faults_landing",
    "test_generic_tests": "window_history",
    "test_graph": "test_graph",
    "test_landing_gate": "test_landing_gate",
    "test_launcher": "test_launcher",
    "test_local": "test_local",
    "test_missing_extras": "test_missing_extras",
    "test_models": "test_models",
    "test_models_postgres": "test_models_postgres",
    "test_moto_adapt": "test_moto_adapt",
    "test_overlap_guard": "test_overlap_guard",
    "test_parquet_footer": "test_parquet_footer",
    "test_redshift_login": "test_redshift_login",
    "test_redshift_sql": "test_redshift_sql",
    "test_runner": "test_runner",
    "test_stack": "test_stack",
    "test_state_machine": "test_state_machine",
    "test_volume_check": "test_volume_check",
    "test_warehouse_resources": "test_warehouse_resources",
    "test_window_tests": "window_history",
}


class ModuleGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
    """xdist's scope scheduling with the scopes above: a listed module, or the one unit `repository`.
    (xdist's own `--dist loadgroup` marks cannot work with pytest 9, whose node ids xdist 3.8 cannot rename.)"""

    def _split_scope(self, nodeid: str) -> str:
        return ISOLATED_MODULES.get(Path(nodeid.split("::", 1)[0]).stem, "repository")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> ModuleGroupScheduling:
    return ModuleGroupScheduling(config, log)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """moto's server on 127.0.0.1 (a free port) for one module: AWS over HTTP, as the CLI and the triggers reach it.
    Its web server's request lines are dropped: werkzeug would bind its log handler to the standard error of the
    test that first made a request, a capture that is closed by the time a later test's request logs to it."""
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.setLevel(logging.WARNING)
    werkzeug.handlers = [logging.NullHandler()]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
