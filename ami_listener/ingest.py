"""Bytes in, records and live state out: parser → state machines → batched writes.

Synchronous on purpose: the asyncio service feeds it from `data_received` and
runs `write()` in a worker thread; the benchmark drives it directly. `collect()`
must run on the thread that feeds events (it snapshots mutable records);
`write()` may run anywhere. A commit that fails for a transient reason
(locked, disk full, connection lost) keeps its batch and retries it, merged
with newer snapshots, on the next write; a row the database refuses for good is
quarantined by the store and never blocks the others. A call whose snapshot
cannot even be taken (a bug, a value no parser foresaw) is logged, counted and
skipped for this flush; the stream goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ami_listener.agents import AgentChange, AgentTracker, SessionChange
from ami_listener.calls import CallTracker, Outbox, QueueSettingsFn
from ami_listener.live import LivePublisher
from ami_listener.parser import AmiMessage, AmiParser
from ami_listener.store import CallSnapshot, CallStore, snapshot
from centralita.metrics import LabelledSamples
from servicedesk import metrics

log = logging.getLogger(__name__)

# seconds, the buckets of the listener's database batch write histogram
DB_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

Listener = Callable[[AmiMessage], None]


@dataclass
class Batch:
    calls: dict[str, CallSnapshot] = field(default_factory=dict)
    changes: list[AgentChange] = field(default_factory=list)
    sessions: list[SessionChange] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.calls or self.changes or self.sessions)

    def merge_older(self, older: Batch) -> None:
        for lid, snap in older.calls.items():
            self.calls.setdefault(lid, snap)
        self.changes[:0] = older.changes
        self.sessions[:0] = older.sessions


class Ingest:
    def __init__(
        self,
        pbx_id: str,
        store: CallStore | None = None,
        live: LivePublisher | None = None,
        interface_logins: dict[str, tuple[str, str]] | None = None,
        queue_settings: QueueSettingsFn | None = None,
        wrapup_for: Callable[[str], int] | None = None,
    ) -> None:
        self.pbx_id = pbx_id
        self.store = store
        self.live = live
        self.parser = AmiParser()
        self.outbox = Outbox()
        self.agents = AgentTracker(interface_logins, wrapup_for)
        self.calls = CallTracker(self.agents, self.outbox, queue_settings)
        self.listeners: list[Listener] = []
        self.handler_errors = 0
        self.events = 0
        # seconds per database batch write: folded into a histogram every few thousand
        # writes or when scraped (a deque of raw samples grew until somebody scraped)
        self.db_write_seconds = LabelledSamples(DB_BUCKETS)
        self._retry = Batch()
        self._write_lock = threading.Lock()
        self.snapshot_errors = 0
        self.quarantined = 0
        self.write_failures = 0  # consecutive failed commits (reset by a good one)

    @property
    def unwritten(self) -> int:
        """Calls kept for a retry after a failed commit."""
        return len(self._retry.calls)

    # --- input -------------------------------------------------------------
    def feed(self, data: bytes) -> int:
        msgs = self.parser.feed(data)
        for msg in msgs:
            self.handle(msg)
        return len(msgs)

    def handle(self, msg: AmiMessage) -> None:
        """Every handler isolated: one bad message or buggy listener never stops the stream."""
        self.events += 1
        try:
            self.calls.handle(msg)
        except Exception:
            self.handler_errors += 1
            log.exception("call state machine failed on %r", msg.get("Event"))
        for listener in self.listeners:
            try:
                listener(msg)
            except Exception:
                self.handler_errors += 1
                log.exception("listener %r failed on %r", listener, msg.get("Event"))

    def pending(self) -> int:
        """Changes staged since the last collect (calls, pops, counters, agent states)."""
        a = self.agents
        return len(self.outbox) + len(a.changes) + len(a.sessions) + len(a.dirty)

    # --- output ------------------------------------------------------------
    def collect(self) -> Batch:
        """Snapshot what changed since the last call (feeding thread only)."""
        out = self.outbox
        batch = Batch()
        for lid, call in out.dirty_calls.items():
            try:
                batch.calls[lid] = snapshot(call, self.pbx_id)
            except Exception:
                self.snapshot_errors += 1
                metrics.incr("listener.snapshot_errors")
                log.exception("call %r could not be snapshotted; skipped this flush", lid)
        batch.changes = self.agents.changes
        batch.sessions = self.agents.sessions
        self.agents.changes = []
        self.agents.sessions = []
        if self.live is not None:
            try:
                self.live.stage(out, self.calls, self.agents)
            except Exception:
                metrics.incr("listener.stage_errors")
                log.exception("live state could not be staged; sent with the next flush")
        else:
            self.agents.dirty.clear()
            self.agents.touched_queues.clear()
        out.dirty_calls = {}
        out.pops = []
        out.counters = []
        out.waiting = []
        out.notices = []
        return batch

    def write(self, batch: Batch) -> bool:
        """Database first (the durable record), then Redis. True when both succeeded."""
        ok = True
        with self._write_lock:
            if self.store is not None:
                batch.merge_older(self._retry)
                self._retry = Batch()
                if batch:
                    started = time.perf_counter()
                    try:
                        bad = self.store.write(
                            list(batch.calls.values()), batch.changes, batch.sessions
                        )
                        self.quarantined += bad or 0
                    except Exception as exc:
                        self._retry = batch
                        ok = False
                        self.write_failures += 1
                        metrics.incr("listener.db_write_failures")
                        if self.write_failures == 1 or self.write_failures % 100 == 0:
                            log.error(
                                "database write failed (%s: %s); %d calls kept for retry",
                                type(exc).__name__,
                                str(exc).splitlines()[0][:300] if str(exc) else "",
                                len(batch.calls),
                            )
                    else:
                        # folded into the metrics histogram at scrape time (bounded here)
                        self.db_write_seconds.add("", time.perf_counter() - started)
                        if self.write_failures:
                            log.info(
                                "database writes resumed after %d failures", self.write_failures
                            )
                        self.write_failures = 0
            if self.live is not None:
                ok = self.live.flush() and ok
        return ok

    def flush(self) -> bool:
        return self.write(self.collect())
