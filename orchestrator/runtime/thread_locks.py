"""Make dbt use thread locks instead of multiprocessing (POSIX semaphore) locks.

AWS Lambda has no /dev/shm, so `multiprocessing` locks fail there with `OSError: [Errno 38] Function
not implemented` (dbt-core issue 2992). dbt runs its nodes in threads, so thread locks are enough.
`install()` must run BEFORE `dbt.contracts.graph.manifest` is imported: that module binds its lock
factory when it is imported. The runner calls it at import time, before it imports anything of dbt.
"""

from __future__ import annotations

import multiprocessing.pool
import multiprocessing.queues
import sys
import threading
from typing import Any

MANIFEST_MODULE = "dbt.contracts.graph.manifest"


class ThreadLockContext:
    """The parts of a multiprocessing context dbt uses, backed by `threading` locks."""

    Lock = staticmethod(threading.Lock)
    RLock = staticmethod(threading.RLock)

    def SimpleQueue(self) -> multiprocessing.queues.SimpleQueue[Any]:
        return multiprocessing.queues.SimpleQueue(ctx=self)


CONTEXT = ThreadLockContext()


def _thread_context(method: str | None = None) -> ThreadLockContext:
    return CONTEXT


def install() -> bool:
    """Switch dbt (and its ThreadPool) to thread locks; False if dbt's manifest module came first."""
    manifest_already_imported = MANIFEST_MODULE in sys.modules
    multiprocessing.pool.get_context = _thread_context  # type: ignore[attr-defined]
    import dbt.mp_context

    dbt.mp_context._MP_CONTEXT = CONTEXT  # type: ignore[assignment]
    return not manifest_already_imported
