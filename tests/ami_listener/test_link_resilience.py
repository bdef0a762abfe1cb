"""The AMI link's failure modes: refused login, down link, dead link, drops, restarts."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicedesk.config import CentralitaConfig
from servicedesk.models import Call
from tests.ami_listener.harness import calls_by_uniqueid, configured, drain, make_service
from tests.ami_listener.replay_server import ReplayServer, frames_of
from tests.ami_listener.replay_server import Session as ReplaySession
from tests.servers import free_port


def cut_after(frames: list[bytes], marker: bytes) -> int:
    return next(i for i, f in enumerate(frames) if marker in f) + 1


async def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


async def test_refused_login_backs_off_and_reports(
    example_config: CentralitaConfig, redis_url: str
) -> None:
    server = ReplayServer([ReplaySession(refuse_login=True)])
    port = await server.start()
    service = make_service(configured(example_config, port), None, redis_url)
    await service.start()
    try:
        await wait_for(lambda: service.link.status == "auth_refused")
        await asyncio.sleep(0.2)
        assert server.accepted == 1  # not hammering: the refused backoff is long
        assert "Authentication failed" in service.link.status_detail
        await wait_for(lambda: server.accepted >= 2, timeout=5)  # but it does retry
        r = redis.Redis.from_url(redis_url, decode_responses=True)
        await wait_for(lambda: r.hget(service.status_key, "status") == "auth_refused")
        assert "check the secret" in r.hget(service.status_key, "detail")
    finally:
        await service.stop()
        await server.close()
    assert service.link.logins == 0


async def test_down_link_is_reported_and_retried(example_config: CentralitaConfig) -> None:
    port = free_port()  # nothing listens here
    service = make_service(configured(example_config, port), None, None)
    await service.start()
    try:
        await wait_for(lambda: service.link.history.count("down") >= 3)
        assert "auth_refused" not in service.link.history
        server = ReplayServer([ReplaySession()])
        server_port = await _listen_on(server, port)
        assert server_port == port
        await wait_for(lambda: service.link.status == "up")
        await server.close()
    finally:
        await service.stop()


async def _listen_on(server: ReplayServer, port: int) -> int:
    server._server = await asyncio.start_server(server._handle, "127.0.0.1", port)
    server.port = port
    return port


async def test_silent_link_is_dead_and_reconnects(
    traces_dir: Path, example_config: CentralitaConfig
) -> None:
    frames = frames_of((traces_dir / "member_management" / "ami.raw").read_bytes())
    server = ReplayServer([ReplaySession(frames=frames, after="silent"), ReplaySession()])
    port = await server.start()
    service = make_service(configured(example_config, port), None, None)
    await service.start()
    try:
        await wait_for(lambda: "dead" in service.link.history)
        await wait_for(lambda: service.link.logins == 2)
        assert service.resyncs >= 1
    finally:
        await service.stop()
        await server.close()


async def test_raising_handler_is_isolated(
    traces_dir: Path, example_config: CentralitaConfig, session_factory: sessionmaker[Session]
) -> None:
    frames = frames_of((traces_dir / "answered_caller_hangup" / "ami.raw").read_bytes())
    server = ReplayServer([ReplaySession(frames=frames)])
    port = await server.start()
    service = make_service(configured(example_config, port), session_factory, None)
    seen: list[str] = []

    def broken(msg: dict) -> None:  # type: ignore[type-arg]
        seen.append(str(msg.get("Event")))
        raise RuntimeError("plugin bug")

    service.ingest.listeners.append(broken)
    original = service.link.on_event

    def also_broken(msg: dict) -> None:  # type: ignore[type-arg]
        original(msg)
        if msg.get("Event") == "Newchannel":
            raise ValueError("callback bug")

    service.link.on_event = also_broken
    await service.start()
    try:
        await drain(service, server)
        assert service.link.status == "up"
    finally:
        await service.stop()
        await server.close()
    assert service.ingest.handler_errors == len(seen) > 10
    assert service.link.callback_errors == 3
    assert server.accepted == 1
    call = calls_by_uniqueid(session_factory)["1795339491.0"]
    assert (call.outcome, call.talk_seconds) == ("answered", 5)


async def test_drop_mid_call_completes_from_queue_log(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    """The link drops after AgentConnect; the call ends unseen; queue_log completes it."""
    trace = traces_dir / "answered_caller_hangup"
    frames = frames_of((trace / "ami.raw").read_bytes())
    cut = cut_after(frames, b"Event: AgentConnect")
    queue_log = tmp_path / "queue_log"
    shutil.copy(trace / "queue_log", queue_log)
    server = ReplayServer(
        [ReplaySession(frames=frames[:cut], after="close"), ReplaySession(frames=frames[-1:])]
    )
    port = await server.start()
    service = make_service(configured(example_config, port, str(queue_log)), session_factory, None)
    await service.start()
    try:
        await wait_for(lambda: service.link.logins == 2 and service.resyncs == 2)
        await drain(service, server)
    finally:
        await service.stop()
        await server.close()
    assert "lost" in service.link.history
    calls = calls_by_uniqueid(session_factory)
    assert list(calls) == ["1795339491.0"]
    call = calls["1795339491.0"]
    assert (call.outcome, call.hold_seconds, call.talk_seconds, call.hung_up_by) == (
        "answered",
        3,
        5,
        "caller",
    )
    assert call.agent_login == "agent1" and call.source == "queue_log"
    assert call.ended_at is not None and int(call.ended_at.timestamp()) == 1795339499
    assert {r.agent_login: r.result for r in call.rings} == {
        "agent1": "answered",
        "agent2": "canceled",
    }


async def test_listener_restart_mid_call_no_loss_no_duplicate(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    redis_url: str,
) -> None:
    """A listener process stops while a caller waits; a new one finishes the record."""
    trace = traces_dir / "abandoned"
    frames = frames_of((trace / "ami.raw").read_bytes())
    cut = cut_after(frames, b"Event: AgentCalled")
    queue_log = tmp_path / "queue_log"
    shutil.copy(trace / "queue_log", queue_log)
    first = ReplayServer([ReplaySession(frames=frames[:cut])])
    port = await first.start()
    cfg = configured(example_config, port, str(queue_log))
    service = make_service(cfg, session_factory, redis_url)
    await service.start()
    await drain(service, first)
    await service.stop()
    await first.close()
    with session_factory() as s:
        (row,) = s.scalars(select(Call)).all()
        assert row.outcome is None and row.ended_at is None and row.caller_name == "José Pérez"

    second = ReplayServer([ReplaySession(frames=frames[-1:])])
    port2 = await second.start()
    service2 = make_service(
        configured(example_config, port2, str(queue_log)), session_factory, redis_url
    )
    await service2.start()
    try:
        await wait_for(lambda: service2.resyncs == 1)
        await drain(service2, second)
    finally:
        await service2.stop()
        await second.close()
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 1
    call = calls_by_uniqueid(session_factory)["1795339552.0"]
    assert (call.outcome, call.hold_seconds, call.hung_up_by) == ("abandoned", 8, "caller")
    assert call.caller_name == "José Pérez"
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    assert r.hlen(service2.bus.keys.queue_waiting("support")) == 0


async def test_replaying_twice_gives_the_same_records(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    from tests.ami_listener.test_trace_replay import replay

    def snapshot() -> list[tuple]:  # type: ignore[type-arg]
        with session_factory() as s:
            rows = s.scalars(select(Call).order_by(Call.linkedid)).all()
            out = []
            for c in rows:
                rings = sorted((r.member, r.started_at, r.result, r.ring_ms) for r in c.rings)
                out.append(
                    (
                        c.linkedid,
                        c.outcome,
                        c.hold_seconds,
                        c.talk_seconds,
                        c.hung_up_by,
                        c.entered_queue_at,
                        c.answered_at,
                        c.ended_at,
                        c.caller_name,
                        tuple(rings),
                    )
                )
            return out

    _c, service = await replay(traces_dir / "load_mix", example_config, session_factory, redis_url)
    first = snapshot()
    counters = redis.Redis.from_url(redis_url, decode_responses=True).hgetall(
        service.bus.keys.counters("2026-11-22", "support")
    )
    _c, service = await replay(traces_dir / "load_mix", example_config, session_factory, redis_url)
    assert snapshot() == first and len(first) == 40
    again = redis.Redis.from_url(redis_url, decode_responses=True).hgetall(
        service.bus.keys.counters("2026-11-22", "support")
    )
    assert again == counters  # idempotent counters: nothing counted twice


def live_at(trace: Path, upto: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """What CoreShowChannels and QueueStatus would have said after `upto` messages."""
    import json

    channels: dict[str, str] = {}
    members: dict[str, dict[str, str]] = {}
    waiting: dict[str, dict[str, str]] = {}
    for i, line in enumerate((trace / "ami.jsonl").open(encoding="utf-8")):
        if i >= upto:
            break
        m = json.loads(line)
        ev = m.get("Event")
        if ev == "Newchannel":
            channels[m["Uniqueid"]] = m["Linkedid"]
        elif ev == "Hangup":
            channels.pop(m["Uniqueid"], None)
        elif ev == "QueueMemberAdded":
            members[m["Interface"]] = {
                "Event": "QueueMember",
                "Queue": m["Queue"],
                "Name": m["MemberName"],
                "Location": m["Interface"],
                "Penalty": m["Penalty"],
                "Paused": "0",
                "PausedReason": "",
                "LoginTime": m["LoginTime"],
            }
        elif ev == "QueueCallerJoin":
            waiting[m["Uniqueid"]] = {
                "Event": "QueueEntry",
                "Queue": m["Queue"],
                "Uniqueid": m["Uniqueid"],
                "CallerIDNum": m["CallerIDNum"],
                "CallerIDName": m["CallerIDName"],
                "Position": m["Position"],
                "Wait": "0",
            }
        elif ev == "QueueCallerLeave":
            waiting.pop(m["Uniqueid"], None)
    core = [
        {"Event": "CoreShowChannel", "Uniqueid": u, "Linkedid": lid} for u, lid in channels.items()
    ]
    return core, list(members.values()) + list(waiting.values())


async def test_load_mix_drop_and_gap_reconciled(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    """The link drops at 40 % of load_mix and comes back at 55 %: every call is complete."""
    from tests.ami_listener.harness import queue_log_calls

    trace = traces_dir / "load_mix"
    frames = frames_of((trace / "ami.raw").read_bytes())
    drop, back = int(len(frames) * 0.40), int(len(frames) * 0.55)
    core, status = live_at(trace, back)
    queue_log = tmp_path / "queue_log"
    shutil.copy(trace / "queue_log", queue_log)
    server = ReplayServer(
        [
            ReplaySession(frames=frames[:drop], after="close"),
            ReplaySession(frames=frames[back:], core_channels=core, queue_status=status),
        ]
    )
    port = await server.start()
    service = make_service(
        configured(example_config, port, str(queue_log)), session_factory, None, wrapup=2
    )
    await service.start()
    try:
        await wait_for(lambda: service.resyncs == 2, timeout=20)
        await drain(service, server)
    finally:
        await service.stop()
        await server.close()
    assert service.reconciled > 0
    calls = calls_by_uniqueid(session_factory)
    expected = queue_log_calls(trace / "queue_log")
    assert set(calls) == set(expected)
    for uid, exp in expected.items():
        call = calls[uid]
        got = (call.outcome, call.hold_seconds, call.ended_at is not None)
        assert got == (exp["outcome"], exp["hold"], True), uid
        if exp["outcome"] == "answered":
            assert (call.talk_seconds, call.hung_up_by, call.agent_member) == (
                exp["talk"],
                exp["hung_up_by"],
                exp["agent"],
            ), uid


async def test_drop_reconciled_from_queue_log_table(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
) -> None:
    """Same drop, with queue_log in the realtime table (datetime `time` column)."""
    from datetime import UTC, datetime

    from servicedesk.models import QueueLogEntry

    trace = traces_dir / "exit_timeout"
    with session_factory() as s:
        for line in (trace / "queue_log").read_text().splitlines():
            epoch, callid, queue, agent, event, *data = line.split("|")
            data = (data + [""] * 5)[:5]
            when = datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            s.add(
                QueueLogEntry(
                    time=when,
                    callid=callid,
                    queuename=queue,
                    agent=agent,
                    event=event,
                    data1=data[0],
                    data2=data[1],
                    data3=data[2],
                    data4=data[3],
                    data5=data[4],
                )
            )
        s.commit()
    frames = frames_of((trace / "ami.raw").read_bytes())
    cut = cut_after(frames, b"Event: AgentCalled")
    server = ReplayServer(
        [ReplaySession(frames=frames[:cut], after="close"), ReplaySession(frames=frames[-1:])]
    )
    port = await server.start()
    cfg = configured(example_config, port)
    conn = cfg.connections
    cfg = cfg.model_copy(
        update={
            "connections": conn.model_copy(
                update={
                    "queue_log": conn.queue_log.model_copy(update={"path": None, "table": True})
                }
            )
        }
    )
    service = make_service(cfg, session_factory, None)
    await service.start()
    try:
        await wait_for(lambda: service.resyncs == 2)
        await drain(service, server)
    finally:
        await service.stop()
        await server.close()
    call = calls_by_uniqueid(session_factory)["1795339571.0"]
    assert (call.outcome, call.hold_seconds, call.hung_up_by, call.source) == (
        "timeout",
        10,
        "system",
        "queue_log",
    )
    assert int(call.ended_at.timestamp()) == 1795339581


async def test_restart_resync_keeps_agent_sessions_single(
    traces_dir: Path, example_config: CentralitaConfig, session_factory: sessionmaker[Session]
) -> None:
    """A restarted listener learns the members from QueueStatus: same sessions, no ghosts."""
    from servicedesk.models import AgentSession, AgentStateChange

    trace = traces_dir / "answered_caller_hangup"
    frames = frames_of((trace / "ami.raw").read_bytes())
    _core, status = live_at(trace, 10_000)
    members = [m for m in status if m["Event"] == "QueueMember"]
    server = ReplayServer([ReplaySession(frames=frames)])
    port = await server.start()
    service = make_service(configured(example_config, port), session_factory, None)
    await service.start()
    await drain(service, server)
    await service.stop()
    await server.close()

    again = ReplayServer([ReplaySession(queue_status=members)])
    port = await again.start()
    service = make_service(configured(example_config, port), session_factory, None)
    await service.start()
    try:
        await wait_for(lambda: service.resyncs == 1)
        await service.flush()
    finally:
        await service.stop()
        await again.close()
    with session_factory() as s:
        sessions = s.scalars(select(AgentSession)).all()
        kinds = s.scalars(
            select(AgentStateChange.kind).where(AgentStateChange.kind == "login")
        ).all()
    assert sorted(x.agent_login for x in sessions) == ["agent1", "agent2"]
    assert all(x.logout_at is None for x in sessions) and len(kinds) == 2
    assert service.ingest.agents.queue_figures("support") == (2, 2)
