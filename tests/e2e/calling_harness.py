"""pbxsim's AMI server with the listener and its dialer (own AMI user), for the calling tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import redis
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.link import Backoff
from ami_listener.service import ListenerOptions, ListenerService
from pbxsim import sim as pbxsim_sim
from pbxsim.ami_server import AmiUser
from pbxsim.behaviour import CallerScript
from servicedesk.bus import Bus
from servicedesk.config import CentralitaConfig

DIALER_SECRET = "d1aler-secret"


async def until(predicate: Callable[[], object], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.02)


async def advance_until(
    sim: pbxsim_sim.PbxSim, predicate: Callable[[], object], virtual_s: float = 120.0
) -> None:
    """Wait (paced clock) until `predicate` holds, at most `virtual_s` simulated seconds."""
    end = sim.now + virtual_s
    while not predicate():
        assert sim.now < end, f"condition not reached in {virtual_s} simulated seconds"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def running(
    config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    speed: float = 10.0,
) -> AsyncIterator[tuple[pbxsim_sim.PbxSim, ListenerService, Bus]]:
    """The dialer logs in as manager.conf's generated dialer user: read call,agent, write originate,call.

    pbxsim runs paced (`speed` x real time): actions from the dialer start timers at
    any moment, and a virtual clock would race through them between two steps."""
    sim = pbxsim_sim.PbxSim(
        config,
        speed=speed,
        ami_port=0,
        ami_users={
            "centralita": AmiUser("secret", "call,agent,dialplan,system", "agent,reporting"),
            config.calling.dialer_username: AmiUser(DIALER_SECRET, "call,agent", "originate,call"),
        },
        start_epoch=time.time(),
    )
    await sim.start()
    conn = config.connections
    ami = conn.ami.model_copy(update={"port": sim.port, "ping_interval": 0.5})
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
        assert service.dialer is not None, "dialer not started"
        await service.wait_resynced(10)
        await service.dialer.link.wait_up(10)
        yield sim, service, Bus(r)
    finally:
        await service.stop()
        await sim.close()


def incident_caller() -> CallerScript:
    """Rosa, who keyed incident 42 in the Spanish IVR and is queued in network_es."""
    return CallerScript(
        hangup_after=40.0,
        ivr_seconds=1.0,
        preset={
            "CENTRALITA_ACTION": "queue",
            "CENTRALITA_QUEUE": "network_es",
            "CENTRALITA_INCIDENT": "42",
            "CENTRALITA_IVR": "lang=es",
            "IVR_LANG": "es",
        },
    )


async def join_queues(bus: Bus, members: tuple[tuple[str, str], ...]) -> None:
    """(queue, interface) memberships added the panel's way (Redis commands), all answered."""
    for i, (queue, iface) in enumerate(members):
        bus.publish(
            bus.keys.commands,
            {"id": f"a{i}", "action": "QueueAdd", "queue": queue, "interface": iface},
        )
    await until(lambda: bus.r.xlen(bus.keys.command_results) == len(members))


def call_tollfree(sim: pbxsim_sim.PbxSim, config: CentralitaConfig, script: CallerScript) -> None:
    did = config.lines["tollfree"].did.lstrip("+")
    sim.engine.place_call(did, "5215550100", "Rosa", script, context="centralita-inbound")
    sim.engine.poke()


def assert_pop_followed(bus: Bus, first: str, second: str, queue: str) -> None:
    """The caller rang, was answered and ended at agent `first`, then again at `second`
    in `queue`: the same call id, and the caller's incident (42) on every pop."""
    at_first = [
        (p["type"], p["call_id"], p["incident"])
        for _i, p in bus.r.xrange(bus.keys.agent_pops(first))
    ]
    at_second = [
        (p["type"], p["call_id"], p["incident"], p["queue"])
        for _i, p in bus.r.xrange(bus.keys.agent_pops(second))
    ]
    call_id = at_first[0][1]
    assert [t for t, _c, _i in at_first] == ["ring", "answer", "end"]
    assert [(t, c, i) for t, c, i, _q in at_second] == [
        ("ring", call_id, "42"),
        ("answer", call_id, "42"),
        ("end", call_id, "42"),
    ]
    assert {q for *_x, q in at_second} == {queue}
