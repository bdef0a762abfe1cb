"""Live state in Redis: screen-pops, agent/queue state, today's wallboard counters.

Everything is staged in memory first (`stage`, on the event loop thread, so it
sees a consistent snapshot) and sent in one pipeline by `flush` (a worker
thread). If Redis is down the staged operations stay buffered — bounded, oldest
dropped with a warning — and are retried on the next flush: a Redis outage
never stops the listener, and call records go to the database regardless.

Counters are idempotent: each (call, counter) contribution is recorded in a
companion `…:seen` hash by a Lua script that increments only the first time,
so replaying a stream or re-sending a batch after a half-failed pipeline
cannot double-count.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import redis

from ami_listener.agents import AgentTracker
from ami_listener.calls import CallRecord, CallTracker, Outbox
from ami_listener.timeutil import iso
from servicedesk.bus import Bus

log = logging.getLogger(__name__)

COUNTER_FIELDS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "timeout",
    "exit_empty",
    "join_empty",
    "exit_key",
    "answered_within_sl",
    "hold_total_s",
    "talk_total_s",
    "longest_hold_s",
)
SEEN_TTL_S = 3 * 86400
COUNTER_TTL_S = 40 * 86400

COUNTER_LUA = """
if redis.call('HSETNX', KEYS[1], ARGV[1], 1) == 1 then
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
    ) -> None:
        self.bus = bus
        self.keys = bus.keys
        self.tz = ZoneInfo(timezone)
        self.contact_info = contact_info or (lambda _cid: (None, None))
        self.pending: deque[Op] = deque(maxlen=max_buffer)
        self.dropped = 0
        self.failures = 0
        self._lock = threading.Lock()
        self._script = bus.r.register_script(COUNTER_LUA)

    # --- staging (event-loop thread) ----------------------------------------
    def pop_fields(self, login: str, kind: str, call: CallRecord, ts: float) -> dict[str, Any]:
        contact_id = call.contact_id()
        contact_name, org = self.contact_info(contact_id)
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
            "contact_name": contact_name or "",
            "organisation": org or "",
            "queue": call.queue or "",
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

    def stage(self, out: Outbox, calls: CallTracker, agents: AgentTracker) -> None:
        ops: list[Op] = []
        for login, kind, call, ts in out.pops:
            ops.append(
                ("xadd", self.keys.agent_pops(login), self.pop_fields(login, kind, call, ts))
            )
        touched_days: set[tuple[str, str]] = set()
        for call, field, amount, op in out.counters:
            day = counter_day(call, self.tz)
            queue = call.queue or ""
            touched_days.add((day, queue))
            ops.append(("counter", day, queue, f"{call.linkedid}:{field}", field, amount, op))
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
        for login in sorted(agents.dirty):
            agent = agents.agents[login]
            ops.append(("sadd", self.keys.agents, login))
            ops.append(("hset", self.keys.agent_state(login), self._encode(agent.as_hash())))
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
        agents.dirty.clear()
        agents.touched_queues.clear()
        with self._lock:
            for op in ops:
                if len(self.pending) == self.pending.maxlen:
                    self.dropped += 1
                self.pending.append(op)

    def stage_raw(self, op: Op) -> None:
        with self._lock:
            self.pending.append(op)

    @staticmethod
    def _encode(mapping: dict[str, Any]) -> dict[str, str]:
        return {
            k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for k, v in mapping.items()
        }

    # --- sending (any thread) -----------------------------------------------
    def flush(self) -> bool:
        """Send everything staged; False (and kept for retry) if Redis failed."""
        with self._lock:
            if not self.pending:
                return True
            ops = list(self.pending)
            self.pending.clear()
        try:
            pipe = self.bus.r.pipeline(transaction=False)
            for op in ops:
                self._apply(pipe, op)
            pipe.execute()
            return True
        except redis.RedisError as exc:
            self.failures += 1
            log.warning("redis publish failed (%s); %d operations kept for retry", exc, len(ops))
            with self._lock:
                self.pending.extendleft(reversed(ops))
            return False

    def _apply(self, pipe: Any, op: Op) -> None:
        kind = op[0]
        if kind == "xadd":
            pipe.xadd(op[1], self.bus._encode(op[2]), maxlen=10_000, approximate=True)
        elif kind == "hset":
            pipe.hset(op[1], mapping=op[2])
        elif kind == "hdel":
            pipe.hdel(op[1], op[2])
        elif kind == "sadd":
            pipe.sadd(op[1], op[2])
        elif kind == "counter":
            _k, day, queue, member, field, amount, mode = op
            key = self.keys.counters(day, queue)
            self._script(
                keys=[key + ":seen", key],
                args=[member, field, amount, mode, SEEN_TTL_S, COUNTER_TTL_S],
                client=pipe,
            )
