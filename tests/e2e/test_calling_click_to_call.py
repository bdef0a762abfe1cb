"""End to end: verification of closure by phone through pbxsim.

The agent clicks the reporter's number on a resolved incident: the request goes
through Redis to the dialer (its own AMI login), which originates to the agent's
phone; once answered, the outbound context dials the customer through the trunk
with the desk's caller ID. The agent records the verdict: accepted closes the
incident, rejected reopens it; both are audited as `via: phone`.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.dialer import requests_key
from pbxsim.behaviour import AgentAction
from servicedesk import incidents, outbound
from servicedesk.calling_models import OutboundCall
from servicedesk.config import CentralitaConfig
from servicedesk.db import session_scope
from servicedesk.models import Call, Contact, ContactPhone, Incident, IncidentEvent
from tests.e2e.calling_harness import DIALER_SECRET, advance_until, running, until

NUMBER = "55 1234 5678"
E164 = "+525512345678"


def _resolved_incident(factory: sessionmaker[Session], cfg: CentralitaConfig) -> int:
    with session_scope(factory) as s:
        contact = Contact(name="Rosa Díaz", language="es")
        contact.phones.append(ContactPhone(e164=E164, raw=NUMBER))
        s.add(contact)
        s.flush()
        inc = incidents.create_incident(
            s, cfg, title="VPN caída", actor="1001", reporter_id=contact.id
        )
        incidents.start_work(s, inc, actor="1001")
        incidents.resolve(s, inc, actor="1001", resolution="certificado renovado")
        return inc.id


def _status(factory: sessionmaker[Session], rid: str) -> str:
    with session_scope(factory) as s:
        return s.scalars(select(OutboundCall.status).where(OutboundCall.request_id == rid)).one()


@pytest.mark.parametrize("accepted", [True, False])
async def test_verification_call_closes_or_reopens(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    accepted: bool,
) -> None:
    monkeypatch.setenv(example_config.calling.dialer_secret_env, DIALER_SECRET)
    inc_id = _resolved_incident(session_factory, example_config)
    async with running(example_config, session_factory, redis_url) as (sim, service, bus):
        sim.agent("PJSIP/1001", [AgentAction.answer(2.0, 40.0)], num="1001", name="Ana López")
        sim.engine.remotes[E164[1:]] = AgentAction.answer(5.0, None)
        with session_scope(session_factory) as s:
            inc = s.get(Incident, inc_id)
            row = outbound.request_call(
                s,
                example_config,
                purpose="verification",
                agent_login="1001",
                requested_by="ana",
                raw_number=NUMBER,
                incident=inc,
            )
            rid = row.request_id
        bus.publish(requests_key(bus), {"request_id": rid})
        bus.publish(requests_key(bus), {"request_id": rid})  # a double click: dialled once
        await advance_until(sim, lambda: _status(session_factory, rid) == "answered", 30)
        assert service.dialer is not None and service.dialer.sent == 1
        with session_scope(session_factory) as s:
            row = s.scalars(select(OutboundCall).where(OutboundCall.request_id == rid)).one()
            inc = s.get(Incident, inc_id)
            outbound.record_verdict(s, row, accepted=accepted, actor="1001", note="confirmado")
        await advance_until(sim, lambda: _status(session_factory, rid) == "ended", 60)
        await until(lambda: not service.ingest.calls.calls, 30)
        await service.flush()
    newchannels = [e for e in sim.engine.channels.values()]
    assert newchannels == []  # every channel gone
    with session_scope(session_factory) as s:
        row = s.scalars(select(OutboundCall).where(OutboundCall.request_id == rid)).one()
        assert (row.number, row.number_kind, row.purpose) == (E164, "national", "verification")
        assert row.agent_answered_at is not None and row.answered_at is not None
        assert row.ended_at is not None and row.uniqueid
        assert row.verdict == ("accepted" if accepted else "rejected")
        inc = s.get(Incident, inc_id)
        assert inc.status == ("closed" if accepted else "in_progress")
        events = s.scalars(
            select(IncidentEvent)
            .where(IncidentEvent.incident_id == inc_id)
            .order_by(IncidentEvent.id)
        ).all()
        kind = "verified" if accepted else "reopened"
        (event,) = [e for e in events if e.kind == kind]
        assert event.data["via"] == "phone" and event.data["outbound_call"] == rid
        # the conversation's call record (linkedid = the agent leg) is tied to the incident
        call = s.scalars(select(Call).where(Call.linkedid == row.uniqueid)).one()
        # an outbound call: its own outcome, never an offered inbound queue call
        assert (call.outcome, call.queue, call.entered_queue_at) == (
            "outbound_answered",
            None,
            None,
        )
        if accepted:
            assert event.data["call_id"] == call.id
        else:
            assert [e.data["call_id"] for e in events if e.kind == "call_linked"] == [call.id]
