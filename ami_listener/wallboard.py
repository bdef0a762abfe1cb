"""Today's wallboard counters recomputed from the call records.

The listener keeps `keys.counters(day, queue)` incrementally as events arrive;
this is the same arithmetic over the database, used to rebuild the hash (after
a Redis loss, or to correct a day) and by the tests to prove both agree.
Definitions (a call counts on the local day it entered the queue, or on the
day it started when it was refused with joinempty):
offered = joined the queue; answered = answered or transferred;
answered_within_sl = answered with hold <= servicelevel; abandoned = true
caller abandons only; short_abandoned = abandons with hold < short_abandon;
timeout / exit_empty / join_empty / exit_key by cause; hold_total_s,
longest_hold_s over answered calls; talk_total_s and talk_count over answered calls whose talk has ended.
A caller transferred from another PBX (a row with an origin) is not counted again: it
was offered, and ended as transferred, on the PBX it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicedesk.bus import COUNTER_FIELDS, Bus
from servicedesk.models import Call


def recompute(
    session: Session,
    pbx_id: str,
    day: str,
    queue: str,
    timezone: str,
    settings: Callable[[str], tuple[int, int]],
) -> dict[str, int]:
    tz = ZoneInfo(timezone)
    sl, short = settings(queue)
    out = dict.fromkeys(COUNTER_FIELDS, 0)
    rows = session.scalars(
        select(Call).where(Call.pbx_id == pbx_id, Call.queue == queue, Call.origin_pbx_id.is_(None))
    ).all()
    for call in rows:
        when = call.entered_queue_at or call.started_at
        if datetime.fromtimestamp(when.timestamp(), tz).date().isoformat() != day:
            continue
        hold = call.hold_seconds or 0
        if call.entered_queue_at is not None:
            out["offered"] += 1
        if call.outcome in ("answered", "transferred"):
            out["answered"] += 1
            out["answered_within_sl"] += hold <= sl
            out["hold_total_s"] += hold
            out["longest_hold_s"] = max(out["longest_hold_s"], hold)
            if call.talk_seconds is not None:
                out["talk_total_s"] += call.talk_seconds
                out["talk_count"] += 1
        elif call.outcome == "abandoned":
            out["abandoned"] += 1
            out["short_abandoned"] += hold < short
        elif call.outcome in ("timeout", "exit_empty", "join_empty", "exit_key"):
            out[call.outcome] += 1
    return out


def counter_day_of(when: datetime, timezone: str) -> str:
    """The local day a call counts on (see the module docstring)."""
    return datetime.fromtimestamp(when.timestamp(), ZoneInfo(timezone)).date().isoformat()


def rebuild(bus: Bus, day: str, queue: str, figures: dict[str, int]) -> None:
    """Replace the live hash with recomputed figures (the `seen` marks are kept)."""
    key = bus.keys.counters(day, queue)
    pipe = bus.r.pipeline()
    pipe.delete(key)
    pipe.hset(key, mapping={k: str(v) for k, v in figures.items()})
    pipe.xadd(bus.keys.wallboard, {"kind": "counters", "day": day, "queue": queue})
    pipe.execute()


def read(bus: Bus, day: str, queue: str) -> dict[str, int]:
    raw = bus.r.hgetall(bus.keys.counters(day, queue))
    return {k: int(raw.get(k, 0)) for k in COUNTER_FIELDS}
