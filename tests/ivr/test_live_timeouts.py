"""A hung Redis never holds an IVR caller (issue 9, item 4): live reads give up within
200 ms, the degraded path is logged once and counted, and the answer is cached."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import redis as redis_lib

from ivr.services import LIVE_TIMEOUT_S, StoreServices
from servicedesk import metrics
from servicedesk.config import CentralitaConfig


@pytest.fixture()
def hung_redis() -> Iterator[str]:
    """Accepts connections and never answers: a SIGSTOPped or blackholed Redis."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


async def test_hung_redis_costs_a_caller_at_most_the_live_timeout(
    example_config: CentralitaConfig, hung_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert LIVE_TIMEOUT_S <= 0.2
    client = redis_lib.Redis.from_url(hung_redis, decode_responses=True)  # no timeout of its own
    svc = StoreServices(example_config, None, client, live_ttl=30)
    before = metrics.get("ivr.redis_degraded")
    caplog.set_level(logging.INFO, "centralita.ivr.services")
    t0 = time.monotonic()
    results = await asyncio.gather(
        *(svc.availability() for _ in range(20)), svc.queue_stats("network_es")
    )
    first = time.monotonic() - t0
    assert results == [None] * 21
    assert first < 1.0  # without the timeout this hangs until the kernel gives up
    assert svc.live_degraded and metrics.get("ivr.redis_degraded") == before + 2
    t1 = time.monotonic()
    assert await svc.availability() is None  # the degraded answer is cached for the TTL
    assert time.monotonic() - t1 < 0.05
    warnings = [r for r in caplog.records if "live state unavailable" in r.getMessage()]
    assert len(warnings) == 1


async def test_live_state_comes_back(
    example_config: CentralitaConfig, redis_url: str, hung_redis: str
) -> None:
    svc = StoreServices(example_config, None, redis_lib.Redis.from_url(hung_redis), live_ttl=0)
    assert await svc.queue_stats("network_es") is None and svc.live_degraded
    svc.redis = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    svc.redis.hset(
        svc.keys.queue_state("network_es"),
        mapping={"waiting": "1", "available_agents": "0", "logged_in": "1"},
    )
    stats = await svc.queue_stats("network_es")
    assert stats is not None and stats.waiting == 1 and not svc.live_degraded
