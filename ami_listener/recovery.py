"""Redis came back empty: rebuild today's wallboard from the database, re-publish agents.

Detection: the listener keeps a run marker (`…:listener:<pbx>:run`) in Redis. A
Redis that restarted without its data (or was flushed) has no marker; the
listener then, from its flusher (the only writer, so no flush races it):
1. writes every staged record to the database (the durable record);
2. recomputes today's counters per queue from the call rows — with the same
   per-(call, counter) `seen` marks the incremental path uses, so a counter
   operation still buffered for a call already counted is a no-op, never a
   double count — and replaces the hashes;
3. re-stages every agent's state, every waiting caller and every queue's figures;
4. sets the marker again.
The wallboard then equals a recomputation from the records (`wallboard.recompute`).
Counter hashes are shared by every listener on one Redis, so the recomputation
covers all pbx_ids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ami_listener.live import COUNTER_TTL_S, SEEN_TTL_S
from servicedesk import callback_figures
from servicedesk.bus import COUNTER_BITS, COUNTER_FIELDS, Bus
from servicedesk.models import Call

log = logging.getLogger(__name__)

Settings = Callable[[str], tuple[int, int]]


def marker_key(bus: Bus, pbx_id: str) -> str:
    return f"{bus.keys.prefix}:listener:{pbx_id}:run"


def day_bounds(day: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(day).replace(tzinfo=tz)
    return start, start + timedelta(days=1)


def recompute_day(
    session: Session, day: str, tz: ZoneInfo, settings: Settings
) -> dict[str, tuple[dict[str, int], dict[str, str]]]:
    """queue -> (counters, seen marks) for the local `day`, over every pbx's calls.

    Same arithmetic as `wallboard.recompute`; the seen marks are the members the
    incremental Lua path records (`<pbx_id>:<linkedid>:<field>`)."""
    start, end = day_bounds(day, tz)
    rows = session.scalars(
        select(Call).where(
            Call.queue.is_not(None),
            Call.origin_pbx_id.is_(None),  # a continued leg counts on the PBX it came from
            Call.started_at < end,
            Call.started_at >= start - timedelta(days=1),
        )
    ).all()
    out: dict[str, tuple[dict[str, int], dict[str, str]]] = {}
    for call in rows:
        moment = call.entered_queue_at or call.started_at
        if not (start <= moment < end) or not call.queue:
            continue
        figures, seen = out.setdefault(call.queue, (dict.fromkeys(COUNTER_FIELDS, 0), {}))
        for field, amount in _contributions(call, *settings(call.queue)):
            if field == "longest_hold_s":
                figures[field] = max(figures[field], amount)
            else:
                figures[field] += amount
            mark = f"{call.pbx_id}:{call.linkedid}"
            seen[mark] = str(int(seen.get(mark, "0")) | COUNTER_BITS[field])
    return out


def _contributions(call: Call, sl: int, short: int) -> list[tuple[str, int]]:
    """What one call adds to its queue's counters (the listener's `_count` calls)."""
    hold = call.hold_seconds or 0
    out: list[tuple[str, int]] = []
    if call.entered_queue_at is not None:
        out.append(("offered", 1))
    if call.outcome in ("answered", "transferred"):
        out += [("answered", 1), ("hold_total_s", hold), ("longest_hold_s", hold)]
        if hold <= sl:
            out.append(("answered_within_sl", 1))
        if call.talk_seconds is not None:
            out += [("talk_total_s", call.talk_seconds), ("talk_count", 1)]
    elif call.outcome == "abandoned":
        out.append(("abandoned", 1))
        if hold < short:
            out.append(("short_abandoned", 1))
    elif call.outcome in ("timeout", "exit_empty", "join_empty", "exit_key"):
        out.append((call.outcome, 1))
    return out


def rebuild_counters(
    bus: Bus,
    session: Session,
    day: str,
    tz: ZoneInfo,
    settings: Settings,
    queues: list[str],
) -> int:
    """Replace today's counter hashes (and their seen marks) with the recomputation."""
    found = recompute_day(session, day, tz, settings)
    pipe = bus.r.pipeline(transaction=True)
    for queue in sorted(set(queues) | set(found)):
        figures, seen = found.get(queue, (dict.fromkeys(COUNTER_FIELDS, 0), {}))
        key = bus.keys.counters(day, queue)
        pipe.delete(key, key + ":seen")
        nonzero = {k: str(v) for k, v in figures.items() if v}  # as the incremental path leaves it
        if nonzero:
            pipe.hset(key, mapping=nonzero)
            pipe.expire(key, COUNTER_TTL_S)
        if seen:
            pipe.hset(key + ":seen", mapping=seen)
            pipe.expire(key + ":seen", SEEN_TTL_S)
        pipe.xadd(
            bus.keys.wallboard,
            {"kind": "counters", "day": day, "queue": queue},
            maxlen=10_000,
            approximate=True,
        )
    pipe.execute()
    # callbacks on the board are rebuilt with the call counters (servicedesk.callback_figures)
    callback_figures.refresh(bus, session, day, tz, queues)
    return len(found)


def today(tz: ZoneInfo, now: float) -> str:
    return datetime.fromtimestamp(now, tz).date().isoformat()
