"""Live state in Redis: screen-pops, agent/queue state, today's wallboard counters.

Two lanes, both staged in memory on the event-loop thread (so they see a
consistent snapshot) and sent by pipelines from worker threads:

* urgent — screen-pops and agent state hashes (what an agent console shows).
  `stage_urgent` runs right after the events that produced them and `kick`s a
  dedicated sender thread, so a pop reaches Redis within a millisecond or so,
  not behind the batched database flush (issue 6 item 8: p99 ≤ 25 ms end to end).
* batched — counters, queue state, waiting callers, notices: staged by `stage`
  at each database flush and sent after the database write (`flush`).

If Redis is down the staged operations stay buffered — bounded, oldest dropped
with a warning — and are retried: a Redis outage never stops the listener, and
call records go to the database regardless. Agent hashes live only in the
urgent lane, so the two lanes never write the same key out of order.

Pops are idempotent on retry: each carries a sequence number (per process run)
and a Lua script appends it only if that stream has not already taken that
sequence (`…:last_pop`), so a pipeline that half-succeeded before the
connection broke re-sends without duplicating a pop. Contact names for pops are
resolved in the sender thread from a cache warmed when the IVR sets
CENTRALITA_CONTACT (`prefetch_contact`), never by a database read on the loop.

Counters are idempotent: each (call, counter) contribution is marked in a
companion `…:seen` hash (one field per call, a bit per counter) by a Lua script
that increments only the first time,
so replaying a stream or re-sending a batch after a half-failed pipeline
cannot double-count.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError, ReadOnlyError
from redis.retry import Retry

from ami_listener.agents import AgentTracker
from ami_listener.calls import CallRecord, CallTracker, Outbox
from ami_listener.timeutil import iso
from servicedesk.bus import AGENT_POPS_KEPT, AGENT_POPS_TTL_S, COUNTER_BITS, Bus

log = logging.getLogger(__name__)

SEEN_TTL_S = 3 * 86400
COUNTER_TTL_S = 40 * 86400
STREAM_MAXLEN = 10_000
POP_STREAM_MAXLEN = AGENT_POPS_KEPT  # exact trim: see servicedesk.bus
LAST_POP_TTL_S = AGENT_POPS_TTL_S
INLINE_TIMEOUT_S = 0.25  # the longest an inline send may hold the event loop
# replies that mean "not now" (a replica, a restart loading its data, a slow script)
TRANSIENT = ("LOADING", "READONLY", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN")

# KEYS: stream, stream..":last_pop"; ARGV: run, seq, maxlen, ttl, field, value, ...
# (an agent's stream expires a day after its last pop, with its marker)
POP_LUA = """
local cur = redis.call('GET', KEYS[2])
if cur then
  local sep = string.find(cur, ':', 1, true)
  if sep and string.sub(cur, 1, sep - 1) == ARGV[1]
     and tonumber(string.sub(cur, sep + 1)) >= tonumber(ARGV[2]) then
    return false
  end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], '*', unpack(ARGV, 5))
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[4])
return id
"""

# KEYS: seen, counters; ARGV: call, field, amount, mode, seen ttl, counter ttl, field's bit.
# One mark per call (the bits of the counters it already added), not one per counter:
# ~90 bytes a call instead of ~650. A mark of the old form (call:field) still counts.
COUNTER_LUA = """
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1])) or 0  -- garbage reads as no mark
local bit = tonumber(ARGV[7])
if math.floor(cur / bit) % 2 == 0
   and redis.call('HEXISTS', KEYS[1], ARGV[1] .. ':' .. ARGV[2]) == 0 then
  redis.call('HSET', KEYS[1], ARGV[1], cur + bit)
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  if ARGV[4] == 'max' then
    local cur = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
    if tonumber(ARGV[3]) > cur then redis.call('HSET', KEYS[2], ARGV[2], ARGV[3]) end
  else
    redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[3])
  end
  redis.call('EXPIRE', KEYS[2], ARGV[6])
  return 1
end
return 0
"""

Op = tuple[Any, ...]
ContactInfo = Callable[[int | None], tuple[str | None, str | None]]


def counter_day(call: CallRecord, tz: ZoneInfo) -> str:
    """The wallboard day of a call: the local date it entered (or was refused by) the queue."""
    ts = call.entered_queue_at or call.started_at
    return datetime.fromtimestamp(ts, tz).date().isoformat()


class LivePublisher:
    def __init__(
        self,
        bus: Bus,
        timezone: str = "UTC",
        contact_info: ContactInfo | None = None,
        max_buffer: int = 200_000,
        pbx_id: str = "",
        submit: Callable[..., Any] | None = None,
    ) -> None:
        self.bus = bus
        # where contact prefetches run: the listener's database thread (one arena, one
        # warm connection; see db_thread), else a thread of our own
        self._submit = submit
        # Counter increments are idempotent per (PBX, call, field): two PBXs may number
        # their calls alike, and both add to the same per-queue counters of the desk.
        self.pbx_id = pbx_id
        self.keys = bus.keys
        self.tz = ZoneInfo(timezone)
        self.contact_info = contact_info or (lambda _cid: (None, None))
        self.pending: deque[Op] = deque(maxlen=max_buffer)  # batched lane
        self.urgent: deque[Op] = deque(maxlen=max_buffer)  # pops and agent state
        self.dropped = 0
        self.failures = 0
        self.rejected = 0
        self.pops_sent = 0
        self.pops_deduplicated = 0
        self.days: set[str] = set()  # wallboard days counted by this run (for a rebuild)
        self._lock = threading.Lock()  # guards the deques
        self._send_lock = threading.Lock()  # one pipeline at a time: sends stay in order
        self._script = bus.r.register_script(COUNTER_LUA)
        self._pop_script = bus.r.register_script(POP_LUA)
        self._inline: redis.Redis | None = None
        self._scripts_loaded = False
        self._contacts: dict[int, tuple[str | None, str | None]] = {}
        self._healthy = True  # inline sends only while the last send succeeded
        self._run = f"{os.getpid()}.{time.time_ns()}"  # pop sequence numbers restart per run
        self._seq = 0
        self._kick = threading.Event()
        self._closing = threading.Event()
        self._sender: threading.Thread | None = None
        self._prefetcher: ThreadPoolExecutor | None = None
        self._prefetched: set[int] = set()

    # --- staging (event-loop thread) ----------------------------------------
    def pop_fields(self, login: str, kind: str, call: CallRecord, ts: float) -> dict[str, Any]:
        """The pop as published; contact name/organisation are filled at send time."""
        contact_id = call.contact_id()
        if call.entered_queue_at is None:
            wait = 0
        elif kind == "ring":
            wait = max(0, int(ts - call.entered_queue_at))
        else:
            wait = call.hold_seconds or max(0, int(ts - call.entered_queue_at))
        return {
            "type": kind,
            "call_id": call.linkedid,
            "uniqueid": call.uniqueid,
            "caller_num": call.caller_num or "",
            "caller_name": call.caller_name or "",
            "contact_id": "" if contact_id is None else str(contact_id),
            "contact_name": "",
            "organisation": "",
            "queue": call.pop_queue(login),  # after a transfer: where it rings
            "language": call.language() or "",
            "category": call.var("CENTRALITA_CATEGORY") or "",
            "incident": call.var("CENTRALITA_INCIDENT") or "",
            "priority": call.var("CENTRALITA_PRIORITY") or "",
            "vip": "1" if call.var("CENTRALITA_VIP") == "1" else "0",
            "ivr": json.dumps(call.ivr_choices(), ensure_ascii=False),
            "wait_s": str(wait),
            "at": iso(ts),
            "agent": login,
        }

    def _urgent_ops(self, out: Outbox, agents: AgentTracker) -> list[Op]:
        ops: list[Op] = []
        for login, kind, call, ts in out.pops:
            self._seq += 1
            ops.append(
                (
                    "pop",
                    self.keys.agent_pops(login),
                    self.pop_fields(login, kind, call, ts),
                    call.contact_id(),
                    self._seq,
                )
            )
        out.pops = []
        for login in sorted(agents.dirty):
            agent = agents.agents[login]
            ops.append(("sadd", self.keys.agents, login))
            ops.append(("hset", self.keys.agent_state(login), self._encode(agent.as_hash())))
        agents.dirty.clear()
        return ops

    def stage_urgent(self, out: Outbox, agents: AgentTracker) -> bool:
        """Stage the pops and agent states produced so far; True if the sender has work.

        Takes `out.pops` and `agents.dirty`, so the next `stage` (at the
        database flush) does not send them again.
        """
        if out.pops or agents.dirty:
            self._enqueue(self.urgent, self._urgent_ops(out, agents))
        return bool(self.urgent)

    def stage(self, out: Outbox, calls: CallTracker, agents: AgentTracker) -> None:
        """Stage everything changed since the last database flush (pops included, for
        callers that drive `Ingest` without the sender thread: replays, benchmarks)."""
        self._enqueue(self.urgent, self._urgent_ops(out, agents))
        ops: list[Op] = []
        touched_days: set[tuple[str, str]] = set()
        for call, field, amount, op in out.counters:
            day = counter_day(call, self.tz)
            queue = call.queue or ""
            touched_days.add((day, queue))
            self.days.add(day)
            once = f"{self.pbx_id}:{call.linkedid}"
            ops.append(("counter", day, queue, once, field, amount, op))
        for day, queue in sorted(touched_days):
            ops.append(
                ("xadd", self.keys.wallboard, {"kind": "counters", "day": day, "queue": queue})
            )
        for queue, uid, entered in out.waiting:
            key = self.keys.queue_waiting(queue)
            ops.append(
                ("hdel", key, uid) if entered is None else ("hset", key, {uid: f"{entered:.6f}"})
            )
        queues = {q for q, _u, _e in out.waiting} | agents.touched_queues
        for queue in sorted(q for q in queues if q):
            waiting = calls.waiting.get(queue, {})
            logged, avail = agents.queue_figures(queue)
            ops.append(
                (
                    "hset",
                    self.keys.queue_state(queue),
                    {
                        "waiting": str(len(waiting)),
                        "longest_wait_since": f"{min(waiting.values()):.6f}" if waiting else "",
                        "available_agents": str(avail),
                        "logged_in": str(logged),
                    },
                )
            )
            ops.append(("xadd", self.keys.wallboard, {"kind": "queue", "queue": queue}))
        for call in out.dirty_calls.values():
            if call.done:
                ops.append(
                    (
                        "xadd",
                        self.keys.calls,
                        {
                            "kind": "ended",
                            "call_id": call.linkedid,
                            "queue": call.queue or "",
                            "outcome": call.outcome or "",
                        },
                    )
                )
        agents.touched_queues.clear()
        self._enqueue(self.pending, ops)

    def _enqueue(self, lane: deque[Op], ops: list[Op]) -> None:
        with self._lock:
            for op in ops:
                if len(lane) == lane.maxlen:
                    self.dropped += 1
                    if self.dropped == 1 or self.dropped % 10_000 == 0:
                        log.warning("redis buffer full: %d oldest operations dropped", self.dropped)
                lane.append(op)

    def stage_raw(self, op: Op) -> None:
        self._enqueue(self.pending, [op])

    @staticmethod
    def _encode(mapping: dict[str, Any]) -> dict[str, str]:
        return {
            k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in mapping.items()
        }

    # --- contact names (never a database read on the event loop) --------------
    def prefetch_contact(self, contact_id: int) -> None:
        """Warm the contact cache in a worker thread, long before the call rings."""
        if contact_id in self._prefetched:
            return
        if len(self._prefetched) > 100_000:
            self._prefetched.clear()
        self._prefetched.add(contact_id)
        if self._submit is not None:
            self._submit(self._contact, contact_id)
            return
        if self._prefetcher is None:
            self._prefetcher = ThreadPoolExecutor(1, thread_name_prefix="contact-prefetch")
        self._prefetcher.submit(self._contact, contact_id)

    def _contact(self, contact_id: int) -> tuple[str | None, str | None]:
        """(name, organisation); may read the database, so never called on the event loop."""
        found = self._contacts.get(contact_id)
        if found is not None:
            return found
        try:
            found = self.contact_info(contact_id)
        except Exception:  # a database hiccup must not hold back the pop
            log.exception("contact lookup failed for %s", contact_id)
            return None, None
        if len(self._contacts) >= 100_000:
            self._contacts.clear()
        self._contacts[contact_id] = found
        return found

    def _names_cached(self) -> bool:
        with self._lock:
            return all(
                op[3] is None or op[3] in self._contacts for op in self.urgent if op[0] == "pop"
            )

    # --- the sender thread -----------------------------------------------------
    def start_sender(self) -> None:
        """Send urgent operations as soon as they are staged (see `kick`)."""
        if self._sender is not None:
            return
        self._closing.clear()
        self._sender = threading.Thread(target=self._send_loop, name="redis-pops", daemon=True)
        self._sender.start()

    def kick(self) -> None:
        self._kick.set()

    def stop_sender(self, timeout: float = 5.0) -> None:
        """Stop the sender and prefetcher; whatever is left goes with the final `flush`."""
        self._closing.set()
        self._kick.set()
        if self._sender is not None:
            self._sender.join(timeout)
            self._sender = None
        if self._prefetcher is not None:
            self._prefetcher.shutdown(wait=False, cancel_futures=True)
            self._prefetcher = None

    def _send_loop(self) -> None:
        delay = 0.02
        while True:
            self._kick.wait()
            if self._closing.is_set():
                return
            self._kick.clear()
            if self.flush(urgent_only=True):
                delay = 0.02
            else:  # Redis down: retry with backoff, whether or not more is staged
                if self._closing.wait(delay):
                    return
                delay = min(delay * 2, 1.0)
                self._kick.set()

    # --- sending (any thread) -----------------------------------------------
    def send_inline(self) -> None:
        """Send the urgent lane now, from the event loop (one pipelined round trip, well
        under a millisecond on a healthy link: no thread hand-off on the pop's path).

        Never waits: if another send is in progress, or Redis failed last time, the
        sender thread does it (with backoff). A dedicated client with a short timeout
        and no retries bounds how long a hung Redis can hold the loop.
        """
        if (
            not self._healthy
            or not self._names_cached()  # a contact not prefetched: the sender looks it up
            or not self._send_lock.acquire(blocking=False)
        ):
            self.kick()
            return
        try:
            if self._inline is None:
                self._inline = _fail_fast_client(self.bus.r)
            ok = self._send(self._inline, urgent_only=True)
        finally:
            self._send_lock.release()
        if not ok:
            self._healthy = False
            self.kick()

    def flush(self, urgent_only: bool = False) -> bool:
        """Send everything staged; False (and kept for retry) if Redis failed."""
        with self._send_lock:
            ok = self._send(self.bus.r, urgent_only)
        self._healthy = ok
        return ok

    def _send(self, client: redis.Redis, urgent_only: bool) -> bool:
        with self._lock:
            urgent = list(self.urgent)
            self.urgent.clear()
            batched: list[Op] = []
            if not urgent_only:
                batched = list(self.pending)
                self.pending.clear()
        if not urgent and not batched:
            return True
        try:
            if not self._scripts_loaded:
                client.script_load(COUNTER_LUA)
                client.script_load(POP_LUA)
                self._scripts_loaded = True
            pipe = client.pipeline(transaction=False)
            for op in urgent:
                self._apply(pipe, op)
            for op in batched:
                self._apply(pipe, op)
            results = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            self.failures += 1
            log.warning(
                "redis publish failed (%s); %d operations kept for retry",
                exc,
                len(urgent) + len(batched),
            )
            with self._lock:
                self.urgent.extendleft(reversed(urgent))
                self.pending.extendleft(reversed(batched))
            return False
        errors = [res for res in results if isinstance(res, redis.ResponseError)]
        if any(isinstance(e, NoScriptError) for e in errors):  # Redis restarted
            self.failures += 1
            self._scripts_loaded = False  # loaded before the retry
        if any(
            isinstance(e, (NoScriptError, ReadOnlyError)) or str(e).startswith(TRANSIENT)
            for e in errors
        ):
            self.failures += 1
            log.warning("redis busy (%s); operations kept for retry", errors[0])
            with self._lock:  # all of them: pops and counters are idempotent
                self.urgent.extendleft(reversed(urgent))
                self.pending.extendleft(reversed(batched))
            return False
        if errors:  # refused by Redis (e.g. a key of the wrong type): retrying cannot help
            self.rejected += len(errors)
            log.error("redis refused %d operations, e.g. %s", len(errors), errors[0])
        for op, res in zip(urgent, results, strict=False):
            if op[0] == "pop":
                if isinstance(res, (str, bytes)):
                    self.pops_sent += 1
                elif res is None:  # already on the stream: a retry after a half-sent pipeline
                    self.pops_deduplicated += 1
        return True

    def _apply(self, pipe: Any, op: Op) -> None:
        kind = op[0]
        if kind == "pop":
            _k, stream, fields, contact_id, seq = op
            if contact_id is not None:
                name, org = self._contact(contact_id)
                fields = {**fields, "contact_name": name or "", "organisation": org or ""}
            args: list[Any] = [self._run, seq, POP_STREAM_MAXLEN, LAST_POP_TTL_S]
            for k, v in self.bus._encode(fields).items():
                args += (k, v)
            pipe.evalsha(self._pop_script.sha, 2, stream, stream + ":last_pop", *args)
        elif kind == "xadd":
            pipe.xadd(op[1], self.bus._encode(op[2]), maxlen=STREAM_MAXLEN, approximate=True)
        elif kind == "hset":
            pipe.hset(op[1], mapping=op[2])
        elif kind == "hdel":
            pipe.hdel(op[1], op[2])
        elif kind == "sadd":
            pipe.sadd(op[1], op[2])
        elif kind == "counter":
            _k, day, queue, member, field, amount, mode = op
            key = self.keys.counters(day, queue)
            pipe.evalsha(
                self._script.sha,
                2,
                key + ":seen",
                key,
                member,
                field,
                amount,
                mode,
                SEEN_TTL_S,
                COUNTER_TTL_S,
                COUNTER_BITS[field],
            )


def _fail_fast_client(client: redis.Redis) -> redis.Redis:
    """A client to the same server that gives up quickly: for sends from the event loop."""
    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs)
    kwargs.update(
        socket_timeout=INLINE_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )
    if "path" not in kwargs:  # TCP (a unix socket connects at once or not at all)
        kwargs["socket_connect_timeout"] = INLINE_TIMEOUT_S
    return redis.Redis(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )
