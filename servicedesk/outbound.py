"""Outbound calls in the core: request, claim (never twice), progress, verdict of closure.

The panel calls `request_call`; the dialer `claim`s a request (a conditional
UPDATE from `requested`, so two dialers or a replayed stream entry cannot send a
second Originate) and moves it along as Asterisk reports (`progress`). A
verification call ends with `record_verdict`, which closes or reopens the incident
through `servicedesk.incidents.verify` (so the audit trail records it, marked
`via: phone`) and links the call record of the conversation to the incident.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from servicedesk import incidents
from servicedesk.calling_models import OutboundCall
from servicedesk.config import CentralitaConfig
from servicedesk.dialrules import check
from servicedesk.models import Call, Incident

FINAL_STATUSES = frozenset({"agent_unreachable", "no_answer", "busy", "failed", "ended"})
TALKED_STATUSES = frozenset({"answered", "ended"})

# DialEnd DialStatus (app_dial) -> our status for the customer leg
DIAL_STATUS = {
    "ANSWER": "answered",
    "NOANSWER": "no_answer",
    "BUSY": "busy",
    "CANCEL": "failed",
    "CHANUNAVAIL": "failed",
    "CONGESTION": "failed",
}


def requests_stream(prefix: str) -> str:
    """The Redis stream the panel writes dial requests to and the dialer reads."""
    return f"{prefix}:calling:requests"


class OutboundError(ValueError):
    """A request the rules refuse (the message says why)."""


def request_call(
    session: Session,
    cfg: CentralitaConfig,
    *,
    purpose: str,
    agent_login: str,
    requested_by: str,
    raw_number: str,
    incident: Incident | None = None,
    contact_id: int | None = None,
    callback_id: int | None = None,
    now: datetime | None = None,
) -> OutboundCall:
    """A checked outbound call in `requested`; raises DialRefused for a refused number."""
    if purpose == "verification" and (incident is None or incident.status != "resolved"):
        raise OutboundError("only a resolved incident's closure can be verified")
    target = check(raw_number, cfg.calling, cfg.service.default_region)
    row = OutboundCall(
        request_id=uuid.uuid4().hex,
        purpose=purpose,
        agent_login=agent_login,
        requested_by=requested_by,
        number=target.e164,
        number_kind=target.kind,
        incident_id=incident.id if incident is not None else None,
        contact_id=contact_id if contact_id is not None else (incident and incident.reporter_id),
        callback_id=callback_id,
        status="requested",
        requested_at=now or datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row


def claim(session: Session, request_id: str) -> OutboundCall | None:
    """Move `requested` → `agent_ringing` once; None if someone already did (or no such row)."""
    done = session.execute(
        update(OutboundCall)
        .where(OutboundCall.request_id == request_id, OutboundCall.status == "requested")
        .values(status="agent_ringing")
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.scalars(select(OutboundCall).where(OutboundCall.request_id == request_id)).one()


def progress(
    session: Session,
    request_id: str,
    status: str,
    at: datetime,
    *,
    uniqueid: str | None = None,
    reason: str = "",
) -> OutboundCall | None:
    """Record what Asterisk reported; a final status is never overwritten."""
    row = session.scalars(
        select(OutboundCall).where(OutboundCall.request_id == request_id).with_for_update()
    ).one_or_none()
    if row is None or row.status in FINAL_STATUSES:
        return row
    if status == "ended" and row.status not in TALKED_STATUSES:
        status = "failed" if row.status == "dialling" else "agent_unreachable"
        reason = reason or "hung up before the customer answered"
    row.status = status
    if reason:
        row.reason = reason[:120]
    if uniqueid:
        row.uniqueid = uniqueid
    if status == "dialling":
        row.agent_answered_at = at
    elif status == "answered":
        row.answered_at = at
    if status in FINAL_STATUSES:
        row.ended_at = at
    session.flush()
    return row


def record_verdict(
    session: Session,
    row: OutboundCall,
    *,
    accepted: bool,
    actor: str,
    note: str = "",
    now: datetime | None = None,
) -> Incident:
    """The reporter's verdict given on the phone: close or reopen, linked to the call."""
    if row.purpose != "verification" or row.incident_id is None:
        raise OutboundError("this call is not a verification of closure")
    if row.status not in TALKED_STATUSES:
        raise OutboundError("the customer did not answer this call")
    if row.verdict is not None:
        raise OutboundError("this call already has a verdict")
    incident = session.get(Incident, row.incident_id)
    assert incident is not None
    at = now or datetime.now(UTC)
    incidents.verify(
        session,
        incident,
        accepted=accepted,
        actor=actor,
        note=note,
        now=at,
        via="phone",
        extra={"outbound_call": row.request_id},
    )
    row.verdict = "accepted" if accepted else "rejected"
    row.verdict_at = at
    if row.uniqueid:
        call = session.scalars(select(Call).where(Call.linkedid == row.uniqueid)).first()
        if call is not None and incident.status != "closed":
            incidents.link_call(session, incident, call.id, actor=actor, now=at)
        elif call is not None:
            # closed incidents refuse new links; the verdict event carries the call instead
            incident.events[-1].data = {**incident.events[-1].data, "call_id": call.id}
    session.flush()
    return incident
