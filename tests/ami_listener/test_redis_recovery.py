"""Redis comes back empty (issue 9, item 4): the listener notices its run marker is gone,
rebuilds the wallboard counters from the database and re-publishes every agent's state."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ami_listener import wallboard
from servicedesk.config import CentralitaConfig
from servicedesk.models import Call
from tests.ami_listener.harness import TRACE_WRAPUP, configured, drain, make_service
from tests.ami_listener.replay_server import ReplayServer, frames_of
from tests.ami_listener.replay_server import Session as ReplaySession
from tests.ami_listener.test_link_resilience import wait_for


async def test_empty_redis_is_rebuilt_from_the_records(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    frames = frames_of((traces_dir / "load_mix" / "ami.raw").read_bytes())
    cut = len(frames) * 2 // 3  # Redis is lost with calls still in progress
    server = ReplayServer([ReplaySession(frames=frames[:cut])])
    port = await server.start()
    service = make_service(
        configured(example_config, port), session_factory, redis_url, TRACE_WRAPUP["load_mix"]
    )
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    bus = service.bus
    assert bus is not None
    await service.start()
    try:
        await drain(service, server)
        await wait_for(lambda: service.redis_rebuilds == 1)  # first start: nothing to trust
        before = set(r.smembers(bus.keys.agents))
        assert before
        r.flushall()  # what a restart without persistence leaves
        await wait_for(lambda: service.redis_rebuilds == 2, timeout=5)
        await wait_for(lambda: set(r.smembers(bus.keys.agents)) == before, timeout=5)
        for login in before:
            assert r.hget(bus.keys.agent_state(login), "state")
        await asyncio.sleep(0.3)
        # the rest of the trace arrives after the rebuild: counters go on from there
        protocol = service.link.protocol
        assert protocol is not None
        for frame in frames[cut:]:
            protocol.data_received(frame)  # as if read from the socket
        await service.flush()
    finally:
        await service.stop()
        await server.close()
    calls = service.ingest.calls
    with session_factory() as s:
        first = s.scalars(select(Call).where(Call.queue == "support").limit(1)).one()
        day = wallboard.counter_day_of(first.started_at, example_config.service.timezone)
        again = wallboard.recompute(
            s, "pbx-test", day, "support", example_config.service.timezone, calls.queue_settings
        )
    live = wallboard.read(bus, day, "support")
    assert live == again
    assert live["offered"] >= live["answered"] + live["abandoned"] > 0
