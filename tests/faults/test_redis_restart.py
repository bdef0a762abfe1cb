"""Redis stopped, then restarted empty, during load through the real IVR (issue 9, items 4, 7).

While Redis is away the IVR keeps routing (its live reads give up within 200 ms)
and the listener keeps recording; when it is back, empty, the listener rebuilds
today's counters from the records and re-publishes every agent, and the pops
it buffered are delivered. At the end: records equal pbxsim's queue_log, the
wallboard equals a recomputation from the records, and every call answered
after Redis came back has its answer pop.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import redis as redis_lib

from ami_listener import wallboard
from servicedesk.bus import Bus
from servicedesk.config import load_config
from servicedesk.db import make_engine, make_sessionmaker
from tests.faults.stack import Redis, Stack, settle, wait_until

QUEUE = "general_es"


def test_redis_restarted_empty_during_load(tmp_path: Path) -> None:
    server = Redis(tmp_path)
    stack = Stack(tmp_path, server, demo=True)
    try:
        stack.start_ivr()
        stack.start_pbx(
            rate=2.5,
            seconds=14,
            agents=6,
            patience=12,
            ivr=True,
            callers=stack.callers,
            queue=QUEUE,
        )
        stack.start_listener()
        time.sleep(4.0)
        server.kill()  # gone, with everything it held
        time.sleep(3.0)  # calls keep arriving, routing and ending
        server.start()  # back, empty
        back = time.time()
        placed = stack.pbx_done(120)["placed"]
        mismatches = settle(stack, 30)
        client = redis_lib.Redis.from_url(server.url, decode_responses=True)
        bus = Bus(client)
        cfg = load_config(stack.config)
        wait_until(
            lambda: client.exists(f"centralita:listener:{cfg.connections.pbx_id}:run"),
            10,
            "the listener noticed the empty Redis",
        )
        time.sleep(1.0)  # the last flush reaches Redis
        tz = cfg.service.timezone
        day = datetime.now(ZoneInfo(tz)).date().isoformat()
        live = wallboard.read(bus, day, QUEUE)
        engine = make_engine(stack.db_url)
        with make_sessionmaker(engine)() as s:
            settings = cfg.queue_definitions()[QUEUE].settings
            again = wallboard.recompute(
                s,
                cfg.connections.pbx_id,
                day,
                QUEUE,
                tz,
                lambda _q: (settings.servicelevel, settings.short_abandon),
            )
        engine.dispose()
        answered_after = {
            uid: exp
            for uid, exp in stack.expected().items()
            if exp.get("outcome") == "answered" and exp.get("connect_at", 0) >= back + 1
        }
        pops: dict[str, set[str]] = {}
        for i in range(6):
            for _id, fields in client.xrange(bus.keys.agent_pops(str(9000 + i))):
                if fields.get("type") == "answer":
                    pops.setdefault(fields["call_id"], set()).add(fields["agent"])
        agents = set(client.smembers(bus.keys.agents))
    finally:
        stack.stop()
    assert mismatches == []
    assert len(stack.expected()) == placed >= 30  # every caller got through the IVR
    assert live == again and live["offered"] == placed
    assert answered_after and all(uid in pops for uid in answered_after)
    assert {str(9000 + i) for i in range(6)} <= agents
