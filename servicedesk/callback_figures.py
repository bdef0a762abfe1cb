"""Callbacks on the wallboard: per queue and local day, counted apart from abandons.

Definitions are the monthly report's (`callstats.calling_report`), over the same rows
(`callback_request`, `callback_place`): a callback counts on the local day it was
requested, in the queue its place holds; `done` and `failed` by its place's status;
`pending` = requested − done − failed. A request not yet placed (the first second or
so) has no queue and shows once it is placed.

Live figures are a Redis hash per (day, queue) next to the call counters
(`<counters key>:callbacks`), replaced whole from the database whenever a place is
created or settled (`refresh`, by the dialer's scheduler), and rebuilt with the call
counters when Redis comes back empty (`ami_listener.recovery`). Replacing instead of
incrementing means a repeated refresh can never count twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicedesk.bus import Bus
from servicedesk.calling_models import CallbackPlace
from servicedesk.models import CallbackRequest
from servicedesk.values import ascii_int

FIELDS = ("pending", "done", "failed", "requested")
TTL_S = 3 * 86400


def key(bus: Bus, day: str, queue: str) -> str:
    return bus.keys.counters(day, queue) + ":callbacks"


def day_of(when: datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).date().isoformat()


def recompute(session: Session, day: str, tz: ZoneInfo) -> dict[str, dict[str, int]]:
    """queue -> figures for the local `day` (only queues with a callback that day)."""
    start = datetime.fromisoformat(day).replace(tzinfo=tz)
    end = start + timedelta(days=1)
    rows = session.execute(
        select(CallbackPlace.queue, CallbackPlace.status, func.count())
        .join(CallbackRequest, CallbackRequest.id == CallbackPlace.callback_id)
        .where(CallbackRequest.requested_at >= start, CallbackRequest.requested_at < end)
        .group_by(CallbackPlace.queue, CallbackPlace.status)
    ).all()
    out: dict[str, dict[str, int]] = {}
    for queue, status, n in rows:
        figures = out.setdefault(queue, dict.fromkeys(FIELDS, 0))
        figures["requested"] += n
        if status in ("done", "failed"):
            figures[status] += n
    for figures in out.values():
        figures["pending"] = figures["requested"] - figures["done"] - figures["failed"]
    return out


def publish(bus: Bus, day: str, figures: dict[str, dict[str, int]], queues: Iterable[str]) -> None:
    """Replace the day's hashes of `queues` with `figures` (none: emptied); tell boards."""
    pipe = bus.r.pipeline(transaction=True)
    for queue in sorted(set(queues)):
        k = key(bus, day, queue)
        pipe.delete(k)
        values = figures.get(queue)
        if values and values["requested"]:
            pipe.hset(k, mapping={f: str(v) for f, v in values.items()})
            pipe.expire(k, TTL_S)
        pipe.xadd(
            bus.keys.wallboard,
            {"kind": "callbacks", "day": day, "queue": queue},
            maxlen=10_000,
            approximate=True,
        )
    pipe.execute()


def refresh(bus: Bus, session: Session, day: str, tz: ZoneInfo, queues: Iterable[str]) -> None:
    """Recompute the day's figures from the rows and replace the live hashes of `queues`."""
    publish(bus, day, recompute(session, day, tz), queues)


def refresh_request(bus: Bus, session: Session, callback_id: int, tz: ZoneInfo) -> None:
    """One request's place changed (placed, settled): its day and queue are republished."""
    req = session.get(CallbackRequest, callback_id)
    queue = session.scalar(
        select(CallbackPlace.queue).where(CallbackPlace.callback_id == callback_id)
    )
    if req is not None and queue is not None:
        refresh(bus, session, day_of(req.requested_at, tz), tz, [queue])


def read(bus: Bus, day: str, queue: str) -> dict[str, int]:
    raw = bus.r.hgetall(key(bus, day, queue))
    return {field: ascii_int(raw.get(field), 0) or 0 for field in FIELDS}
