"""One wallboard snapshot per panel process, shared by every connected board.

Fifty supervisors' browsers must not mean fifty snapshot computations per
change: a single background thread wakes on the listener's notices (the
wallboard stream) or every `poll_s` (agent states and the database-backed
parts have no notices), builds the snapshot once, serialises each part once,
and hands the parts that changed to every SSE stream waiting on a condition.
Bursts of notices are coalesced to one build per `min_interval_s`, well inside
the one-second freshness goal.

The thread starts with the first board and stops after `idle_s` without one.
It is supervised: an exception is logged with what killed it and the loop
starts again after a pause, so a Redis outage shows as a stale board that
comes back by itself, never as a dead feed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from servicedesk.bus import Bus

log = logging.getLogger(__name__)

PARTS = ("queues", "groups", "totals", "agents", "incidents", "chart")


class WallboardFeed:
    def __init__(
        self,
        build: Callable[[], dict[str, Any]],
        bus: Bus,
        *,
        min_interval_s: float = 0.2,
        poll_s: float = 0.5,
        idle_s: float = 10.0,
        retry_s: float = 1.0,
    ) -> None:
        self.build = build
        self.bus = bus
        self.min_interval_s = min_interval_s
        self.poll_s = poll_s
        self.idle_s = idle_s
        self.retry_s = retry_s
        self.cond = threading.Condition()
        self.parts: dict[str, str] = {}  # part -> JSON text
        self.versions: dict[str, int] = {}
        self.now = 0.0
        self.builds = 0
        self.failures = 0
        self.healthy = False
        self._subscribers = 0
        self._last_seen = time.monotonic()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # --- boards ----------------------------------------------------------------
    def subscribe(self) -> None:
        with self.cond:
            self._subscribers += 1
            self._last_seen = time.monotonic()
        self._ensure_thread()

    def unsubscribe(self) -> None:
        with self.cond:
            self._subscribers -= 1
            self._last_seen = time.monotonic()

    def wait(
        self, seen: dict[str, int], timeout: float
    ) -> tuple[list[tuple[str, str]], float, bool]:
        """Parts newer than `seen` (updated in place), the snapshot's time and the feed's health.

        Blocks up to `timeout` when nothing is newer; an empty list means a quiet period.
        """
        deadline = time.monotonic() + timeout
        with self.cond:
            self._last_seen = time.monotonic()
            while True:
                fresh = [
                    (p, self.parts[p])
                    for p in PARTS
                    if p in self.versions and self.versions[p] > seen.get(p, 0)
                ]
                if fresh:
                    for p, _ in fresh:
                        seen[p] = self.versions[p]
                    return fresh, self.now, self.healthy
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return [], self.now, self.healthy
                self.cond.wait(remaining)

    # --- the one builder thread -------------------------------------------------------
    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._supervise, name="wallboard-feed", daemon=True
                )
                self._thread.start()

    def _idle(self) -> bool:
        with self.cond:
            return self._subscribers <= 0 and time.monotonic() - self._last_seen > self.idle_s

    def _supervise(self) -> None:
        while True:
            with self._start_lock:  # decided under the lock `_ensure_thread` takes: no lost start
                if self._idle():
                    self._thread = None
                    log.debug("wallboard feed idle: no board for %.0f s", self.idle_s)
                    return
            try:
                self._run()
            except Exception as exc:  # noqa: BLE001 - logged with its traceback, then retried
                self.failures += 1
                self._mark_unhealthy()
                with self._start_lock, self.cond:
                    if self._subscribers <= 0:  # nobody to serve: the next board starts it again
                        log.warning("wallboard feed stopped with no board connected: %s", exc)
                        self._thread = None
                        return
                log.exception(
                    "wallboard feed stopped (%s); restarting in %.0f s", exc, self.retry_s
                )
                time.sleep(self.retry_s)

    def _mark_unhealthy(self) -> None:
        with self.cond:
            if self.healthy:
                self.healthy = False
                self.cond.notify_all()

    def _run(self) -> None:
        key = self.bus.keys.wallboard
        last = self.bus.r.xrevrange(key, count=1)
        last_id = str(last[0][0]) if last else "0-0"
        block_ms = max(1, int(self.poll_s * 1000))
        while not self._idle():
            started = time.monotonic()
            self._publish(self.build())
            entries = self.bus.read(key, last_id, block_ms=block_ms, count=10_000)
            if entries:
                last_id = entries[-1][0]
                pause = self.min_interval_s - (time.monotonic() - started)
                if pause > 0:
                    time.sleep(pause)

    def _publish(self, snap: dict[str, Any]) -> None:
        encoded = {
            p: json.dumps(snap[p], ensure_ascii=False, separators=(",", ":"))
            for p in PARTS
            if p in snap
        }
        with self.cond:
            self.builds += 1
            self.now = float(snap.get("now", time.time()))
            changed = not self.healthy
            self.healthy = True
            for p, text in encoded.items():
                if self.parts.get(p) != text:
                    self.parts[p] = text
                    self.versions[p] = self.versions.get(p, 0) + 1
                    changed = True
            if changed:
                self.cond.notify_all()
