"""The listener logged in as the generated manager.conf user, on pbxsim.

A real Asterisk refuses the `Filter` action to this user (it has no `system`
write class) and filters with the user's `eventfilter` lines instead; pbxsim
loads the same generated text the same way. The listener must send no Filter,
log no refusal, and receive only events it reads, while a whole call still
produces its record.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.link import Backoff
from ami_listener.parser import WANTED_EVENTS
from ami_listener.service import ListenerOptions, ListenerService
from asterisk_conf.manager import build_manager
from pbxsim import ami_protocol as p
from pbxsim import ami_server
from pbxsim import sim as pbxsim_sim
from pbxsim.ami_server import users_from_manager_conf
from pbxsim.behaviour import AgentAction, CallerScript
from servicedesk.config import CentralitaConfig
from tests.ami_listener.harness import calls_by_uniqueid


async def _until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.02)


async def test_generated_user_filters_server_side_and_listener_sends_no_filter(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    caplog,
    monkeypatch,
) -> None:
    caplog.set_level(logging.INFO)
    users = users_from_manager_conf(build_manager(example_config), {"centralita": "secret"})
    sim = pbxsim_sim.PbxSim(example_config, ami_port=0, ami_users=users, start_epoch=time.time())
    await sim.start()
    seen_actions: list[str] = []
    seen_events: list[str] = []
    process = ami_server._Session._process

    async def recording(self, msg):  # type: ignore[no-untyped-def]
        seen_actions.append(p.get_action(msg.headers))
        return await process(self, msg)

    monkeypatch.setattr(ami_server._Session, "_process", recording)
    conn = example_config.connections
    ami = conn.ami.model_copy(update={"port": sim.port, "ping_interval": 0.5})
    cfg = example_config.model_copy(
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
    parser = service.ingest.parser
    feed = parser.feed

    def spy(data: bytes):  # type: ignore[no-untyped-def]
        for line in data.split(b"\r\n"):
            if line.startswith(b"Event: "):
                seen_events.append(line[7:].decode())
        return feed(data)

    parser.feed = spy  # type: ignore[method-assign]
    await service.start()
    try:
        await service.wait_resynced(10)
        sim.agent("PJSIP/1001", [AgentAction.answer(3.0)], num="1001", name="Ana López")
        await sim.action("QueueAdd", Queue="network_es", Interface="PJSIP/1001", Penalty="0")
        script = CallerScript(
            hangup_after=20.0,
            ivr_seconds=2.0,
            preset={"CENTRALITA_ACTION": "queue", "CENTRALITA_QUEUE": "network_es"},
        )
        did = example_config.lines["tollfree"].did.lstrip("+")
        sim.engine.place_call(did, "5215550100", "José", script, context="centralita-inbound")
        sim.engine.poke()
        await sim.run_for(30)
        await _until(lambda: not service.ingest.calls.calls and service.ingest.calls.finished)
        await service.flush()
    finally:
        await service.stop()
        await sim.close()
    (rec,) = calls_by_uniqueid(session_factory).values()
    assert rec.outcome == "answered" and rec.queue == "network_es"
    assert "Login" in seen_actions and "QueueStatus" in seen_actions
    assert "Filter" not in seen_actions
    assert not [m for m in caplog.messages if "Filter" in m]
    # only what the listener reads came over the wire: no Newexten, no Bridge*, no other VarSet
    assert seen_events and set(seen_events) <= WANTED_EVENTS
    assert "AgentConnect" in seen_events and "Hangup" in seen_events
    assert parser.skipped == 0
