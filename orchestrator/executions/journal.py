"""The local record of executions: what `history`, `watch` and `resume` read in local mode.

On AWS, Step Functions keeps every execution and its history. The local emulator lives only as long
as the command that started it, so each local execution is written, once it ends, to
`<data dir>/executions/<execution name>.json` (the same record `--json` prints).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import DataDirError, ExecutionNotFound
from orchestrator.executions.launcher import ExecutionResult
from orchestrator.runtime.step_functions import ExecutionRef


@dataclass(frozen=True)
class Journal:
    directory: Path

    def save(self, result: ExecutionResult) -> Path:
        """Write the record atomically (a reader never sees half a file)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".record-", suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(result.to_dict(), stream, indent=2, sort_keys=True, default=str)
            target = self.directory / f"{result.ref.name}.json"
            Path(temporary).replace(target)
        except OSError as error:
            raise DataDirError(f"cannot record the execution in {self.directory}: {error.strerror}") from None
        return target

    def load(self, name_or_arn: str) -> ExecutionResult:
        """The record of an execution given by name (or by the ARN, whose last part is the name)."""
        name = name_or_arn.rsplit(":", 1)[-1]
        path = self.directory / f"{name}.json"
        try:
            return ExecutionResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ExecutionNotFound(
                f"no local execution named {name!r} in {self.directory}: "
                "list them with `python -m orchestrator history --local`"
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataDirError(
                f"local execution record {path} cannot be read ({error!r}): move it away and rerun the window"
            ) from None

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(path.stem for path in self.directory.glob("*.json"))

    def executions(self) -> list[ExecutionRef]:
        """Every recorded execution, newest first."""
        refs = [self.load(name).ref for name in self.names()]
        return sorted(refs, key=lambda ref: ref.started, reverse=True)
