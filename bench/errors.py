"""The benchmarks' own error (the CLI prints it on one line like the product's)."""

from __future__ import annotations

from orchestrator.errors import ExitCode, StoreSalesError


class BenchmarkError(StoreSalesError):
    """A command measured by the benchmarks (`python -m bench`) failed, or its output could not be read."""

    exit_code = ExitCode.PIPELINE_FAILED
