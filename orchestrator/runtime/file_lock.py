"""The one file lock of the project: an exclusive `flock` on a file that names its holder (`pid N`).

Two users, one helper:
- the warehouse lock (`runner`): tasks of the local emulator and its Fargate containers share one DuckDB
  file, which takes one writer, so they wait their turn;
- the data directory's pipeline lock (`cli.session`): a second local run, or sample-data rewriting the
  extracts under a run, is refused at once with an error naming the holder (`refuse`).

The lock dies with its process (flock), so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from orchestrator.errors import StoreSalesError

HOLDER_READ_ATTEMPTS = 20
HOLDER_READ_PAUSE_SECONDS = 0.05


def _holder(handle: IO[str]) -> str:
    """The holder's `pid N` line: a process that took the lock an instant ago may not have written it yet."""
    for _ in range(HOLDER_READ_ATTEMPTS):
        handle.seek(0)
        holder = handle.read().strip()
        if holder:
            return holder
        time.sleep(HOLDER_READ_PAUSE_SECONDS)
    return "another process"


def holder(path: Path) -> str | None:
    """Who holds the lock on `path` (`pid N`), or None when nobody does."""
    if not path.is_file():
        return None
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


@contextlib.contextmanager
def exclusive(path: Path, refuse: Callable[[str], StoreSalesError] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created with its folder), writing this process as the holder.

    Without `refuse`, wait for the holder to let go; with it, raise `refuse(holder)` at once. OSError (a
    folder that cannot be created, a file that cannot be opened) is the caller's to word."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        if refuse is None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        else:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise refuse(_holder(handle)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
