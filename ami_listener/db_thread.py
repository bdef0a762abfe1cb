"""One thread for all of a listener's database work.

Why: SQLite's page cache and the rows it returns are malloc'd by whichever thread runs
the statement, and glibc gives such a thread an arena of its own. Sent through
asyncio's default executor, which starts another thread whenever all of its threads
are busy, the writes, reads and callback checks spread over up to six arenas, each
keeping megabytes of freed pages, and a thread started an hour in stepped RSS up by
2 MB. On one thread they share one arena and one warm connection, and they run in the
order they were asked for.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

THREAD_NAME = "listener-db"


class DatabaseThread:
    """Runs blocking database calls in order on one named thread, for the event loop."""

    def __init__(self, name: str = THREAD_NAME) -> None:
        self.name = name
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:  # first use, or used again after close()
                self._pool = ThreadPoolExecutor(1, thread_name_prefix=self.name)
            return self._pool

    def submit(self, func: Callable[..., T], *args: Any) -> Future[T]:
        """`func(*args)` on the database thread, from any thread; nobody need wait for it."""
        return self._executor().submit(func, *args)

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """`func(*args)` on the database thread, with the caller's context variables
        (log lines name the call), as `asyncio.to_thread` does."""
        loop = asyncio.get_running_loop()
        call = functools.partial(contextvars.copy_context().run, func, *args)
        return await loop.run_in_executor(self._executor(), call)

    def close(self) -> None:
        """Let the thread end once its queued work is done (not waited for here)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
