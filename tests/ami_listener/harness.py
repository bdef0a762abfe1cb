"""Helpers shared by the listener tests: a configured service against a replay server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.link import Backoff
from ami_listener.service import ListenerOptions, ListenerService
from servicedesk.config import CentralitaConfig
from servicedesk.models import Call
from tests.ami_listener.replay_server import ReplayServer, frames_of
from tests.ami_listener.replay_server import Session as ReplaySession

TRACE_WRAPUP = {"load_mix": 2}


def configured(
    cfg: CentralitaConfig, port: int, queue_log: str | None = None, pbx_id: str = "pbx-test"
) -> CentralitaConfig:
    conn = cfg.connections
    ami = conn.ami.model_copy(
        update={"host": "127.0.0.1", "port": port, "ping_interval": 0.3, "ping_timeout": 0.3}
    )
    ql = conn.queue_log.model_copy(update={"path": queue_log, "table": False})
    conn2 = conn.model_copy(update={"ami": ami, "queue_log": ql, "pbx_id": pbx_id})
    return cfg.model_copy(update={"connections": conn2})


def make_service(
    cfg: CentralitaConfig,
    factory: sessionmaker[Session] | None,
    redis_url: str | None,
    wrapup: int = 0,
    **opts: Any,
) -> ListenerService:
    client = redis.Redis.from_url(redis_url, decode_responses=True) if redis_url else None
    options = ListenerOptions(
        flush_interval=0.05,
        command_block_ms=100,  # a blocked XREAD thread would delay the loop's shutdown
        backoff=Backoff(base=0.02, cap=0.1),
        refused_backoff=Backoff(base=0.5, cap=1.0),
        **opts,
    )
    return ListenerService(cfg, factory, client, "secret", options, wrapup_for=lambda _q: wrapup)


async def replay_raw(
    raw: Path,
    cfg: CentralitaConfig,
    factory: sessionmaker[Session] | None,
    redis_url: str | None,
    wrapup: int = 0,
) -> ListenerService:
    """Replay a recorded AMI stream into a listener, start to stop; no handler may fail."""
    server = ReplayServer([ReplaySession(frames=frames_of(raw.read_bytes()))])
    port = await server.start()
    service = make_service(configured(cfg, port), factory, redis_url, wrapup=wrapup)
    try:
        await service.start()
        await drain(service, server)
    finally:
        await service.stop()
        await server.close()
    assert service.ingest.handler_errors == 0
    return service


async def drain(
    service: ListenerService, server: ReplayServer, session: int = 0, timeout: float = 20.0
) -> None:
    """Wait until the listener has read everything the server streamed, then flush."""
    await asyncio.wait_for(server.streamed.wait(), timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while service.link.bytes_in < sum(server.bytes_sent):
        if loop.time() > deadline:
            raise AssertionError("listener did not read the whole stream")
        await asyncio.sleep(0.01)
    await service.flush()


def calls_by_uniqueid(factory: sessionmaker[Session]) -> dict[str, Call]:
    with factory() as session:
        rows = session.scalars(select(Call)).all()
        for row in rows:
            _ = list(row.rings)
        return {row.uniqueid: row for row in rows}


def queue_log_calls(path: Path) -> dict[str, dict[str, Any]]:
    """Asterisk's own account of each queue call, from the trace's queue_log."""
    out: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        parts = line.split("|")
        epoch, callid, _queue, agent, event, data = (
            parts[0],
            parts[1],
            parts[2],
            parts[3],
            parts[4],
            parts[5:],
        )
        if callid in ("MANAGER", "NONE"):
            continue
        rec = out.setdefault(callid, {"rna": 0, "rc": 0, "queue": _queue})
        if event == "ENTERQUEUE":
            rec["caller"] = data[1]
            rec["position"] = int(data[2])
        elif event == "CONNECT":
            rec["hold"] = int(data[0])
            rec["connect_at"] = int(epoch)
        elif event in ("COMPLETECALLER", "COMPLETEAGENT"):
            rec["outcome"] = "answered"
            rec["hold"], rec["talk"] = int(data[0]), int(data[1])
            rec["hung_up_by"] = "caller" if event == "COMPLETECALLER" else "agent"
            rec["agent"] = agent
        elif event in ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY"):
            rec["outcome"] = {
                "ABANDON": "abandoned",
                "EXITWITHTIMEOUT": "timeout",
                "EXITEMPTY": "exit_empty",
            }[event]
            rec["hold"] = int(data[2])
        elif event == "RINGNOANSWER":
            rec["rna"] += 1
        elif event == "RINGCANCELED":
            rec["rc"] += 1
        rec["last"] = int(epoch)
    return out
