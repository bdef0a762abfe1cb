"""End to end: a supervisor whispers to an agent in a call, from the wallboard and from a
supervisor phone; ChanSpy runs in the supervision context and every use is audited."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.dialer import requests_key
from pbxsim.behaviour import AgentAction
from servicedesk import outbound
from servicedesk.calling_models import SupervisionEvent
from servicedesk.config import CentralitaConfig
from servicedesk.db import session_scope
from tests.e2e.calling_harness import DIALER_SECRET, advance_until, running

CUSTOMER = "525512345678"


def _events(factory: sessionmaker[Session]) -> list[tuple[str, str, str, str, str | None]]:
    with session_scope(factory) as s:
        return [
            (e.kind, e.mode, e.source, e.actor, e.agent_login)
            for e in s.scalars(select(SupervisionEvent).order_by(SupervisionEvent.id))
        ]


async def test_whisper_from_the_wallboard_and_barge_from_a_phone(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(example_config.calling.dialer_secret_env, DIALER_SECRET)
    calling = example_config.calling.model_copy(
        update={"supervisor_endpoints": ["sup1"], "supervisor_phones": {"sofia": "sup1"}}
    )
    cfg = example_config.model_copy(update={"calling": calling})
    async with running(cfg, session_factory, redis_url) as (sim, service, bus):
        sim.agent("PJSIP/1001", [AgentAction.answer(1.0, 60.0)])
        sim.agent("PJSIP/sup1", [AgentAction.answer(1.0), AgentAction.answer(1.0)])
        sim.engine.remotes[CUSTOMER] = AgentAction.answer(1.0, None)
        with session_scope(session_factory) as s:
            rid = outbound.request_call(
                s,
                cfg,
                purpose="click_to_call",
                agent_login="1001",
                requested_by="ana",
                raw_number="+" + CUSTOMER,
            ).request_id
        bus.publish(requests_key(bus), {"request_id": rid})
        assert service.dialer is not None
        await advance_until(sim, lambda: service.dialer.sent == 1, 20)
        await sim.run_for(5)
        spy = {
            "kind": "spy",
            "request_id": uuid.uuid4().hex,
            "endpoint": "sup1",
            "agent": "1001",
            "mode": "whisper",
            "actor": "sofia",
        }
        bus.publish(requests_key(bus), spy)
        await advance_until(sim, lambda: len(_events(session_factory)) == 1, 20)
        # a code dialled on the supervisor's phone, not through the panel
        await sim.action(
            "Originate",
            Channel="PJSIP/sup1",
            Context="centralita-supervise",
            Exten="2231001",
            Priority="1",
        )
        await advance_until(sim, lambda: len(_events(session_factory)) == 4, 90)
    events = _events(session_factory)
    assert sorted(events) == sorted(
        [
            ("started", "whisper", "panel", "sofia", "1001"),
            ("started", "barge", "phone", "sup1", "1001"),
            ("stopped", "whisper", "panel", "sofia", "1001"),
            ("stopped", "barge", "phone", "sup1", "1001"),
        ]
    )
    spied = [e for e in sim.engine.channels.values()]
    assert spied == []  # both spies ended with the agent's call (ChanSpy option E)
