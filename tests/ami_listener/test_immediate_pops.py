"""Screen-pops leave as soon as their event is handled, independent of the batched DB
flush, and survive a Redis outage without loss or duplicates."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.link import Backoff
from ami_listener.live import LivePublisher
from ami_listener.service import ListenerOptions, ListenerService
from servicedesk.bus import Bus
from servicedesk.config import CentralitaConfig
from servicedesk.models import Call
from tests.ami_listener.harness import configured
from tests.ami_listener.replay_server import ReplayServer
from tests.ami_listener.replay_server import Session as ReplaySession
from tests.ami_listener.test_link_resilience import wait_for

TS = 1795339491.0
LONG_FLUSH = 3600.0  # the database flush never comes due during these tests


def ev(name: str, t: float, uid: str = "9.0", **fields: str) -> bytes:
    base = {"Event": name, "Timestamp": f"{t:.6f}", "Uniqueid": uid, "Linkedid": "9.0"}
    base.update(fields)
    return "".join(f"{k}: {v}\r\n" for k, v in base.items()).encode() + b"\r\n"


def ringing_call(t: float = TS) -> list[bytes]:
    member = {"Queue": "network_es", "Interface": "PJSIP/1001", "MemberName": "Ana López"}
    return [
        ev("QueueMemberAdded", t - 60, **member, Penalty="0", Paused="0"),
        ev("Newchannel", t, CallerIDNum="5550100", CallerIDName="Ana", Exten="8005550100"),
        ev("VarSet", t + 1, Variable="IVR_LANG", Value="es"),
        ev("QueueCallerJoin", t + 2, Queue="network_es", Position="1", CallerIDNum="5550100"),
        ev("AgentCalled", t + 5, **member, DestUniqueid="9.1"),
        ev("AgentConnect", t + 7, **member, DestUniqueid="9.1", HoldTime="5"),
    ]


def service_for(
    cfg: CentralitaConfig,
    port: int,
    factory: sessionmaker[Session] | None,
    client: redis.Redis,
) -> ListenerService:
    options = ListenerOptions(
        flush_interval=LONG_FLUSH,
        command_block_ms=100,
        backoff=Backoff(base=0.02, cap=0.1),
        refused_backoff=Backoff(base=0.5, cap=1.0),
    )
    return ListenerService(
        configured(cfg, port), factory, client, "secret", options, wrapup_for=lambda _q: 0
    )


def pop_types(r: redis.Redis, bus: Bus, login: str) -> list[str]:
    return [f["type"] for _id, f in r.xrange(bus.keys.agent_pops(login))]


def calls_in_db(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(Call)) or 0)


async def test_pop_is_on_the_stream_long_before_the_flush(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    server = ReplayServer([ReplaySession(frames=ringing_call())])
    port = await server.start()
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    service = service_for(example_config, port, session_factory, r)
    await service.start()
    try:
        await wait_for(lambda: pop_types(r, service.bus, "1001") == ["ring", "answer"], 5.0)
        # the agent console's state moved with the pop, before any flush...
        assert r.hget(service.bus.keys.agent_state("1001"), "state") == "oncall"
        # ...and the database has not been written: pops do not wait for the batch
        assert calls_in_db(session_factory) == 0
        assert service.live is not None and service.live.pops_sent == 2
    finally:
        await service.stop()
        await server.close()
    assert calls_in_db(session_factory) == 1  # the batch still reaches the database
    assert pop_types(r, service.bus, "1001") == ["ring", "answer"]  # nothing sent twice


class FlakyProxy:
    """A TCP proxy to Redis, in its own threads (the listener's sends block briefly
    on the event loop, so the proxy must not share it), that can be cut and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.up = threading.Event()
        self.up.set()
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                conn.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._socks += [conn, upstream]
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


async def test_redis_outage_during_a_pop_is_retried_without_loss(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    url = urlsplit(redis_url)
    proxy = FlakyProxy((url.hostname or "127.0.0.1", url.port or 6379))
    direct = redis.Redis.from_url(redis_url, decode_responses=True)
    via_proxy = redis.Redis(  # no client-side retries: the listener's own retry is under test
        host="127.0.0.1", port=proxy.port, decode_responses=True, retry=Retry(NoBackoff(), 0)
    )
    server = ReplayServer([ReplaySession(frames=ringing_call())])
    port = await server.start()
    service = service_for(example_config, port, session_factory, via_proxy)
    live = service.live
    assert live is not None
    proxy.cut()  # Redis unreachable while the call rings and is answered
    await service.start()
    try:
        await wait_for(lambda: live.failures >= 2, 5.0)  # tried, failed, kept retrying
        assert pop_types(direct, service.bus, "1001") == []
        assert len([op for op in live.urgent if op[0] == "pop"]) == 2  # buffered, not lost
        await service.flush()  # the call record reaches the database during the outage
        assert calls_in_db(session_factory) == 1
        proxy.restore()
        await wait_for(lambda: pop_types(direct, service.bus, "1001") == ["ring", "answer"], 5.0)
        assert direct.hget(service.bus.keys.agent_state("1001"), "state") == "oncall"
    finally:
        await service.stop()
        await server.close()
        proxy.close()
    assert pop_types(direct, service.bus, "1001") == ["ring", "answer"]
    assert live.pops_sent == 2


def test_resending_a_half_sent_pipeline_does_not_duplicate_pops(redis_url: str) -> None:
    """A pipeline that reached Redis but whose reply was lost is sent again: the
    per-stream sequence check turns the repeat into a no-op."""
    from ami_listener.agents import AgentTracker
    from ami_listener.calls import CallRecord, Outbox

    r = redis.Redis.from_url(redis_url, decode_responses=True)
    live = LivePublisher(Bus(r))
    out, agents = Outbox(), AgentTracker()
    calls = [CallRecord(linkedid=f"{i}.0", uniqueid=f"{i}.0", started_at=TS) for i in range(3)]
    for call in calls:
        out.pops += [("a1", "ring", call, TS + 1), ("a1", "answer", call, TS + 2)]
    out.pops.append(("a2", "ring", calls[0], TS + 1))
    live.stage_urgent(out, agents)
    sent: list[Any] = list(live.urgent)
    assert live.flush()
    live.urgent.extend(sent[:4])  # as if the reply to the first four was lost
    assert live.flush()
    stream = [(f["call_id"], f["type"]) for _i, f in r.xrange(live.keys.agent_pops("a1"))]
    assert stream == [(c.linkedid, k) for c in calls for k in ("ring", "answer")]
    assert r.xlen(live.keys.agent_pops("a2")) == 1
    assert (live.pops_sent, live.pops_deduplicated) == (7, 4)
    # a new pop after the repeat is still accepted
    out.pops.append(("a1", "end", calls[0], TS + 9))
    live.stage_urgent(out, agents)
    assert live.flush() and r.xlen(live.keys.agent_pops("a1")) == 7
