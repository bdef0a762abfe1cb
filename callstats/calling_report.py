"""The monthly report's calling table: closures verified by phone, outbound calls by outcome.

Definitions: a closure is an IncidentEvent `verified` (accepted) in the month; it was
verified by phone when the event carries `via: phone` (recorded by
`servicedesk.outbound.record_verdict`). Reopenings are `reopened` events, likewise.
Outbound calls are counted by purpose and final status, by the time they were requested.
Callbacks are counted apart from abandons: requested in the month, then done (the
customer answered), failed (the retry plan ran out or the number was refused) or
pending, and the tries made.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicedesk.calling_models import CallbackPlace, OutboundCall
from servicedesk.models import CallbackRequest, IncidentEvent


def calling_rows(session: Session, start: datetime, end: datetime) -> list[list[Any]]:
    events = session.execute(
        select(IncidentEvent.kind, IncidentEvent.data).where(
            IncidentEvent.at >= start,
            IncidentEvent.at < end,
            IncidentEvent.kind.in_(("verified", "reopened")),
        )
    ).all()
    closures = Counter()
    for kind, data in events:
        by_phone = isinstance(data, dict) and data.get("via") == "phone"
        closures[(kind, by_phone)] += 1
    rows: list[list[Any]] = [
        ["closures_verified", closures[("verified", True)] + closures[("verified", False)]],
        ["closures_verified_by_phone", closures[("verified", True)]],
        ["reopened_by_caller", closures[("reopened", True)] + closures[("reopened", False)]],
        ["reopened_by_phone", closures[("reopened", True)]],
    ]
    calls = session.execute(
        select(OutboundCall.purpose, OutboundCall.status).where(
            OutboundCall.requested_at >= start, OutboundCall.requested_at < end
        )
    ).all()
    per = Counter(calls)
    for (purpose, status), n in sorted(per.items()):
        rows.append([f"outbound_{purpose}_{status}", n])
    # callbacks, counted apart from abandons: requested in the month, by where they stand
    places = session.execute(
        select(CallbackPlace.status, CallbackPlace.tries)
        .join(CallbackRequest, CallbackRequest.id == CallbackPlace.callback_id)
        .where(CallbackRequest.requested_at >= start, CallbackRequest.requested_at < end)
    ).all()
    requested = session.scalar(
        select(func.count())
        .select_from(CallbackRequest)
        .where(CallbackRequest.requested_at >= start, CallbackRequest.requested_at < end)
    )
    status = Counter(st for st, _tries in places)
    rows += [
        ["callbacks_requested", int(requested or 0)],
        ["callbacks_done", status["done"]],
        ["callbacks_failed", status["failed"]],
        ["callbacks_pending", int(requested or 0) - status["done"] - status["failed"]],
        ["callback_tries", sum(tries for _st, tries in places)],
    ]
    return rows
