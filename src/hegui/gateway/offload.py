"""The check workers: a bounded thread pool for work that waits, so that it never waits on the event loop.

One event loop serves every request of a gateway process. A check that waits on I/O (a guard-model
call with a 10 s timeout, a database-backed session-memory read) run on that loop stalls every other
request, `/healthz` included, for as long as it waits. Such checks declare it (`blocking`, read by
`hegui.guard.types.blocks`), and a request's stage that has one runs here instead. Stages whose
checks do not block keep running inline: a thread hop costs more than a deny-list scan.

The pool is bounded (``HEGUI_CHECK_WORKERS``, by default the database's connection-pool size: the
blocking work is mostly database reads, and more threads than connections would only queue on the
pool). Requests beyond it wait for a worker, not the loop. This module must never run a check itself
or decide anything: it only moves the call to another thread and hands back its result or exception.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine

T = TypeVar("T")

#: The pool size when the engine does not tell (SQLAlchemy's default QueuePool size).
DEFAULT_WORKERS = 5


def database_pool_size(engine: Engine) -> int:
    """The connection-pool size of ``engine`` (QueuePool's ``size()``), or `DEFAULT_WORKERS`."""
    size = getattr(engine.pool, "size", None)
    value = size() if callable(size) else None
    return value if isinstance(value, int) and value > 0 else DEFAULT_WORKERS


class CheckWorkers:
    """A fixed number of threads for blocking checks; `run` awaits a call made in one of them."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("the check worker pool needs at least one thread")
        self.size = size
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=size, thread_name_prefix="hegui-check")

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a worker thread; its exception (CheckFailed, StorageError …) is raised here."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, work)

    def close(self) -> None:
        """Stop taking work; calls already running finish in their threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)
