"""End to end: calls the desk places (click-to-call, callback dials) are recorded as
outbound (`outbound_answered` / `outbound_no_answer`), not `ivr_only`, and count as no
offered inbound call on the wallboard nor in the reports."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.dialer import requests_key
from callstats.records import queue_call_from_row
from pbxsim.behaviour import NOANSWER, AgentAction
from servicedesk import outbound
from servicedesk.calling_models import OutboundCall
from servicedesk.config import CentralitaConfig
from servicedesk.db import session_scope
from servicedesk.models import Call
from tests.e2e.calling_harness import DIALER_SECRET, advance_until, running, until

NUMBER = "55 1234 5678"


@pytest.mark.parametrize("customer_answers", [True, False])
async def test_click_to_call_is_an_outbound_call(
    customer_answers: bool,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(example_config.calling.dialer_secret_env, DIALER_SECRET)
    async with running(example_config, session_factory, redis_url) as (sim, service, bus):
        sim.agent("PJSIP/1001", [AgentAction.answer(1.0, 8.0)], num="1001", name="Ana López")
        sim.engine.remotes["525512345678"] = (
            AgentAction.answer(2.0, None) if customer_answers else NOANSWER
        )
        with session_scope(session_factory) as s:
            row = outbound.request_call(
                s,
                example_config,
                purpose="click_to_call",
                agent_login="1001",
                requested_by="ana",
                raw_number=NUMBER,
            )
            rid = row.request_id
        bus.publish(requests_key(bus), {"request_id": rid})

        def status() -> str:
            with session_scope(session_factory) as s:
                return s.scalars(
                    select(OutboundCall.status).where(OutboundCall.request_id == rid)
                ).one()

        await advance_until(sim, lambda: status() in outbound.FINAL_STATUSES, 90)
        await advance_until(sim, lambda: not sim.engine.channels, 60)
        await until(lambda: not service.ingest.calls.calls, 30)
        await service.flush()
    with session_scope(session_factory) as s:
        out = s.scalars(select(OutboundCall).where(OutboundCall.request_id == rid)).one()
        call = s.scalars(select(Call).where(Call.linkedid == out.uniqueid)).one()
        expected = "outbound_answered" if customer_answers else "outbound_no_answer"
        assert call.outcome == expected
        assert call.queue is None and call.entered_queue_at is None
        assert queue_call_from_row(call) is None  # the reports' queue calls leave it out
        assert len(s.scalars(select(Call)).all()) == 1
    counters = [k for k in bus.r.scan_iter(f"{bus.keys.prefix}:counters:*")]
    offered = sum(
        int(bus.r.hget(k, "offered") or 0)
        for k in counters
        if not k.endswith((":seen", ":callbacks"))
    )
    assert offered == 0
