"""Supervised long-running tasks: nothing dies in silence.

A background task that raises is logged once with its traceback, counted
(`task.<name>.crashes`), and started again after a backoff (0.1 s doubling to
`cap`). If it keeps failing — more than `max_crashes` within `window` seconds —
the process cannot do its job: `on_fatal` is called (the process then exits
non-zero) instead of limping on with a dead task. Works for asyncio tasks
(`supervise`) and threads (`supervised_thread`); no dependency beyond stdlib.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from servicedesk import metrics

log = logging.getLogger("centralita.supervise")


class CrashBudget:
    """Counts crashes in a sliding window; `exhausted` once more than `max_crashes`."""

    def __init__(self, max_crashes: int = 5, window: float = 60.0) -> None:
        self.max_crashes = max_crashes
        self.window = window
        self._times: deque[float] = deque()

    def crash(self) -> bool:
        now = time.monotonic()
        self._times.append(now)
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
        return len(self._times) > self.max_crashes

    @property
    def recent(self) -> int:
        return len(self._times)


async def supervise(
    name: str,
    factory: Callable[[], Awaitable[None]],
    on_fatal: Callable[[str], None],
    *,
    base: float = 0.1,
    cap: float = 5.0,
    max_crashes: int = 5,
    window: float = 60.0,
) -> None:
    """Run `factory()` until it returns normally or is cancelled; restart it on a crash."""
    budget = CrashBudget(max_crashes, window)
    delay = base
    while True:
        try:
            await factory()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            metrics.incr(f"task.{name}.crashes")
            log.exception("task %s crashed; restarting in %.1f s", name, delay)
            if budget.crash():
                reason = f"task {name} crashed {budget.recent} times in {window:.0f} s: {exc!r}"
                log.critical("%s; giving up", reason)
                on_fatal(reason)
                return
        await asyncio.sleep(delay)
        delay = min(cap, delay * 2)


def supervised_thread(
    name: str,
    target: Callable[[], None],
    on_fatal: Callable[[str], None],
    *,
    base: float = 0.1,
    cap: float = 5.0,
    max_crashes: int = 5,
    window: float = 60.0,
) -> threading.Thread:
    """A daemon thread running `target` under the same rules as `supervise`."""

    def run() -> None:
        budget = CrashBudget(max_crashes, window)
        delay = base
        while True:
            try:
                target()
                return
            except Exception as exc:
                metrics.incr(f"task.{name}.crashes")
                log.exception("thread %s crashed; restarting in %.1f s", name, delay)
                if budget.crash():
                    on_fatal(f"thread {name} crashed {budget.recent} times: {exc!r}")
                    return
            time.sleep(delay)
            delay = min(cap, delay * 2)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
