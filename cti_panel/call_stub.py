"""A call the agent sees on screen but the listener has not written yet.

The listener persists calls in batches, so at ring time the Call row may not
exist when the agent creates an incident from the pop. The panel then writes a
minimal row from the pop it delivered to this agent (never from request data),
keyed like the listener's by (pbx_id, linkedid): the listener's upsert later
fills in every column, and the incident link and wrap-up stay attached.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cti_panel.params import BadNumber, parse_id
from servicedesk.bus import AGENT_POPS_KEPT, Bus
from servicedesk.models import Call, Contact

RECENT_POPS = AGENT_POPS_KEPT


def _pop_of(bus: Bus, login: str, linkedid: str) -> dict[str, str] | None:
    for _eid, fields in bus.r.xrevrange(bus.keys.agent_pops(login), count=RECENT_POPS):
        if fields.get("call_id") == linkedid:
            return fields
    return None


def call_from_pop(
    session: Session, bus: Bus, pbx_id: str, login: str, linkedid: str
) -> Call | None:
    pop = _pop_of(bus, login, linkedid)
    if pop is None:
        return None
    try:
        contact_id = parse_id(pop.get("contact_id"), "contact_id")
    except BadNumber:
        contact_id = None
    if contact_id is not None and session.get(Contact, contact_id) is None:
        contact_id = None
    try:
        started = datetime.fromisoformat(pop.get("at") or "")
        started = started if started.tzinfo else started.replace(tzinfo=UTC)
    except ValueError:
        started = datetime.now(UTC)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(Call)
        .values(
            pbx_id=pbx_id,
            linkedid=linkedid[:64],
            uniqueid=(pop.get("uniqueid") or linkedid)[:64],
            caller_num=(pop.get("caller_num") or None),
            caller_name=(pop.get("caller_name") or "")[:200] or None,
            contact_id=contact_id,
            queue=(pop.get("queue") or "")[:80] or None,
            agent_login=login,
            started_at=started,
            ivr_choices={},
            vip=pop.get("vip") == "1",
            source="ami",
            updated_at=datetime.now(UTC),
        )
        .on_conflict_do_nothing(index_elements=["pbx_id", "linkedid"])
    )
    return session.scalar(select(Call).where(Call.pbx_id == pbx_id, Call.linkedid == linkedid[:64]))
