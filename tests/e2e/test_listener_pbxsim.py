"""End to end: calls through pbxsim's AMI server into the real listener.

The panel's QueueAdd travels Redis → listener → AMI → pbxsim; the caller goes
through the Centralita dialplan (IVR variables preset as the IVR would set
them), the queue and an agent; the listener must produce the call record,
agent state and screen-pops from pbxsim's events alone.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import redis
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.link import Backoff
from ami_listener.service import ListenerOptions, ListenerService
from pbxsim import sim as pbxsim_sim
from pbxsim.behaviour import AgentAction, CallerScript
from servicedesk.bus import Bus
from servicedesk.config import CentralitaConfig
from tests.ami_listener.harness import calls_by_uniqueid


async def _until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def _running(
    config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    ping_interval: float | None,
) -> AsyncIterator[tuple[pbxsim_sim.PbxSim, ListenerService, redis.Redis, Bus]]:
    """pbxsim's AMI server and a real listener connected to it; both stopped on exit."""
    sim = pbxsim_sim.PbxSim(
        config, ami_port=0, ami_users={"centralita": "secret"}, start_epoch=time.time()
    )
    await sim.start()
    conn = config.connections
    update: dict[str, object] = {"port": sim.port}
    if ping_interval is not None:
        update["ping_interval"] = ping_interval
    ami = conn.ami.model_copy(update=update)
    cfg = config.model_copy(
        update={"connections": conn.model_copy(update={"ami": ami, "pbx_id": "e2e"})}
    )
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    service = ListenerService(
        cfg,
        session_factory,
        r,
        "secret",
        ListenerOptions(flush_interval=0.05, backoff=Backoff(0.05, 0.2), command_block_ms=100),
    )
    await service.start()
    try:
        yield sim, service, r, Bus(r)
    finally:
        await service.stop()
        await sim.close()


async def test_call_through_pbxsim_into_listener(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    async with _running(example_config, session_factory, redis_url, 0.5) as (sim, service, r, bus):
        await service.wait_resynced(10)
        sim.agent("PJSIP/1001", [AgentAction.answer(3.0)], num="1001", name="Ana López")
        bus.publish(
            bus.keys.commands,
            {
                "id": "add-1",
                "action": "QueueAdd",
                "queue": "network_es",
                "interface": "PJSIP/1001",
                "member_name": "Ana López",
                "penalty": "0",
            },
        )
        await _until(lambda: r.xlen(bus.keys.command_results) == 1)
        await sim.run_for(0.5)
        ((_id, result),) = r.xrange(bus.keys.command_results)
        assert result["response"] == "Success", result
        await _until(lambda: r.hget(bus.keys.agent_state("1001"), "state") == "available")

        ivr = ";".join(
            f"{k}={quote(v, safe='')}"
            for k, v in {"lang": "es", "menu": "new_incident", "category": "network"}.items()
        )
        script = CallerScript(
            hangup_after=25.0,
            ivr_seconds=4.0,
            preset={
                "CENTRALITA_ACTION": "queue",
                "CENTRALITA_QUEUE": "network_es",
                "CENTRALITA_CATEGORY": "network",
                "CENTRALITA_PRIORITY": "high",
                "CENTRALITA_IVR": ivr,
                "IVR_LANG": "es",
            },
        )
        did = example_config.lines["tollfree"].did.lstrip("+")
        call = sim.engine.place_call(
            did, "5215550100", "José Pérez", script, context="centralita-inbound"
        )
        sim.engine.poke()
        await sim.run_for(40)
        await _until(lambda: not service.ingest.calls.calls and service.ingest.calls.finished)
        await service.flush()
    records = calls_by_uniqueid(session_factory)
    assert len(records) == 1
    (rec,) = records.values()
    assert rec.outcome == "answered" and rec.agent_login == "1001"
    assert rec.queue == "network_es" and rec.language == "es" and rec.priority == "high"
    assert rec.caller_name == "José Pérez" and rec.caller_num == "5215550100"
    assert rec.ivr_choices == {"lang": "es", "menu": "new_incident", "category": "network"}
    assert rec.hold_seconds == 3 and rec.hung_up_by == "caller"
    assert rec.talk_seconds is not None and 15 <= rec.talk_seconds <= 19
    assert rec.line_did is not None
    pops = [f for _i, f in r.xrange(bus.keys.agent_pops("1001"))]
    assert [p["type"] for p in pops] == ["ring", "answer", "end"]
    assert json.loads(pops[1]["ivr"])["category"] == "network"
    assert call is not None


async def test_pause_then_abandon_through_pbxsim(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    """The only agent pauses (reason from the panel); with the example config's
    `joinempty = paused,…` the caller is refused at the queue: join_empty, not an abandon."""
    from ami_listener import wallboard

    async with _running(example_config, session_factory, redis_url, 0.5) as (sim, service, r, bus):
        await service.wait_resynced(10)
        sim.agent("PJSIP/1001", [AgentAction.answer(3.0)], num="1001", name="Ana López")
        for fields in (
            {
                "id": "a",
                "action": "QueueAdd",
                "queue": "network_es",
                "interface": "PJSIP/1001",
                "member_name": "Ana López",
                "penalty": "0",
            },
            {
                "id": "p",
                "action": "QueuePause",
                "queue": "network_es",
                "interface": "PJSIP/1001",
                "paused": "true",
                "reason": "lunch",
            },
        ):
            bus.publish(bus.keys.commands, fields)
        await _until(lambda: r.xlen(bus.keys.command_results) == 2)
        assert {f["response"] for _i, f in r.xrange(bus.keys.command_results)} == {"Success"}
        await sim.run_for(0.5)
        await _until(lambda: r.hget(bus.keys.agent_state("1001"), "state") == "paused")
        assert r.hget(bus.keys.agent_state("1001"), "pause_reason") == "lunch"
        script = CallerScript(
            hangup_after=None,
            queue_patience=12.0,
            ivr_seconds=2.0,
            preset={
                "CENTRALITA_ACTION": "queue",
                "CENTRALITA_QUEUE": "network_es",
                "IVR_LANG": "es",
            },
        )
        did = example_config.lines["tollfree"].did.lstrip("+")
        sim.engine.place_call(
            did, "5215550111", "O'Brien, Ann", script, context="centralita-inbound"
        )
        sim.engine.poke()
        await sim.run_for(40)
        await _until(lambda: not service.ingest.calls.calls and service.ingest.calls.finished)
        await service.flush()
    (rec,) = calls_by_uniqueid(session_factory).values()
    assert (rec.outcome, rec.queue, rec.entered_queue_at, rec.rings) == (
        "join_empty",
        "network_es",
        None,
        [],
    )
    assert rec.caller_name == "O'Brien, Ann" and rec.language == "es"
    assert r.xlen(bus.keys.agent_pops("1001")) == 0  # paused: never rung, never popped
    day = wallboard.counter_day_of(rec.started_at, example_config.service.timezone)
    live = wallboard.read(bus, day, "network_es")
    with session_factory() as s:
        again = wallboard.recompute(
            s,
            "e2e",
            day,
            "network_es",
            example_config.service.timezone,
            service.ingest.calls.queue_settings,
        )
    assert live == again and live["join_empty"] == 1
    assert live["offered"] == 0 and live["abandoned"] == 0


async def test_abandon_while_ringing_through_pbxsim(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    from ami_listener import wallboard
    from pbxsim.behaviour import NOANSWER

    async with _running(example_config, session_factory, redis_url, None) as (sim, service, r, bus):
        await service.wait_resynced(10)
        sim.agent("PJSIP/1001", [NOANSWER], num="1001", name="Ana López")
        await sim.action(
            "QueueAdd",
            Queue="network_es",
            Interface="PJSIP/1001",
            MemberName="Ana López",
            Penalty="0",
        )
        script = CallerScript(
            queue_patience=8.0,
            ivr_seconds=2.0,
            preset={"CENTRALITA_ACTION": "queue", "CENTRALITA_QUEUE": "network_es"},
        )
        did = example_config.lines["tollfree"].did.lstrip("+")
        sim.engine.place_call(did, "5215550122", "Zoë Adams", script, context="centralita-inbound")
        sim.engine.poke()
        await sim.run_for(40)
        await _until(lambda: not service.ingest.calls.calls and service.ingest.calls.finished)
        await service.flush()
    (rec,) = calls_by_uniqueid(session_factory).values()
    assert (rec.outcome, rec.hung_up_by, rec.agent_login) == ("abandoned", "caller", None)
    assert rec.hold_seconds is not None and 7 <= rec.hold_seconds <= 9
    assert rec.rings and all(ring.agent_login == "1001" for ring in rec.rings)
    assert rec.rings[-1].result == "canceled"
    pops = [f["type"] for _i, f in r.xrange(bus.keys.agent_pops("1001"))]
    assert pops[0] == "ring" and pops[-1] == "end" and "answer" not in pops
    assert r.hget(bus.keys.agent_state("1001"), "state") == "available"
    day = wallboard.counter_day_of(rec.entered_queue_at, example_config.service.timezone)
    live = wallboard.read(bus, day, "network_es")
    with session_factory() as s:
        again = wallboard.recompute(
            s,
            "e2e",
            day,
            "network_es",
            example_config.service.timezone,
            service.ingest.calls.queue_settings,
        )
    assert live == again and (live["offered"], live["abandoned"]) == (1, 1)
