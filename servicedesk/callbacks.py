"""Callbacks that keep the caller's place in the queue.

A callback request (stored by the IVR) gets a `CallbackPlace`: its queue and the
time the caller joined it (`place_at`), found from the listener's call record; a
request whose call left no record takes its line's general queue and the time it
was requested. The place is offered when it is at the head of its queue — no
caller still waiting in the queue joined before it — and an agent of the queue is
free (`pick_offers`, pure). `offer` claims one try under a unique `dial_token`
(place id and try number) with a conditional UPDATE, so a request is never dialled
twice for the same try, whatever runs concurrently. `settle` applies the result:
answered → done; no answer / busy / failed → retry after the plan's interval, then
failed after the last try; the agent's phone not answering puts it back in place.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from servicedesk.calling_config import CallbackPlan
from servicedesk.calling_models import CallbackPlace, OutboundCall
from servicedesk.config import CentralitaConfig
from servicedesk.dialrules import DialRefused, check
from servicedesk.models import Call, CallbackRequest

READY = ("waiting", "retry")
RETRY_RESULTS = frozenset({"no_answer", "busy", "failed"})


@dataclass(frozen=True)
class Pending:
    place_id: int
    queue: str
    place_at: float  # epoch seconds


def general_queue(cfg: CentralitaConfig, language: str) -> str:
    """The general queue of a language (where a request without a call record waits)."""
    defs = cfg.queue_definitions()
    for name, d in sorted(defs.items()):
        if d.general and d.language == language:
            return name
    return sorted(defs)[0]


def place_new_requests(
    session: Session, cfg: CentralitaConfig, now: datetime, grace_s: float = 5.0
) -> int:
    """Give every unplaced, open request its place; returns how many were placed.

    The call record may land a moment after the request (the listener writes in
    batches), so a request without one waits `grace_s` before taking its fallback.
    """
    rows = session.execute(
        select(CallbackRequest)
        .outerjoin(CallbackPlace, CallbackPlace.callback_id == CallbackRequest.id)
        .where(CallbackPlace.id.is_(None), CallbackRequest.done_at.is_(None))
        .limit(500)
    ).scalars()
    placed = 0
    for req in rows:
        call = session.scalars(
            select(Call)
            .where(or_(Call.uniqueid == req.call_uniqueid, Call.linkedid == req.call_uniqueid))
            .limit(1)
        ).first()
        if call is not None and call.queue and call.entered_queue_at is not None:
            queue, place_at = call.queue, call.entered_queue_at
        elif (now - req.requested_at).total_seconds() >= grace_s:
            queue, place_at = general_queue(cfg, req.language), req.requested_at
        else:
            continue
        session.add(CallbackPlace(callback_id=req.id, queue=queue, place_at=place_at))
        placed += 1
    session.flush()
    return placed


def ready(session: Session, now: datetime) -> list[Pending]:
    """Places that may be offered now, oldest place first."""
    rows = session.execute(
        select(CallbackPlace.id, CallbackPlace.queue, CallbackPlace.place_at)
        .where(
            CallbackPlace.status.in_(READY),
            or_(CallbackPlace.next_try_at.is_(None), CallbackPlace.next_try_at <= now),
        )
        .order_by(CallbackPlace.place_at, CallbackPlace.id)
    ).all()
    return [Pending(pid, q, at.timestamp()) for pid, q, at in rows]


def pick_offers(
    pending: Iterable[Pending],
    waiting_since: Mapping[str, Sequence[float]],
    free_agents: Mapping[str, Sequence[str]],
) -> list[tuple[Pending, str]]:
    """(place, agent) pairs: a place goes first when no live caller joined its queue before
    it; each free agent takes at most one place (an agent in several queues, once)."""
    taken: set[str] = set()
    out: list[tuple[Pending, str]] = []
    for p in sorted(pending, key=lambda p: (p.place_at, p.place_id)):
        earlier = [t for t in waiting_since.get(p.queue, ()) if t < p.place_at]
        if earlier:
            continue
        agent = next((a for a in free_agents.get(p.queue, ()) if a not in taken), None)
        if agent is None:
            continue
        taken.add(agent)
        out.append((p, agent))
    return out


def offer(
    session: Session, cfg: CentralitaConfig, place_id: int, agent_login: str, now: datetime
) -> OutboundCall | None:
    """Claim the place's next try for `agent_login` and create its outbound call; None if
    someone else claimed it first (or the number is refused: the place fails)."""
    place = session.get(CallbackPlace, place_id)
    if place is None or place.status not in READY:
        return None
    token = f"{place.id}:{place.tries + 1}"
    done = session.execute(
        update(CallbackPlace)
        .where(
            CallbackPlace.id == place_id,
            CallbackPlace.status.in_(READY),
            CallbackPlace.tries == place.tries,
        )
        .values(
            status="offered",
            offered_to=agent_login,
            offered_at=now,
            dial_token=token,
            tries=place.tries + 1,
        )
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return None
    session.refresh(place)
    req = session.get(CallbackRequest, place.callback_id)
    assert req is not None
    try:
        target = check(req.number, cfg.calling, cfg.service.default_region)
    except DialRefused as exc:
        place.status = "failed"
        req.done_at = now
        session.add(
            OutboundCall(
                request_id=uuid.uuid4().hex,
                purpose="callback",
                agent_login=agent_login,
                requested_by="callbacks",
                number=req.number[:20],
                number_kind=exc.kind or "other",
                callback_id=req.id,
                contact_id=req.contact_id,
                status="failed",
                reason=str(exc)[:120],
                requested_at=now,
                ended_at=now,
            )
        )
        session.flush()
        return None
    row = OutboundCall(
        request_id=uuid.uuid4().hex,
        purpose="callback",
        agent_login=agent_login,
        requested_by="callbacks",
        number=target.e164,
        number_kind=target.kind,
        callback_id=req.id,
        contact_id=req.contact_id,
        status="requested",
        requested_at=now,
    )
    session.add(row)
    session.flush()
    return row


def settle(
    session: Session, callback_id: int, result: str, plan: CallbackPlan, now: datetime
) -> str | None:
    """Apply a finished try's result to the place; returns the place's new status."""
    place = session.scalars(
        select(CallbackPlace).where(CallbackPlace.callback_id == callback_id).with_for_update()
    ).one_or_none()
    if place is None or place.status not in ("offered", "dialling"):
        return None
    req = session.get(CallbackRequest, callback_id)
    assert req is not None
    if result in ("answered", "ended"):
        place.status = "done"
        req.done_at = now
    elif result == "agent_unreachable":
        place.status = "waiting"  # the customer was not dialled: the try does not count
        place.tries -= 1
        place.offered_to = None
        place.dial_token = None
    elif result in RETRY_RESULTS and place.tries < plan.tries:
        place.status = "retry"
        place.next_try_at = now + timedelta(minutes=plan.retry_minutes)
        place.offered_to = None
    else:
        place.status = "failed"
        req.done_at = now
    place.updated_at = datetime.now(UTC)
    session.flush()
    return place.status
