"""No task dies in silence (issue 9): crashes logged and restarted, commands always answered,
stop() writes what is staged (a flush it cancels included), oversized AMI frames dropped with
resynchronisation."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from sqlalchemy.orm import Session, sessionmaker

from ami_listener import service as service_mod
from ami_listener.link import Backoff
from ami_listener.parser import AmiParser
from ami_listener.service import ListenerOptions, ListenerService
from servicedesk import metrics
from servicedesk.bus import Bus
from servicedesk.config import CentralitaConfig
from tests.ami_listener.harness import calls_by_uniqueid, configured, drain, make_service
from tests.ami_listener.replay_server import ReplayServer, frames_of
from tests.ami_listener.replay_server import Session as ReplaySession
from tests.ami_listener.test_link_resilience import wait_for

TRACES = Path(__file__).parents[1] / "data" / "asterisk-traces"


def _command(bus: Bus, **fields: str) -> None:
    bus.publish(bus.keys.commands, fields)


async def test_bad_command_gets_an_error_and_the_next_one_runs(
    example_config: CentralitaConfig, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def responder(action: dict[str, str]) -> list[dict[str, str]]:
        return [{"Response": "Success", "Message": f"{action['Action']} done"}]

    server = ReplayServer([ReplaySession()], responder=responder)
    port = await server.start()
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    bus = Bus(r)
    add = {"action": "QueueAdd", "queue": "network_es", "interface": "PJSIP/1001"}
    _command(bus, id="sup2", **add, penalty="²")  # str.isdigit() is true for it
    _command(bus, id="sup3", **add, penalty="9" * 30)
    for i, bad in enumerate(("a\x0bb", "a\x0cb", "a\x85b", "a\u2028b", "lunch|PAUSEALL")):
        _command(
            bus,
            id=f"text{i}",
            action="QueuePause",
            interface="PJSIP/1001",
            paused="true",
            reason=bad,
        )
    _command(bus, id="boom", **add, penalty="1")  # raises inside the executor (below)
    _command(bus, id="good", **add, penalty="3", member_name="Ana López")
    real = service_mod.to_action

    def exploding(fields: dict[str, str]) -> dict[str, str]:
        if fields.get("id") == "boom":
            raise KeyError("surprise")
        return real(fields)

    monkeypatch.setattr(service_mod, "to_action", exploding)
    service = make_service(configured(example_config, port), None, redis_url)
    await service.start()
    try:
        await wait_for(lambda: r.xlen(bus.keys.command_results) == 9)
    finally:
        await service.stop()
    results = {f["id"]: f for _i, f in r.xrange(bus.keys.command_results)}
    assert results["good"]["response"] == "Success"
    bad = [k for k in results if k != "good"]
    assert all(results[k]["response"] == "Error" for k in bad)
    assert "penalty" in results["sup2"]["message"] and "internal" in results["boom"]["message"]
    sent = [a for a in server.actions if a.get("Action") in ("QueueAdd", "QueuePause")]
    assert [(a["Action"], a.get("Penalty")) for a in sent] == [("QueueAdd", "3")]
    assert service.command_errors == 1
    # the cursor moved past every entry: a restarted listener executes nothing again
    service2 = make_service(configured(example_config, port), None, redis_url)
    await service2.start()
    await asyncio.sleep(0.4)
    await service2.stop()
    await server.close()
    assert service2.commands_done == 0 and r.xlen(bus.keys.command_results) == 9


async def test_flusher_crash_is_logged_once_and_restarted(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    frames = frames_of((traces_dir / "answered_caller_hangup" / "ami.raw").read_bytes())
    server = ReplayServer([ReplaySession(frames=frames)])
    port = await server.start()
    service = make_service(configured(example_config, port), session_factory, redis_url)
    real = service.ingest.collect
    calls = {"n": 0}

    def collect_once_broken():  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("flusher bug")
        return real()

    service.ingest.collect = collect_once_broken  # type: ignore[method-assign]
    before = metrics.get("task.flusher.crashes")
    caplog.set_level(logging.ERROR, "centralita.supervise")
    await service.start()
    try:
        await wait_for(lambda: calls["n"] >= 1)  # the flusher met the bug
        await drain(service, server)
        await wait_for(lambda: calls["n"] >= 3)  # it came back and flushes again
    finally:
        await service.stop()
        await server.close()
    crashes = [r for r in caplog.records if "task flusher crashed" in r.getMessage()]
    assert len(crashes) == 1 and crashes[0].exc_info is not None
    assert metrics.get("task.flusher.crashes") == before + 1
    assert service.failure is None
    assert calls_by_uniqueid(session_factory)["1795339491.0"].outcome == "answered"


async def test_a_task_that_keeps_crashing_fails_the_service(
    example_config: CentralitaConfig, redis_url: str
) -> None:
    server = ReplayServer([ReplaySession()])
    port = await server.start()
    service = make_service(configured(example_config, port), None, redis_url)

    async def broken() -> None:
        raise RuntimeError("always")

    service._ticker = broken  # type: ignore[method-assign]
    await service.start()
    try:
        await asyncio.wait_for(service.failed.wait(), 15)
    finally:
        await service.stop()
        await server.close()
    assert service.failure is not None and "wrapup-ticker" in service.failure


async def test_stop_writes_what_is_staged(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
) -> None:
    """No flush happens while running (a long interval); stop() still writes every call."""
    frames = frames_of((traces_dir / "exit_timeout" / "ami.raw").read_bytes())
    server = ReplayServer([ReplaySession(frames=frames)])
    port = await server.start()
    options = ListenerOptions(
        flush_interval=3600, flush_max=10**9, backoff=Backoff(0.02, 0.1), command_block_ms=100
    )
    service = ListenerService(
        configured(example_config, port), session_factory, None, "secret", options
    )
    await service.start()
    try:
        await asyncio.wait_for(server.streamed.wait(), 20)
        await wait_for(lambda: service.link.bytes_in >= sum(server.bytes_sent))
        assert calls_by_uniqueid(session_factory) == {}
    finally:
        await service.stop()
        await server.close()
    assert {c.outcome for c in calls_by_uniqueid(session_factory).values()} == {"timeout"}


async def test_a_flush_cancelled_by_stop_still_writes_its_batch(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
) -> None:
    """stop() cancels the flusher; if that flush had collected the call's last changes but
    its write still waited for a worker thread, the batch was dropped: the row kept the
    snapshot from before the end (the e2e run with a call transferred twice found
    talk_seconds None). The collected batch is written, and before stop()'s own flush."""
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(1)  # one worker, kept busy below: the write has to wait
    loop.set_default_executor(pool)
    trace = TRACES / "calling_atxfer_complete"
    frames = frames_of((trace / "ami.raw").read_bytes())
    last = max(i for i, f in enumerate(frames) if b"Event: AgentComplete\r\n" in f)
    service = make_service(configured(example_config, 1), session_factory, None)
    service.ingest.feed(b"".join(frames[:last]))  # transferred, the consulted agent talking
    await service.flush()
    (mid,) = calls_by_uniqueid(session_factory).values()
    assert (mid.outcome, mid.talk_seconds, mid.ended_at) == ("transferred", None, None)
    service.ingest.feed(b"".join(frames[last:]))  # the consulted agent hangs up: call over
    assert not service.ingest.calls.calls
    gate = threading.Event()
    busy = loop.run_in_executor(None, gate.wait)
    flusher = asyncio.create_task(service.flush(), name="flusher")
    while service.ingest.pending():  # the flusher collected the batch and awaits its write
        await asyncio.sleep(0)
    service._tasks = [flusher]
    stopping = asyncio.create_task(service.stop())
    await asyncio.sleep(0.2)  # stop() has cancelled the flusher
    gate.set()
    await busy
    await asyncio.wait_for(stopping, 10)
    pool.shutdown()
    assert flusher.cancelled()
    ql = [x.split("|") for x in (trace / "queue_log").read_text().splitlines()]
    transfer = next(p for p in ql if p[4] == "ATTENDEDTRANSFER")
    final = next(p for p in ql if p[4].startswith("COMPLETE"))
    (row,) = calls_by_uniqueid(session_factory).values()
    assert (row.outcome, row.agent_member) == ("transferred", final[3])
    assert row.talk_seconds == int(transfer[8]) + int(final[6])
    assert row.ended_at is not None and row.hung_up_by == "agent"


def test_oversized_frame_is_dropped_and_the_parser_resynchronises(
    caplog: pytest.LogCaptureFixture,
) -> None:
    parser = AmiParser(max_frame=4096)
    parser.feed(b"Asterisk Call Manager/6.0.0\r\n")
    good = b"Event: Hangup\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n"
    caplog.set_level(logging.WARNING, "ami_listener.parser")
    out = parser.feed(good)
    for _ in range(300):  # 3 MB of a frame that never ends, in TCP-sized reads
        out += parser.feed(b"X-Junk: " + b"y" * 10_000)
        assert len(parser._buf) <= 4096 + 10_008  # bounded, whatever arrives
    out += parser.feed(b"\r\n\r\n" + good)
    assert [m["Uniqueid"] for m in out] == ["1.1", "1.1"]
    assert parser.oversized == 1
    assert sum("dropped" in r.getMessage() for r in caplog.records) == 1
    # a whole oversized frame in one read is dropped too; its neighbours are kept
    big = b"Event: Hangup\r\nX: " + b"z" * 5000 + b"\r\n\r\n"
    assert [m["Event"] for m in parser.feed(good + big + good)] == ["Hangup", "Hangup"]
    assert parser.oversized == 2


def test_max_frame_comes_from_the_config(example_config: CentralitaConfig) -> None:
    conn = example_config.connections
    ami = conn.ami.model_copy(update={"max_frame_bytes": 8192})
    cfg = example_config.model_copy(update={"connections": conn.model_copy(update={"ami": ami})})
    service = ListenerService(cfg, None, None, "secret")
    assert service.ingest.parser.max_frame == 8192
    assert example_config.connections.ami.max_frame_bytes == 1 << 20
