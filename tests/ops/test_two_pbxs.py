"""Two PBXs, one desk: two pbxsim boxes, a listener each, one PostgreSQL, one Redis.

Calls on both boxes land once each in the records (kept apart by `pbx_id`), today's
wallboard counters add up across boxes, the monthly figures count every call once, and the
panel under two gunicorn workers shows the merged counters to a supervisor. One caller is
blind-transferred from cdmx to a queue on mty through the inter-PBX trunk: it is one caller
call in the records (mty's leg carries cdmx's call as its origin), the wallboard and the
report (offered once, answered once, ended as transferred).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import func, select

from ami_listener.link import Backoff
from ami_listener.service import ListenerOptions, ListenerService
from callstats import service_report
from pbxsim import interpbx
from pbxsim import sim as pbxsim_sim
from pbxsim.behaviour import AgentAction, CallerScript
from servicedesk.bus import Bus
from servicedesk.config import CentralitaConfig
from servicedesk.db import make_engine, make_sessionmaker
from servicedesk.models import Base, Call
from servicedesk.pbx import for_pbx
from tests.ops.conftest import EXAMPLE, TRUNKS, TWO_PBXS, config_with
from tests.panel.conftest import seed_users
from tests.servers import PostgresServer, free_port


async def _until(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    end = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < end, "condition not reached"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def _box(
    desk: CentralitaConfig,
    pbx_id: str,
    factory,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> AsyncIterator[tuple[pbxsim_sim.PbxSim, ListenerService]]:
    """One PBX (pbxsim) and its own listener, narrowed to that PBX by the config."""
    sim = pbxsim_sim.PbxSim(
        desk, ami_port=0, ami_users={"centralita": "s"}, start_epoch=time.time()
    )
    await sim.start()
    cfg = for_pbx(desk, pbx_id)
    conns = cfg.connections
    cfg = cfg.model_copy(
        update={
            "connections": conns.model_copy(
                update={
                    "ami": conns.ami.model_copy(update={"port": sim.port, "username": "centralita"})
                }
            )
        }
    )
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    service = ListenerService(
        cfg,
        factory,
        client,
        "s",
        ListenerOptions(flush_interval=0.05, backoff=Backoff(0.05, 0.2), command_block_ms=100),
    )
    await service.start()
    try:
        yield sim, service
    finally:
        await service.stop()
        await sim.close()
        client.close()


def _answered_call(
    sim: pbxsim_sim.PbxSim, desk: CentralitaConfig, caller: str, hangup_after: float = 20.0
) -> None:
    """A caller who stays `hangup_after` s from dialling (waiting, then talking)."""
    script = CallerScript(
        hangup_after=hangup_after,
        ivr_seconds=2.0,
        preset={
            "CENTRALITA_ACTION": "queue",
            "CENTRALITA_QUEUE": "network_es",
            "CENTRALITA_CATEGORY": "network",
            "IVR_LANG": "es",
        },
    )
    did = desk.lines["tollfree"].did.lstrip("+")
    sim.engine.place_call(did, caller, "Cliente", script, context="centralita-inbound")
    sim.engine.poke()


async def test_two_pbxs_one_desk(tmp_path: Path, pg_server: PostgresServer, redis_url: str) -> None:
    config_path = config_with(tmp_path, TWO_PBXS.format(port_a=5038, port_b=6038) + TRUNKS)
    from servicedesk.config import load_config

    desk = load_config(config_path)
    db_url = pg_server.create_database("multi")
    engine = make_engine(db_url)
    Base.metadata.create_all(engine)
    seed_users(engine)
    factory = make_sessionmaker(engine)
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    bus = Bus(r)
    async with AsyncExitStack() as stack:
        boxes = {
            pid: await stack.enter_async_context(_box(desk, pid, factory, redis_url))
            for pid in ("cdmx", "mty")
        }
        for sim, service in boxes.values():
            await service.wait_resynced(10)
            # the same agent login works on either box (one phone per box here)
            sim.agent("PJSIP/1001", [AgentAction.answer(2.0)] * 3, num="1001", name="Ana")
            await sim.action(
                "QueueAdd",
                Queue="network_es",
                Interface="PJSIP/1001",
                Penalty="0",
                MemberName="Ana López",
            )
        interpbx.connect(desk, {pid: sim.engine for pid, (sim, _svc) in boxes.items()})
        _answered_call(boxes["cdmx"][0], desk, "5215550101")
        _answered_call(boxes["cdmx"][0], desk, "5215550102", hangup_after=60.0)
        _answered_call(boxes["mty"][0], desk, "5218180103")
        # the caller an agent on cdmx hands over to mty's network_es queue
        _answered_call(boxes["cdmx"][0], desk, "5215550104", hangup_after=150.0)
        cdmx = boxes["cdmx"][0]
        transferred = False
        # the boxes keep their own clocks: run them side by side, a second at a time
        for _second in range(200):
            for sim, _service in boxes.values():
                await sim.run_for(1)
            if not transferred:
                for chan, caller in list(cdmx.engine.bridged_calls.items()):
                    if caller.chan is not None and caller.chan.caller_num == "5215550104":
                        reply = await cdmx.action(
                            "BlindTransfer",
                            Channel=chan,
                            Context="centralita-transfer-mty",
                            Exten="network_es",
                        )
                        assert dict(reply[0])["Response"] == "Success", reply
                        transferred = True
        assert transferred
        for _sim, service in boxes.values():
            await _until(lambda s=service: not s.ingest.calls.calls and s.ingest.calls.finished)
            await service.flush()

        with factory() as s:
            per_pbx = dict(s.execute(select(Call.pbx_id, func.count()).group_by(Call.pbx_id)).all())
            linkedids = s.scalars(select(Call.linkedid)).all()
            outcomes = s.execute(select(Call.pbx_id, Call.outcome, Call.hold_seconds)).all()
            handed = s.scalars(select(Call).where(Call.caller_num == "5215550104")).all()
            callers = s.scalar(
                select(func.count()).select_from(Call).where(Call.origin_pbx_id.is_(None))
            )
        # four caller calls; the transferred one also left a continued leg on mty
        assert per_pbx == {"cdmx": 3, "mty": 2}, outcomes
        # pbxsim numbers uniqueids the same way on both boxes: (pbx_id, linkedid) keeps them apart
        assert len(linkedids) == 5
        assert callers == 4
        legs = {c.pbx_id: c for c in handed}
        first, second = legs["cdmx"], legs["mty"]
        assert (first.origin_pbx_id, first.outcome) == (None, "transferred")
        assert (second.origin_pbx_id, second.origin_linkedid) == ("cdmx", first.linkedid)
        assert second.outcome == "answered" and second.agent_login == "1001"
        # what the IVR found on cdmx came along (X-Centralita-Caller) for mty's pop
        assert (second.category, second.language) == ("network", "es")
        # the talk on cdmx ended at the transfer, not when the caller hung up on mty
        assert first.talk_seconds is not None and first.talk_seconds < 10, first.talk_seconds

        day = datetime.now(ZoneInfo(desk.service.timezone)).date().isoformat()
        counters = r.hgetall(bus.keys.counters(day, "network_es"))
        assert int(counters["offered"]) == 4, counters
        assert int(counters["answered"]) == 4, (counters, outcomes)
        assert int(counters.get("abandoned", 0)) == 0, counters

        # the report: one caller call offered once and answered once (as transferred);
        # the agent who took the continued leg on mty still has it among their calls
        now = datetime.now(ZoneInfo(desk.service.timezone))
        with factory() as s:
            report = service_report.build(s, desk, now.year, now.month, edition="internal")
        overall = report.overall
        assert (overall.offered, overall.answered, overall.transferred) == (4, 4, 1), overall
        assert overall.abandoned == 0
        by_agent = {a.name: a for a in report.agents}
        assert sum(a.figures.answered for a in report.agents) == 5, by_agent

        # The panel under two workers shows the merged counters.
        port = free_port()
        env = dict(
            os.environ,
            CENTRALITA_DATABASE_URL=db_url,
            CENTRALITA_REDIS_URL=redis_url,
            CENTRALITA_SECRET_KEY="two-pbx-secret-0123456789abcdef",
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "centralita.cli",
                "panel",
                "--config",
                str(config_path),
                "--port",
                str(port),
                "--workers",
                "2",
                "--insecure-cookies",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            from tests.ops.test_panel_workers import _login_as, _wait_ready

            base = f"http://127.0.0.1:{port}"
            await asyncio.to_thread(_wait_ready, base)
            opener = await asyncio.to_thread(_login_as, base, "sofia")
            raw = await asyncio.to_thread(
                lambda: opener.open(f"{base}/api/wallboard", timeout=10).read().decode()
            )
            board = json.loads(raw)
            text = json.dumps(board)
            assert '"offered": 4' in text or '"offered":4' in text, text[:2000]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
    r.close()
    engine.dispose()
    assert EXAMPLE.exists()
