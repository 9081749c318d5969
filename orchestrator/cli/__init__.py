"""The command line (`python -m orchestrator`): the parser, the commands, their display and session.
The top layer: it may import every other one."""

from orchestrator.cli.parser import main

__all__ = ["main"]
