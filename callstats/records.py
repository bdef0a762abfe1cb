"""The listener's `Call` / `RingAttempt` rows → `QueueCall`s.

Only calls that reached a queue matter here: a row counts when it has an
entered-queue time (offered) or was refused by joinempty (`join_empty`, timed
at its start). Rows are loaded as plain columns, not ORM objects: a month of
calls is read once per report, and column tuples are several times cheaper.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from callstats.definitions import QueueCall
from servicedesk.models import Call, RingAttempt

AgentKey = Literal["login", "member"]

# Call.outcome → QueueCall.outcome for a call that entered a queue
_OUTCOMES = {
    "answered": "answered",
    "transferred": "transferred",
    "abandoned": "abandoned",
    "timeout": "timeout",
    "exit_empty": "exit_empty",
    "exit_key": "exit_key",
    "withdraw": "withdraw",
    # a queued caller who asked for a callback left the queue by key
    "callback_requested": "exit_key",
    "join_empty": "join_empty",
}


def _epoch(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()


def queue_call_from_row(
    row: Any, rna: dict[str, int] | None = None, agent_key: AgentKey = "login"
) -> QueueCall | None:
    """One Call (row or ORM object) → QueueCall; None when it never reached a queue."""
    entered = row.entered_queue_at
    outcome = row.outcome
    if entered is None:
        if outcome != "join_empty":
            return None
        entered = row.started_at
        mapped = "join_empty"
    else:
        mapped = _OUTCOMES.get(outcome or "", "open")
        if mapped == "join_empty":
            mapped = "open"
    if agent_key == "login":
        agent = row.agent_login or row.agent_member
    else:
        agent = row.agent_member or row.agent_login
    return QueueCall(
        callid=row.uniqueid,
        queue=row.queue or "",
        entered_at=entered.timestamp(),
        outcome=mapped,
        hold=row.hold_seconds,
        talk=row.talk_seconds,
        agent=agent,
        answered_at=_epoch(row.answered_at),
        ended_at=_epoch(row.ended_at),
        hung_up_by=row.hung_up_by,
        position=row.queue_position,
        ring_noanswer=sum(rna.values()) if rna else 0,
        ring_noanswer_by_agent=dict(rna) if rna else None,
        continued=getattr(row, "origin_pbx_id", None) is not None,
    )


def _window(start: datetime | None, end: datetime | None) -> Any:
    """Entered in [start, end), or refused (join_empty) with a start in it."""
    entered = [Call.entered_queue_at.is_not(None)]
    refused = [Call.entered_queue_at.is_(None), Call.outcome == "join_empty"]
    if start is not None:
        entered.append(Call.entered_queue_at >= start)
        refused.append(Call.started_at >= start)
    if end is not None:
        entered.append(Call.entered_queue_at < end)
        refused.append(Call.started_at < end)
    return or_(and_(*entered), and_(*refused))


def load_calls(
    session: Session,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    queues: Iterable[str] | None = None,
    pbx_id: str | None = None,
    agent_key: AgentKey = "login",
) -> list[QueueCall]:
    """QueueCalls for calls that entered a queue in [start, end) (aware datetimes)."""
    for bound in (start, end):
        if bound is not None and bound.tzinfo is None:
            raise ValueError("start/end must be aware datetimes")
    where = [_window(start, end)]
    if queues is not None:
        where.append(Call.queue.in_(list(queues)))
    if pbx_id is not None:
        where.append(Call.pbx_id == pbx_id)
    cols = select(
        Call.id,
        Call.uniqueid,
        Call.queue,
        Call.entered_queue_at,
        Call.started_at,
        Call.outcome,
        Call.hold_seconds,
        Call.talk_seconds,
        Call.agent_login,
        Call.agent_member,
        Call.answered_at,
        Call.ended_at,
        Call.hung_up_by,
        Call.queue_position,
        Call.origin_pbx_id,
    ).where(*where)
    rows = session.execute(cols.order_by(Call.entered_queue_at, Call.id)).all()
    member = RingAttempt.agent_login if agent_key == "login" else RingAttempt.member
    rings = session.execute(
        select(RingAttempt.call_id, member, RingAttempt.agent_login, func.count())
        .join(Call, Call.id == RingAttempt.call_id)
        .where(*where, RingAttempt.result.in_(("noanswer", "busy")))
        .group_by(RingAttempt.call_id, member, RingAttempt.agent_login)
    ).all()
    rna: dict[int, dict[str, int]] = {}
    for call_id, key, login, n in rings:
        per = rna.setdefault(call_id, {})
        k = key or login or ""
        per[k] = per.get(k, 0) + n
    out: list[QueueCall] = []
    for row in rows:
        qc = queue_call_from_row(row, rna.get(row.id), agent_key)
        if qc is not None:
            out.append(qc)
    return out
