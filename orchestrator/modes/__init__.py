"""The mode, as its own layer: where every command acts, chosen by one rule (`orchestrator.config.Config.mode`).

`backend(config, requested)` is the `Backend` of the mode (`orchestrator.modes.backend`): the deployed stack
(`orchestrator.modes.aws`) or this machine (`orchestrator.modes.local`). Every command gets its history, landing,
lock, warehouse (the ledger and the reports), checks and session from it, `report` included; `bench/` uses the
same interface.
"""

from __future__ import annotations

from orchestrator.config import Config, Mode
from orchestrator.modes.aws import AwsBackend
from orchestrator.modes.backend import Backend
from orchestrator.modes.local import LocalBackend


def backend(config: Config, requested: Mode | None = None) -> Backend:
    """The backend of the mode `requested` (--local/--aws), else of the configuration's mode."""
    return AwsBackend(config) if config.mode(requested) is Mode.AWS else LocalBackend(config)
