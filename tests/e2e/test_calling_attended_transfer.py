"""End to end: an agent consults second level and completes an attended transfer from the
panel's requests (the dialer sends Atxfer, then the atxfercomplete code as received DTMF,
modelled in pbxsim on the calling_atxfer_* recordings); the screen-pop, with the caller's
incident, follows the call to the consulted agent, and the call is one record counted once.
A cancelled consultation leaves the caller with the first agent."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.dialer import requests_key
from pbxsim.behaviour import NOANSWER, AgentAction
from servicedesk.config import CentralitaConfig
from servicedesk.models import Call
from tests.e2e.calling_harness import (
    DIALER_SECRET,
    advance_until,
    call_tollfree,
    incident_caller,
    join_queues,
    running,
    until,
)


@pytest.mark.parametrize("mode", ["complete", "cancel", "consulted_hangs_up"])
async def test_attended_transfer_with_the_pop(
    mode: str,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(example_config.calling.dialer_secret_env, DIALER_SECRET)
    async with running(example_config, session_factory, redis_url) as (sim, service, bus):
        sim.agent("PJSIP/1001", [AgentAction.answer(1.0)], num="1001")
        consulted = {
            "complete": AgentAction.answer(1.0),
            "cancel": NOANSWER,
            "consulted_hangs_up": AgentAction.answer(1.0, 3.0),
        }
        sim.agent("PJSIP/1002", [consulted[mode]], num="1002")
        await join_queues(bus, (("network_es", "PJSIP/1001"), ("erp_es", "PJSIP/1002")))
        call_tollfree(sim, example_config, incident_caller())
        dialer = service.dialer
        assert dialer is not None
        await advance_until(sim, lambda: "1001" in dialer.agent_channels, 30)
        bus.publish(
            requests_key(bus),
            {
                "kind": "atxfer",
                "step": "start",
                "request_id": "x1",
                "agent": "1001",
                "queue": "erp_es",
            },
        )
        agents = service.ingest.agents.agents
        if mode == "complete":
            await advance_until(sim, lambda: agents["1002"].oncall, 30)
            step = "complete"
        elif mode == "consulted_hangs_up":  # no step: second level ends the consultation
            await advance_until(sim, lambda: agents["1002"].oncall, 30)
            await advance_until(sim, lambda: not sim.engine.consults, 30)
            step = ""
        else:
            await advance_until(
                sim,
                lambda: (
                    sim.engine.consults
                    and any(c.name.startswith("PJSIP/1002-") for c in sim.engine.channels.values())
                ),
                30,
            )
            step = "cancel"
        if step:
            bus.publish(
                requests_key(bus),
                {"kind": "atxfer", "step": step, "request_id": "x2", "agent": "1001"},
            )
        await advance_until(sim, lambda: not sim.engine.channels, 60)
        await until(lambda: not service.ingest.calls.calls)
    first = [(p["type"], p["call_id"]) for _i, p in bus.r.xrange(bus.keys.agent_pops("1001"))]
    second = [
        (p["type"], p["call_id"], p["incident"], p["queue"])
        for _i, p in bus.r.xrange(bus.keys.agent_pops("1002"))
    ]
    call_id = first[0][1]
    assert [t for t, _c in first] == ["ring", "answer", "end"]
    lines = sim.engine.queue_log_lines
    with session_factory() as s:
        (row,) = s.scalars(select(Call)).all()
    assert row.linkedid == call_id and row.queue == "network_es"
    if mode == "complete":
        assert second == [
            ("ring", call_id, "42", "erp_es"),
            ("answer", call_id, "42", "erp_es"),
            ("end", call_id, "42", "erp_es"),
        ]
        assert any("|network_es|" in x and "|ATTENDEDTRANSFER|BRIDGE|" in x for x in lines)
        assert row.outcome == "transferred" and row.agent_login == "1002"
    elif mode == "consulted_hangs_up":
        assert second == [
            ("ring", call_id, "42", "erp_es"),
            ("answer", call_id, "42", "erp_es"),
            ("end", call_id, "42", "erp_es"),
        ]
        assert any("|erp_es|" in x and "|COMPLETEAGENT|" in x for x in lines)
        assert not any("ATTENDEDTRANSFER" in x for x in lines)
        assert row.outcome == "answered" and row.agent_login == "1001"
    else:
        assert second == [("ring", call_id, "42", "erp_es"), ("end", call_id, "42", "erp_es")]
        assert any("|erp_es|NONE|ABANDON|" in x for x in lines)
        assert not any("ATTENDEDTRANSFER" in x for x in lines)
        assert row.outcome == "answered" and row.agent_login == "1001"


async def test_a_transferred_call_is_transferred_again(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1001 hands the caller to 1002 (erp_es), who consults and hands them to 1003
    (general_es): still one record, counted once in network_es, the pop at each step."""
    monkeypatch.setenv(example_config.calling.dialer_secret_env, DIALER_SECRET)
    async with running(example_config, session_factory, redis_url) as (sim, service, bus):
        for agent in ("1001", "1002", "1003"):
            sim.agent(f"PJSIP/{agent}", [AgentAction.answer(1.0)], num=agent)
        await join_queues(
            bus,
            (("network_es", "PJSIP/1001"), ("erp_es", "PJSIP/1002"), ("general_es", "PJSIP/1003")),
        )
        call_tollfree(sim, example_config, incident_caller())
        dialer = service.dialer
        assert dialer is not None
        agents = service.ingest.agents.agents
        await advance_until(sim, lambda: "1001" in dialer.agent_channels, 30)
        for n, (login, queue, target) in enumerate(
            (("1001", "erp_es", "1002"), ("1002", "general_es", "1003"))
        ):
            bus.publish(
                requests_key(bus),
                {
                    "kind": "atxfer",
                    "step": "start",
                    "request_id": f"s{n}",
                    "agent": login,
                    "queue": queue,
                },
            )
            await advance_until(sim, lambda t=target: agents[t].oncall, 30)
            bus.publish(
                requests_key(bus),
                {"kind": "atxfer", "step": "complete", "request_id": f"c{n}", "agent": login},
            )
            await advance_until(sim, lambda a=login: a not in dialer.agent_channels, 30)
        await advance_until(sim, lambda: not sim.engine.channels, 60)
        await until(lambda: not service.ingest.calls.calls)
    third = [(p["type"], p["queue"]) for _i, p in bus.r.xrange(bus.keys.agent_pops("1003"))]
    assert third == [("ring", "general_es"), ("answer", "general_es"), ("end", "general_es")]
    lines = sim.engine.queue_log_lines
    assert sum("|ATTENDEDTRANSFER|" in x for x in lines) == 2
    with session_factory() as s:
        (row,) = s.scalars(select(Call)).all()
    assert (row.queue, row.outcome, row.agent_login) == ("network_es", "transferred", "1003")
    talks = [int(x.split("|")[8]) for x in lines if "|ATTENDEDTRANSFER|" in x]
    final = [int(x.split("|")[6]) for x in lines if "|COMPLETE" in x]
    assert row.talk_seconds == sum(talks) + sum(final)
