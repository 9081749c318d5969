"""The one file lock of the project: an exclusive `flock` on a file that names its holder (`pid N`, and once
the holder has said so, what it is doing: a local run writes its execution's name).

Three users, one helper:
- the warehouse lock (`runtime.runner`): tasks of the local emulator and its Fargate containers share one
  DuckDB file, which takes one writer, so they wait their turn;
- the data directory's pipeline lock (`PIPELINE_LOCK_FILE_NAME`, `modes.local`): held by a local run for its
  whole command; a second local run, or sample-data rewriting the extracts under a run, is refused at once
  with an error naming the holder (`refuse`);
- the readers of the local warehouse (`reports`) wait for the pipeline lock to be free (`wait_for_release`),
  so they never read a run's half-loaded tables between its tasks.

The lock dies with its process (flock), so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from orchestrator.errors import StoreSalesError

PIPELINE_LOCK_FILE_NAME = ".pipeline.lock"  # in the data directory
HOLDER_READ_ATTEMPTS = 20
HOLDER_READ_PAUSE_SECONDS = 0.05
RELEASE_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: its process (`pid N`) and what it said it is doing (None until it says)."""

    process: str
    work: str | None = None

    def __str__(self) -> str:
        return self.process


@dataclass(frozen=True)
class HeldLock:
    """The lock this process holds: `announce` tells the processes that find it held what it is doing."""

    handle: IO[str]

    def announce(self, work: str) -> None:
        _write_holder(self.handle, f"pid {os.getpid()}\n{work}")


def _write_holder(handle: IO[str], text: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(text)
    handle.flush()


def _holder(handle: IO[str]) -> Holder:
    """The holder's lines: a process that took the lock an instant ago may not have written them yet."""
    for _ in range(HOLDER_READ_ATTEMPTS):
        handle.seek(0)
        lines = handle.read().strip().splitlines()
        if lines:
            return Holder(lines[0], lines[1] if len(lines) > 1 else None)
        time.sleep(HOLDER_READ_PAUSE_SECONDS)
    return Holder("another process")


def holder(path: Path) -> Holder | None:
    """Who holds the lock on `path`, or None when nobody does."""
    if not path.is_file():
        return None
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(handle)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def wait_for_release(
    path: Path, timeout_seconds: float, on_wait: Callable[[Holder], None] | None = None
) -> Holder | None:
    """Wait until nobody holds the lock on `path` (None), or `timeout_seconds` have passed (the holder then).
    `on_wait` hears the holder once, when the wait begins."""
    deadline = time.monotonic() + timeout_seconds
    found = holder(path)
    if found is not None and on_wait is not None:
        on_wait(found)
    while found is not None and time.monotonic() < deadline:
        time.sleep(min(RELEASE_POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        found = holder(path)
    return found


@contextlib.contextmanager
def exclusive(path: Path, refuse: Callable[[Holder], StoreSalesError] | None = None) -> Iterator[HeldLock]:
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
        _write_holder(handle, f"pid {os.getpid()}")
        try:
            yield HeldLock(handle)
        finally:
            _write_holder(handle, "")
            fcntl.flock(handle, fcntl.LOCK_UN)
