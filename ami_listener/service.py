"""The listener process: AMI link + ingest + periodic flush + resync + panel commands.

Lifecycle: `start()` loads calls left unfinished by a previous run (the
database holds in-flight state), then runs the AMI link; every (re)login
triggers `resync` (QueueStatus, QueueSummary, CoreShowChannels, then
queue_log reconciliation of calls that ended unseen). `stop()` ends the link
and flushes everything still staged.

Supervision: every background task (link, flusher, wrap-up ticker, panel
commands) runs under `servicedesk.supervise`: a crash is logged once with its
traceback, counted and the task restarted with backoff; a task that keeps
crashing, or a database file that vanishes or turns read-only (checked every
second), makes the service fail (`failure`, `failed` event) so the process
exits non-zero instead of running without recording. Redis coming back empty
(its run marker gone) triggers `recovery`: today's counters rebuilt from the
database and every agent's state re-published.

Two rhythms: database writes are batched (`flush_interval` / `flush_max`),
while screen-pops and agent states go to Redis as soon as the events that made
them have been handled (`_publish_urgent`, once per chunk read from the socket,
sent by the publisher's own thread) — a pop must not wait for the next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import redis
from sqlalchemy.orm import Session, sessionmaker

from ami_listener import recovery
from ami_listener.calls import CallRecord
from ami_listener.commands import CommandError, to_action
from ami_listener.db_thread import DatabaseThread
from ami_listener.dialer import Dialer, start_dialer
from ami_listener.heap_trim import trim_heap_forever, tune_malloc
from ami_listener.ingest import Ingest
from ami_listener.link import AmiLink, Backoff
from ami_listener.live import LivePublisher, _fail_fast_client
from ami_listener.queue_log import (
    TERMINAL_EVENTS,
    apply_lines,
    read_file,
    read_file_since,
    read_table,
    read_table_since,
)
from ami_listener.store import CallStore
from ami_listener.timeutil import iso
from centralita.logsetup import CALL_LINKEDID
from servicedesk import metrics
from servicedesk.bus import Bus
from servicedesk.config import CentralitaConfig
from servicedesk.preflight import DatabaseWatch
from servicedesk.supervise import supervise
from servicedesk.values import ascii_int

log = logging.getLogger(__name__)

COMMAND_MAX_AGE_MS = 5 * 60 * 1000
CATCH_UP_MARGIN_S = 120.0  # queue_log is read from this long before the last thing we saw
CATCH_UP_FRESH_S = 3600.0  # an empty database catches up on the last hour of queue_log
WATCH_INTERVAL_S = 1.0  # database file and Redis run-marker checks
STOP_FLUSH_TRIES = 3
MID_CHUNK_S = 0.002  # a pop found this far into a chunk's handling leaves at once
AGENT_STATE_DELAY_S = 0.02  # agent-state-only changes wait this long to share one send
CALLBACK_LEAD_S = 1.0  # event-clock seconds before a wrap-up ends that a callback may ring


def tune_process() -> None:
    """Process-wide settings for the listener, so a pop is not held by the process itself:
    rare cyclic collections (a full one over the call tracker stalls event handling for
    tens of ms; startup objects are frozen out of them) and a 1 ms GIL switch interval
    (the database writer thread would otherwise keep the event loop waiting up to 5 ms
    per hand-over). Only the service's `start` calls it."""
    import gc
    import sys

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    sys.setswitchinterval(0.001)


@dataclass
class ListenerOptions:
    flush_interval: float = 0.2
    flush_max: int = 500
    backoff: Backoff | None = None
    refused_backoff: Backoff | None = None
    command_block_ms: int = 1000
    action_timeout: float = 10.0
    tune_process: bool = True  # GC and GIL settings are process-wide: the listener's own
    database_url: str | None = None  # for the SQLite file watch (deleted / read-only)


def queue_settings_from(cfg: CentralitaConfig) -> Callable[[str], tuple[int, int]]:
    defs = cfg.queue_definitions()

    def lookup(queue: str) -> tuple[int, int]:
        d = defs.get(queue)
        s = d.settings if d else cfg.queue_defaults
        return s.servicelevel, s.short_abandon

    return lookup


def wrapup_from(cfg: CentralitaConfig) -> Callable[[str], int]:
    defs = cfg.queue_definitions()

    def lookup(queue: str) -> int:
        d = defs.get(queue)
        return (d.settings if d else cfg.queue_defaults).wrapuptime

    return lookup


class ListenerService:
    def __init__(
        self,
        cfg: CentralitaConfig,
        session_factory: sessionmaker[Session] | None,
        redis_client: redis.Redis | None,
        secret: str,
        options: ListenerOptions | None = None,
        wrapup_for: Callable[[str], int] | None = None,
    ) -> None:
        self.cfg = cfg
        self.opts = options or ListenerOptions()
        conn = cfg.connections
        self.pbx_id = conn.pbx_id
        self.factory = session_factory
        self.store = CallStore(session_factory, self.pbx_id) if session_factory else None
        self.db = DatabaseThread()  # every database call: one thread, in order
        self.bus = Bus(redis_client, conn.redis.key_prefix) if redis_client is not None else None
        self.live = (
            LivePublisher(
                self.bus,
                cfg.service.timezone,
                self.store.contact_info if self.store else None,
                pbx_id=self.pbx_id,
                submit=self.db.submit,
            )
            if self.bus is not None
            else None
        )
        logins = {a.interface: (a.login, a.name) for a in cfg.agents}
        self.ingest = Ingest(
            self.pbx_id,
            self.store,
            self.live,
            interface_logins=logins,
            queue_settings=queue_settings_from(cfg),
            wrapup_for=wrapup_for or wrapup_from(cfg),
        )
        self.ingest.calls.reconciler = self._reconcile_now
        self.ingest.calls.peer_pbxs = frozenset(conn.pbx_ids()) - {self.pbx_id}
        ami = conn.ami
        self.ingest.parser.max_frame = ami.max_frame_bytes
        self.link = AmiLink(
            ami.host,
            ami.port,
            ami.username,
            secret,
            parser=self.ingest.parser,
            on_event=self._on_event,
            on_login=self.resync,
            ping_interval=ami.ping_interval,
            ping_timeout=ami.ping_timeout,
            backoff=self.opts.backoff,
            refused_backoff=self.opts.refused_backoff,
            on_status=self._status,
        )
        self.resyncs = 0
        self.reconciled = 0
        self.commands_done = 0
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = asyncio.Event()
        self._resynced = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._urgent_scheduled = False
        self._agents_timer: asyncio.TimerHandle | None = None
        self.failure: str | None = None  # why the service gave up (the process exits non-zero)
        self.failed = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        self.redis_rebuilds = 0
        self.command_errors = 0
        self.dbwatch = DatabaseWatch(self.opts.database_url) if self.opts.database_url else None
        self._probe: redis.Redis | None = None
        self._run_id = f"{time.time_ns()}"
        self.dialer: Dialer | None = None

    @property
    def status_key(self) -> str:
        """Hash with the AMI link's state, for the panel's supervisor view (not in bus.Keys)."""
        prefix = self.bus.keys.prefix if self.bus is not None else "centralita"
        return f"{prefix}:listener:{self.pbx_id}"

    def _status(self, status: str, detail: str) -> None:
        """Staged like any live state: a Redis outage only delays it."""
        if self.live is None:
            return
        self.live.stage_raw(
            (
                "hset",
                self.status_key,
                {"status": status, "detail": detail, "since": iso(time.time())},
            )
        )

    # --- events ----------------------------------------------------------------
    def _on_event(self, msg: Any) -> None:
        """Handle one AMI event; pops and agent states it produced leave right after the chunk."""
        CALL_LINKEDID.set(msg.get("Linkedid"))  # log lines while handling it name the call
        self.ingest.handle(msg)
        live = self.live
        if live is None:
            return
        if (
            self.store is not None
            and msg.get("Event") == "VarSet"
            and msg.get("Variable") == "CENTRALITA_CONTACT"
        ):
            contact = ascii_int(msg.get("Value"), 1)
            if contact is not None:
                live.prefetch_contact(contact)  # the IVR identified the caller: warm the cache
        if self._loop is None:
            self._publish_urgent()
        elif self.ingest.outbox.pops:  # a pop: right after this chunk of events
            if time.perf_counter() - self.link.chunk_started > MID_CHUNK_S:
                self._publish_urgent()  # a big chunk: the pop does not wait for its end
            elif not self._urgent_scheduled:
                if self._agents_timer is not None:
                    self._agents_timer.cancel()
                    self._agents_timer = None
                self._urgent_scheduled = True
                self._loop.call_soon(self._publish_urgent)
        elif self.ingest.agents.dirty and not self._urgent_scheduled and self._agents_timer is None:
            # agent states alone: coalesced over a few ms (many events touch them)
            self._agents_timer = self._loop.call_later(AGENT_STATE_DELAY_S, self._publish_urgent)

    def _publish_urgent(self) -> None:
        self._urgent_scheduled = False
        if self._agents_timer is not None:
            self._agents_timer.cancel()
            self._agents_timer = None
        if self.live is not None and self.live.stage_urgent(self.ingest.outbox, self.ingest.agents):
            self.live.send_inline()

    # --- lifecycle -----------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.opts.tune_process:
            tune_malloc()  # before the worker threads allocate
        if self.store is not None:
            open_calls = await self.db.run(self.store.load_open_calls)
            for call in open_calls:
                self.ingest.calls.restore(call)
                cid = call.contact_id()
                if self.live is not None and cid is not None:
                    self.live.prefetch_contact(cid)
            if open_calls:
                log.info("restored %d unfinished calls from the database", len(open_calls))
        if self.live is not None:
            self.live.start_sender()
        if self.opts.tune_process:
            tune_process()
        jobs: list[tuple[str, Callable[[], Any]]] = [
            ("ami-link", self.link.run),
            ("flusher", self._flusher),
            ("wrapup-ticker", self._ticker),
            ("heap-trim", trim_heap_forever),
        ]
        if self.bus is not None:
            jobs.append(("commands", self._commands))
        self._tasks = [
            asyncio.create_task(supervise(name, job, self._fail), name=name) for name, job in jobs
        ]

        self.dialer = await start_dialer(
            self.cfg, self.factory, self.bus, live=self.callback_live, db=self.db
        )

    def _fail(self, reason: str) -> None:
        """The service cannot go on recording: say why, once, and stop (exit non-zero)."""
        if self.failure is None:
            self.failure = reason
            log.critical("listener failing: %s", reason)
            metrics.incr("listener.fatal")
        self._stopping.set()
        self.failed.set()

    async def stop(self) -> None:
        """Stop the link and background tasks, then write what is still staged."""
        self._stopping.set()
        self.link.stop()
        if self.dialer is not None:
            await self.dialer.stop()
        for task in self._tasks:
            if task.get_name() != "ami-link":
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
        if self.live is not None:
            await asyncio.to_thread(self.live.stop_sender)
        for attempt in range(STOP_FLUSH_TRIES):
            try:
                if await self.flush():
                    break
            except Exception:
                log.exception("final flush failed (attempt %d)", attempt + 1)
            if self.ingest.unwritten == 0 and self.live is not None:
                break  # the records are in; only Redis is missing (live views only)
            await asyncio.sleep(0.2 * (attempt + 1))
        if self.ingest.unwritten:
            log.error(
                "stopping with %d calls not written (the database refused every retry); "
                "the next run completes them from queue_log",
                self.ingest.unwritten,
            )
        self.db.close()

    async def run_forever(self) -> None:
        await self.start()
        try:
            await self._stopping.wait()
        finally:
            await self.stop()

    async def flush(self) -> bool:
        """Collect and write, one flush at a time: a later snapshot of a call must never be
        overwritten by an earlier one still on its way to the database."""
        async with self._flush_lock:
            return await self._flush_now()

    async def _flush_now(self) -> bool:
        batch = self.ingest.collect()  # the outbox is emptied: this batch is the only copy
        write = asyncio.ensure_future(self.db.run(self.ingest.write, batch))
        try:
            return await asyncio.shield(write)
        except asyncio.CancelledError:
            # cancelled (stop() cancels the flusher) while the write was still waiting for
            # a worker thread: unshielded, the batch was dropped unwritten and the call's
            # row kept an older snapshot (a transferred call's talk_seconds None). The
            # write goes on; the flush lock stays held until it is done, so stop()'s final
            # flush, with any newer snapshot, lands after it. A second cancel stops waiting.
            await asyncio.wait([write])
            if not write.cancelled():
                write.exception()  # logged by ingest.write; retrieved, not re-raised
            raise

    async def wait_resynced(self, timeout: float) -> None:
        await asyncio.wait_for(self._resynced.wait(), timeout)

    async def _flusher(self) -> None:
        last = time.monotonic()
        watched = 0.0
        while True:
            await asyncio.sleep(0.05)
            if time.monotonic() - watched >= WATCH_INTERVAL_S:
                watched = time.monotonic()
                await self._watch()
            due = time.monotonic() - last >= self.opts.flush_interval
            if self.ingest.pending() >= self.opts.flush_max or (due and self.ingest.pending()):
                await self.flush()
                last = time.monotonic()
            elif due:
                if self.live is not None and (self.live.pending or self.live.urgent):
                    await asyncio.to_thread(self.live.flush)
                last = time.monotonic()

    async def _watch(self) -> None:
        """Once a second: is our database file still there and writable; did Redis lose us?"""
        if self.dbwatch is not None:
            problem = await asyncio.to_thread(self.dbwatch.problem)
            if problem is not None:
                self._fail(problem)
                return
        if (
            self.bus is not None
            and self.store is not None
            and await asyncio.to_thread(self._marker_missing)
        ):
            await self.rebuild_live()

    def _marker_missing(self) -> bool:
        """True when Redis answers and our run marker is gone (restarted empty, flushed)."""
        assert self.bus is not None
        if self._probe is None:
            self._probe = _fail_fast_client(self.bus.r)
        try:
            return not self._probe.exists(recovery.marker_key(self.bus, self.pbx_id))
        except redis.RedisError:
            return False  # down: nothing to rebuild yet

    async def rebuild_live(self) -> None:
        """Redis lost our state: rebuild today's counters from the records, re-publish agents."""
        async with self._flush_lock:
            await self._rebuild_live()

    async def _rebuild_live(self) -> None:
        assert self.bus is not None and self.store is not None and self.factory is not None
        ok = await self._flush_now()
        if self.ingest.unwritten:
            return  # the database is behind: try again at the next check
        tz = ZoneInfo(self.cfg.service.timezone)
        # today, and the latest days this run counted calls on (the same day when live)
        counted = sorted(self.live.days)[-2:] if self.live is not None else []
        days = sorted({recovery.today(tz, time.time()), *counted})
        day = ", ".join(days)
        queues = sorted(self.cfg.queue_definitions())
        settings = self.ingest.calls.queue_settings
        bus, factory, marker = self.bus, self.factory, recovery.marker_key(self.bus, self.pbx_id)

        def rebuild() -> int:
            found = 0
            # under the write lock: a batch is either wholly in the recomputation (database
            # and counters) or wholly after it, never half (stop's final flush included)
            with self.ingest._write_lock, factory() as session:
                for one in days:
                    found += recovery.rebuild_counters(bus, session, one, tz, settings, queues)
            bus.r.set(marker, self._run_id)
            return found

        try:
            found = await self.db.run(rebuild)
        except redis.RedisError as exc:
            log.warning("live state rebuild postponed: %s", exc)
            return
        agents, calls, out = self.ingest.agents, self.ingest.calls, self.ingest.outbox
        agents.dirty.update(agents.agents)
        for agent in agents.agents.values():
            agents.touched_queues.update(agent.queues)
        for queue, waiting in calls.waiting.items():
            agents.touched_queues.add(queue)
            for uid, entered in waiting.items():
                out.waiting.append((queue, uid, entered))
        self._publish_urgent()
        self.redis_rebuilds += 1
        metrics.incr("listener.redis_rebuilds")
        log.warning(
            "Redis held no live state of this listener (first start, or restarted empty): "
            "counters of %s rebuilt from the database for %d queues, %d agents re-published%s",
            day,
            found,
            len(agents.agents),
            "" if ok else " (Redis still failing; retrying)",
        )

    async def _ticker(self) -> None:
        """Wrap-up ends on the clock too, not only when a later event arrives."""
        while True:
            await asyncio.sleep(1.0)
            self.ingest.agents.tick(time.time())
            if self.ingest.agents.dirty:
                self._publish_urgent()

    # --- resync ---------------------------------------------------------------
    async def resync(self, link: AmiLink) -> None:
        """Rebuild live state after every login; complete calls that ended unseen."""
        self._resynced.clear()
        t = self.opts.action_timeout
        calls = self.ingest.calls
        since = await self._catch_up_since()
        calls.last_ts = max(calls.last_ts, time.time())
        now = calls.last_ts
        status = await link.send({"Action": "QueueStatus"}, as_list=True, timeout=t)
        present: dict[str, set[str]] = {}
        for msg in _as_list(status):
            if msg.get("Event") == "QueueMember":
                login = self.ingest.agents.login_for(
                    msg.get("Location") or msg.get("Interface") or "", msg.get("Name") or ""
                )
                present.setdefault(login, set()).add(msg.get("Queue") or "")
        self.ingest.agents.resync_members(present, now)
        entries = {
            str(msg.get("Uniqueid") or "")
            for msg in _as_list(status)
            if msg.get("Event") == "QueueEntry"
        }
        calls.resync_queue(entries)
        summary = await link.send({"Action": "QueueSummary"}, as_list=True, timeout=t)
        for msg in _as_list(summary):
            if msg.get("Event") == "QueueSummary":
                log.info(
                    "queue %s: logged in %s, available %s, callers %s",
                    msg.get("Queue"),
                    msg.get("LoggedIn"),
                    msg.get("Available"),
                    msg.get("Callers"),
                )
        channels = await link.send({"Action": "CoreShowChannels"}, as_list=True, timeout=t)
        live: dict[str, set[str]] = {}
        for msg in _as_list(channels):
            if msg.get("Event") == "CoreShowChannel":
                live.setdefault(msg.get("Linkedid") or "", set()).add(msg.get("Uniqueid") or "")
        gone = calls.resync_channels(live, now)
        if gone:
            await self._reconcile(gone, now)
        await self._catch_up(since, live, now)
        self.resyncs += 1
        self._resynced.set()

    async def _catch_up_since(self) -> float:
        """Where queue_log may hold calls we never saw: from just before our last record."""
        last = self.ingest.calls.last_ts
        if not last and self.store is not None:
            last = await self.db.run(self.store.last_activity) or 0.0
        return last - CATCH_UP_MARGIN_S if last else time.time() - CATCH_UP_FRESH_S

    async def _catch_up(self, since: float, live: dict[str, set[str]], now: float) -> None:
        """Queue calls that began while no listener ran (a restart, a link down): from queue_log.

        Without this a call that started and ended while the listener was down, or
        was answered before it came back, would be missing from the records."""
        source = self.cfg.connections.queue_log
        if source.path:
            found = await asyncio.to_thread(read_file_since, source.path, since)
        elif source.table and self.factory is not None:
            found = await self.db.run(read_table_since, self.factory, since)
        else:
            return
        calls = self.ingest.calls
        unknown = {
            cid
            for cid, lines in found.items()
            if any(line.event == "ENTERQUEUE" for line in lines)
            and cid not in calls.finished
            and calls.by_uniqueid(cid) is None
        }
        if unknown and self.store is not None:
            unknown -= await self.db.run(self.store.known_callids, unknown)
        if not unknown:
            return
        alive = {uid for uids in live.values() for uid in uids} | set(live)
        members = dict(self.ingest.agents.by_member_name)
        for cid in sorted(unknown, key=lambda c: min(line.time for line in found[c])):
            lines = found[cid]
            call = CallRecord(linkedid=cid, uniqueid=cid, started_at=min(x.time for x in lines))
            call.caller_uids.add(cid)
            last = apply_lines(call, lines, members)
            over = any(line.event in TERMINAL_EVENTS for line in lines) or cid not in alive
            calls.adopt(call, last if over else None, now)
        self.reconciled += len(unknown)
        metrics.incr("listener.caught_up_from_queue_log", len(unknown))
        log.info("caught up %d queue calls from queue_log that began while away", len(unknown))

    def _queue_log_lines(self, calls: list[Any]) -> dict[str, list[Any]]:
        ids: set[str] = set()
        for call in calls:
            ids.update(call.caller_uids | {call.uniqueid, call.linkedid})
        source = self.cfg.connections.queue_log
        if source.path:
            since = min((c.started_at for c in calls), default=0.0) - 60
            return read_file(source.path, ids, since)
        if source.table and self.factory is not None:
            return read_table(self.factory, ids)
        return {}

    def _reconcile_now(self, call: Any) -> None:
        """A call that left its queue while we were away ends now: complete it from queue_log.

        Synchronous (a short file or table read) because it runs inside event
        handling; it happens only for calls caught in a disconnection.
        """
        try:
            found = self._queue_log_lines([call])
        except Exception:
            log.exception("queue_log read failed for %s", call.linkedid)
            return
        lines = [
            line for uid in (call.caller_uids | {call.uniqueid}) for line in found.get(uid, [])
        ]
        if lines:
            apply_lines(call, lines, dict(self.ingest.agents.by_member_name))
            self.reconciled += 1

    async def _reconcile(self, gone: list[Any], now: float) -> None:
        found = await self.db.run(self._queue_log_lines, gone)  # a file or a table
        members = dict(self.ingest.agents.by_member_name)
        for call in gone:
            lines = [
                line for uid in (call.caller_uids | {call.uniqueid}) for line in found.get(uid, [])
            ]
            last = apply_lines(call, lines, members) if lines else None
            self.ingest.calls.finish_unseen(call, last, now)
            self.reconciled += 1
        log.info("reconciled %d calls that ended while disconnected", len(gone))

    def callback_live(self) -> tuple[dict[str, list[float]], dict[str, list[str]]]:
        """For the callback scheduler: callers still waiting per queue (entry times) and
        free agents per queue, longest idle first.

        An agent whose wrap-up ends within CALLBACK_LEAD_S counts as free: the callback
        rings their phone as the wrap-up ends, so app_queue (ringinuse = no) does not
        hand them a caller who joined after the callback's place."""
        now = max(self.ingest.calls.last_ts, time.time())  # the wrap-up ticker's clock too
        waiting = {q: list(entries.values()) for q, entries in self.ingest.calls.waiting.items()}
        free: dict[str, list[str]] = {}
        agents = sorted(self.ingest.agents.agents.values(), key=lambda a: a.since)
        for agent in agents:
            soon = (
                agent.state == "wrapup"
                and not agent.paused
                and agent.wrapup_until is not None
                and agent.wrapup_until - now <= CALLBACK_LEAD_S
            )
            if agent.state == "available" or soon:
                for queue in agent.queues:
                    free.setdefault(queue, []).append(agent.login)
        return waiting, free

    # --- panel commands ----------------------------------------------------------
    async def _commands(self) -> None:
        """Execute panel commands in order; every entry gets a reply and moves the cursor,
        whatever it holds (a bad entry must not stall, or on restart kill, the loop)."""
        assert self.bus is not None
        keys = self.bus.keys
        cursor_key = keys.commands + ":last_id"
        last: str | None = None
        while True:
            try:
                if last is None:
                    last = await asyncio.to_thread(self.bus.r.get, cursor_key) or "0-0"
                entries = await asyncio.to_thread(
                    self.bus.read, keys.commands, last, self.opts.command_block_ms, 50
                )
            except redis.RedisError as exc:
                log.warning("commands stream unavailable: %s", exc)
                await asyncio.sleep(1.0)
                continue
            for entry_id, fields in entries:
                try:
                    result = await self._execute(entry_id, fields)
                except Exception as exc:
                    self.command_errors += 1
                    metrics.incr("listener.command_errors")
                    log.exception("panel command %s failed", entry_id)
                    result = {
                        "id": str(fields.get("id", entry_id))[:64],
                        "response": "Error",
                        "message": f"internal error: {type(exc).__name__}",
                    }
                try:
                    await asyncio.to_thread(self.bus.publish, keys.command_results, result)
                    await asyncio.to_thread(self.bus.r.set, cursor_key, entry_id)
                except redis.RedisError as exc:
                    log.warning("could not publish command result: %s", exc)
                last = entry_id
                self.commands_done += 1

    async def _execute(self, entry_id: str, fields: dict[str, str]) -> dict[str, str]:
        cid = fields.get("id", entry_id)
        age_ms = time.time() * 1000 - int(entry_id.split("-")[0])
        if age_ms > COMMAND_MAX_AGE_MS:
            return {"id": cid, "response": "Error", "message": "expired before execution"}
        try:
            action = to_action(fields)
        except CommandError as exc:
            return {"id": cid, "response": "Error", "message": str(exc)}
        while not self._stopping.is_set():
            try:
                await self.link.wait_up(5.0)
                break
            except TimeoutError:
                continue  # link down: the command waits, it is not dropped
        else:
            return {"id": cid, "response": "Error", "message": "listener stopping"}
        try:
            resp = await self.link.send(action, timeout=self.opts.action_timeout)
        except TimeoutError:
            return {"id": cid, "response": "Error", "message": "no answer from Asterisk"}
        except ConnectionError:
            # sent or not, we cannot know: never re-send a command blindly
            return {"id": cid, "response": "Error", "message": "AMI link lost; state unknown"}
        return {
            "id": cid,
            "response": str(resp.get("Response") or ""),
            "message": str(resp.get("Message") or ""),
        }


def _as_list(result: Any) -> list[Any]:
    if isinstance(result, list):
        return result
    return [result] if result is not None else []
