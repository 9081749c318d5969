"""The command line (`python -m orchestrator`): the command table, the handlers, their display. The top layer:
it may import every other one; what differs between local and AWS is the mode layer's (`orchestrator.modes`)."""

from orchestrator.cli.parser import main

__all__ = ["main"]
