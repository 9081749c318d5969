"""The handlers of the commands that need no mode and no extra at import: sample-data and render."""

from __future__ import annotations

import contextlib

from orchestrator import settings
from orchestrator.cli.options import RenderFileOptions, SampleDataOptions
from orchestrator.errors import ExitCode


def sample_data(options: SampleDataOptions) -> int:
    """Generate the landing extracts (under the data directory's pipeline lock when the directory exists)."""
    from orchestrator.local import sample_data as generator
    from orchestrator.modes.local import local_run_lock

    data_dir = options.data_dir or settings.data_dir()
    generator.check_scale(options.scale)
    # a directory that does not exist yet has no pipeline running on it; generate() reports bad paths
    with local_run_lock(data_dir) if data_dir.is_dir() else contextlib.nullcontext():
        generator.generate(scale=options.scale, data_dir=data_dir, force=options.force)
    return ExitCode.OK


def render(options: RenderFileOptions) -> int:
    """Write the definition generated from target/manifest.json."""
    from orchestrator.definition.state_machine import render_file

    print(f"wrote {render_file(settings.project_dir(), options.out, options.render)}")
    return ExitCode.OK
