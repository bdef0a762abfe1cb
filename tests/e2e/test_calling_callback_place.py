"""End to end: a callback keeps its caller's place while other callers arrive.

The callback's caller joined network_es before B and C. The only agent is busy;
B and C join and wait. When the agent's wrap-up ends, the callback goes first: its
pop reaches the agent, the dialer rings the agent's phone, then the customer;
only then does the queue hand the agent to B. The request is dialled exactly once
and closes as done.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pbxsim.behaviour import AgentAction, CallerScript
from servicedesk import callback_figures
from servicedesk.calling_models import CallbackPlace, OutboundCall
from servicedesk.config import CentralitaConfig
from servicedesk.db import session_scope
from servicedesk.models import Call, CallbackRequest
from tests.e2e.calling_harness import DIALER_SECRET, advance_until, running, until

CUSTOMER = "525598765432"


def _script(name: str) -> CallerScript:
    ivr = ";".join(f"{k}={quote(v, safe='')}" for k, v in {"lang": "es"}.items())
    return CallerScript(
        hangup_after=None,
        ivr_seconds=1.0,
        preset={
            "CENTRALITA_ACTION": "queue",
            "CENTRALITA_QUEUE": "network_es",
            "CENTRALITA_IVR": ivr,
            "IVR_LANG": "es",
        },
    )


def _callback_request(factory: sessionmaker[Session], joined: datetime) -> int:
    """What the IVR and the listener leave behind for a caller who chose a callback."""
    with session_scope(factory) as s:
        s.add(
            Call(
                pbx_id="e2e",
                linkedid="cb-caller",
                uniqueid="cb-caller",
                started_at=joined - timedelta(seconds=20),
                entered_queue_at=joined,
                ended_at=joined + timedelta(seconds=40),
                queue="network_es",
                outcome="timeout",
                caller_num=CUSTOMER,
            )
        )
        req = CallbackRequest(
            call_uniqueid="cb-caller", number=CUSTOMER, language="es", requested_at=joined
        )
        s.add(req)
        s.flush()
        return req.id


async def test_callback_goes_before_later_callers(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(example_config.calling.dialer_secret_env, DIALER_SECRET)
    # real time: the listener ends wrap-ups on the wall clock; a short wrap-up keeps it brief
    cfg = example_config.model_copy(
        update={
            "queue_defaults": example_config.queue_defaults.model_copy(update={"wrapuptime": 3})
        }
    )
    async with running(cfg, session_factory, redis_url, speed=1.0) as (
        sim,
        service,
        bus,
    ):
        assert service.dialer is not None and service.dialer.scheduler is not None
        service.dialer.scheduler.tick_s = 0.05
        engine = sim.engine
        sim.agent(
            "PJSIP/1001",
            [AgentAction.answer(1.0, None), AgentAction.answer(1.0, None), AgentAction.answer(1.0)],
            num="1001",
            name="Ana López",
        )
        engine.remotes[CUSTOMER] = AgentAction.answer(2.0, 6.0)
        bus.publish(
            bus.keys.commands,
            {
                "id": "add",
                "action": "QueueAdd",
                "queue": "network_es",
                "interface": "PJSIP/1001",
                "member_name": "Ana López",
                "penalty": "0",
            },
        )
        await until(lambda: bus.r.hget(bus.keys.agent_state("1001"), "state") == "available")
        did = example_config.lines["tollfree"].did.lstrip("+")
        x = _script("X")
        x.hangup_after = 5.0
        engine.place_call(did, "5215550001", "X", x, context="centralita-inbound")
        engine.poke()
        await advance_until(sim, lambda: service.ingest.agents.agents["1001"].oncall, 30)
        cb_id = _callback_request(session_factory, datetime.now(UTC) - timedelta(minutes=2))
        for num in ("5215550002", "5215550003"):  # B and C join after the callback's place
            engine.place_call(did, num, num, _script(num), context="centralita-inbound")
        engine.poke()

        def place_status() -> str | None:
            with session_scope(session_factory) as s:
                return s.scalars(
                    select(CallbackPlace.status).where(CallbackPlace.callback_id == cb_id)
                ).first()

        await advance_until(sim, lambda: place_status() == "done", 60)
        # B gets the agent once the callback is over
        await advance_until(sim, lambda: service.ingest.agents.agents["1001"].oncall, 60)
        dialer_sent = service.dialer.sent
    pops = [f for _i, f in bus.r.xrange(bus.keys.agent_pops("1001"))]
    kinds = [(p["type"], p.get("caller_num", "")) for p in pops]
    first_x_end = kinds.index(("end", "5215550001"))
    after = kinds[first_x_end + 1 :]
    assert after[0] == ("callback", "+" + CUSTOMER), kinds
    assert ("ring", "5215550002") in after[1:], kinds
    with session_scope(session_factory) as s:
        rows = s.scalars(select(OutboundCall).where(OutboundCall.callback_id == cb_id)).all()
        assert [(r.purpose, r.status) for r in rows] == [("callback", "ended")]
        # the callback's own call record is an outbound call, not an IVR or queue call
        dialled = s.scalars(select(Call).where(Call.linkedid == rows[0].uniqueid)).one()
        assert (dialled.outcome, dialled.queue) == ("outbound_answered", None)
        place = s.scalars(select(CallbackPlace).where(CallbackPlace.callback_id == cb_id)).one()
        assert (place.status, place.tries, place.queue) == ("done", 1, "network_es")
        assert s.get(CallbackRequest, cb_id).done_at is not None
    assert dialer_sent == 1  # one Originate for one request: never dialled twice
    # the wallboard counts it apart from abandons, live: placed (pending), then done
    tz = ZoneInfo(cfg.service.timezone)
    day = callback_figures.day_of(datetime.now(UTC) - timedelta(minutes=2), tz)
    assert callback_figures.read(bus, day, "network_es") == {
        "pending": 0,
        "done": 1,
        "failed": 0,
        "requested": 1,
    }
    assert bus.r.hget(bus.keys.counters(day, "network_es"), "abandoned") in (None, "0")
