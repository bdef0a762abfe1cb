"""The server under hostile or broken Asterisk-side behaviour: it never spins, leaks or mis-pairs."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from ivr.agi_protocol import ChannelHungUp
from ivr.fastagi_server import MAX_LINE_BYTES, FastAgiServer, FastAgiSession
from tests.ivr.fake_asterisk import default_env

ENV = "".join(f"{k}: {v}\n" for k, v in default_env().items()) + "\n"


async def start(handlers, **kw) -> FastAgiServer:
    kw.setdefault("command_timeout", 2.0)
    server = FastAgiServer(handlers, port=0, **kw)
    await server.start()
    return server


async def until(cond, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def connect(server: FastAgiServer):
    return await asyncio.open_connection("127.0.0.1", server.port)


async def test_close_before_headers_end_is_dropped_without_spinning() -> None:
    calls: list[FastAgiSession] = []

    async def handler(s: FastAgiSession) -> None:
        calls.append(s)

    server = await start({"ivr": handler})
    try:
        _, w = await connect(server)
        w.write(b"agi_network: yes\nagi_network_script: ivr\nagi_uni")
        await w.drain()
        await until(lambda: len(server.connections) == 1)
        w.close()
        await until(lambda: not server.connections, 1.0)
        cpu0 = time.process_time()
        await asyncio.sleep(0.3)
        assert time.process_time() - cpu0 < 0.1  # nothing left running
        assert calls == [] and server.completed == 0
    finally:
        await server.shutdown(1)


async def test_silent_client_is_closed_after_header_timeout() -> None:
    server = await start({}, command_timeout=0.2)
    try:
        r, _ = await connect(server)
        assert await asyncio.wait_for(r.read(), 2) == b""
        await until(lambda: not server.connections)
    finally:
        await server.shutdown(1)


async def test_overlong_line_and_header_flood_are_cut() -> None:
    server = await start({})
    try:
        r, w = await connect(server)
        w.write(b"agi_x: " + b"a" * (MAX_LINE_BYTES + 10))
        assert await asyncio.wait_for(r.read(), 2) == b""
        r, w = await connect(server)
        w.write(b"".join(b"agi_h%d: v\n" % i for i in range(500)))
        assert await asyncio.wait_for(r.read(), 2) == b""
        await until(lambda: not server.connections)
        assert server.completed == 0
    finally:
        await server.shutdown(1)


async def test_connection_lost_mid_command_ends_session_promptly(caplog) -> None:
    server = await start({"ivr": lambda s: s.stream_file("centralita/welcome")})
    caplog.set_level(logging.INFO, logger="centralita.ivr.calls")
    try:
        r, w = await connect(server)
        w.write(ENV.encode())
        assert (await r.readline()).startswith(b"STREAM FILE")
        w.close()
        await until(lambda: server.completed == 1, 1.0)
    finally:
        await server.shutdown(1)
    rec = json.loads(caplog.records[-1].getMessage())
    assert rec["outcome"] == "connection_lost" and rec["uniqueid"] == "1795339738.0"


async def test_garbage_and_unsolicited_replies_never_pair() -> None:
    got: list[object] = []

    async def handler(s: FastAgiSession) -> None:
        got.append(await s.get_variable("A"))
        got.append(await s.get_variable("B"))

    server = await start({"ivr": handler})
    try:
        r, w = await connect(server)
        w.write(ENV.encode())
        assert await r.readline() == b'GET VARIABLE "A"\n'
        # noise, then the real reply, then an unsolicited reply and more noise
        w.write(
            b"garbage\n\n200 nonsense\n999x\n\xff\xfe\n200 result=1 (alpha)\n200 result=1 (EVIL)\nzzz\n"
        )
        assert await r.readline() == b'GET VARIABLE "B"\n'
        w.write(b"200 result=1 (beta)\n")
        assert await asyncio.wait_for(r.read(), 2) == b""
        w.close()
        await until(lambda: server.completed == 1)
    finally:
        await server.shutdown(1)
    assert got == ["alpha", "beta"]


async def test_replies_split_byte_by_byte_and_crlf() -> None:
    got: list[object] = []

    async def handler(s: FastAgiSession) -> None:
        got.append(await s.get_data("beep", 3000, 4))
        try:
            await s.command("GET DATA")
        except Exception as exc:  # AgiCommandError carrying the usage text
            got.append(type(exc).__name__)
        got.append(await s.get_variable("X"))

    server = await start({"ivr": handler})
    try:
        r, w = await connect(server)
        for b in ENV.encode():
            w.write(bytes([b]))
        await r.readline()
        for b in b"200 result=12 (timeout)\r\n":
            w.write(bytes([b]))
            await w.drain()
        await r.readline()
        w.write(
            b"520-Invalid command syntax.  Proper usage follows:\n"
            b"Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
        )
        await w.drain()
        await asyncio.sleep(0.05)
        w.write(b"Returns the digits.\n520 End of proper usage.\n")
        await r.readline()
        w.write(b"200 result=1 (x)\n")
        await asyncio.wait_for(r.read(), 2)
        w.close()
        await until(lambda: server.completed == 1)
    finally:
        await server.shutdown(1)
    assert got == ["12", "AgiCommandError", "x"]


async def test_inline_hangup_then_511_stops_flow() -> None:
    seen: dict[str, object] = {}

    async def handler(s: FastAgiSession) -> None:
        try:
            await s.stream_file("centralita/main_menu", "123")
        except ChannelHungUp:
            seen["first"] = "hangup"
        seen["dead"] = s.dead
        await s.verbose("caller went away")
        await s.set_variable("CENTRALITA_ACTION", "hangup")
        await s.exec("Playback", "beep")
        try:
            await s.say_digits("42")
        except ChannelHungUp:
            seen["say"] = "refused locally"

    server = await start({"ivr": handler})
    try:
        r, w = await connect(server)
        w.write(ENV.encode())
        await r.readline()
        w.write(b"200 result=-1\n")
        await w.drain()
        await asyncio.sleep(0.04)  # Asterisk sends HANGUP ~40 ms after the result
        w.write(b"HANGUP\n")
        lines = []
        for _ in range(3):
            lines.append(await r.readline())
            w.write(b"200 result=1\n")
        assert lines == [
            b'VERBOSE "caller went away" "1"\n',
            b'SET VARIABLE "CENTRALITA_ACTION" "hangup"\n',
            b'EXEC "Playback" "beep"\n',
        ]
        assert await asyncio.wait_for(r.read(), 2) == b""
        w.close()
        await until(lambda: server.completed == 1)
    finally:
        await server.shutdown(1)
    assert seen == {"first": "hangup", "dead": True, "say": "refused locally"}


async def test_511_without_prior_hangup_marks_dead() -> None:
    seen: list[object] = []

    async def handler(s: FastAgiSession) -> None:
        with pytest.raises(ChannelHungUp):
            await s.wait_for_digit(1000)
        seen.append(s.dead)

    server = await start({"ivr": handler})
    try:
        r, w = await connect(server)
        w.write(ENV.encode())
        await r.readline()
        w.write(b"511 Command Not Permitted on a dead channel or intercept routine\n")
        await asyncio.wait_for(r.read(), 2)
        w.close()
        await until(lambda: server.completed == 1)
    finally:
        await server.shutdown(1)
    assert seen == [True]


async def test_command_timeout_ends_session_and_late_reply_is_not_paired(caplog) -> None:
    caplog.set_level(logging.INFO, logger="centralita.ivr.calls")
    sent_after: list[object] = []

    async def handler(s: FastAgiSession) -> None:
        await s.get_variable("SLOW")
        sent_after.append("never")

    server = await start({"ivr": handler}, command_timeout=0.2)
    try:
        r, w = await connect(server)
        w.write(ENV.encode())
        await r.readline()
        assert await asyncio.wait_for(r.read(), 3) == b""  # half-closed after the timeout
        w.write(b"200 result=1 (late)\n")
        w.close()
        await until(lambda: server.completed == 1)
    finally:
        await server.shutdown(1)
    assert sent_after == []
    assert json.loads(caplog.records[-1].getMessage())["outcome"] == "timeout"


async def test_session_limit_cancels_a_stuck_flow(caplog) -> None:
    caplog.set_level(logging.INFO, logger="centralita.ivr.calls")

    async def handler(s: FastAgiSession) -> None:
        while True:
            await s.wait_for_digit(100)

    server = await start({"ivr": handler}, session_limit=0.3)
    try:
        r, w = await connect(server)
        w.write(ENV.encode())
        t0 = time.monotonic()
        while True:
            line = await asyncio.wait_for(r.readline(), 3)
            if not line:
                break
            w.write(b"200 result=0\n")
        assert time.monotonic() - t0 < 2.0
        w.close()
        await until(lambda: server.completed == 1)
    finally:
        await server.shutdown(1)
    assert json.loads(caplog.records[-1].getMessage())["outcome"] == "session_limit"


async def test_unknown_script_says_so_and_returns() -> None:
    server = await start({"ivr": lambda s: s.answer()})
    try:
        r, w = await connect(server)
        w.write(ENV.replace("agi_network_script: ivr", "agi_network_script: nope").encode())
        line = await r.readline()
        assert line == b'VERBOSE "centralita: unknown FastAGI script \'nope\'" "1"\n'
        w.write(b"200 result=1\n")
        assert await asyncio.wait_for(r.read(), 2) == b""
        w.close()
    finally:
        await server.shutdown(1)


async def test_flood_beyond_concurrency_gets_polite_close() -> None:
    release = asyncio.Event()
    busy_seen: list[str] = []

    async def slow(s: FastAgiSession) -> None:
        await s.get_variable("HOLD")

    async def busy(s: FastAgiSession) -> None:
        busy_seen.append(s.env["agi_uniqueid"])
        await s.verbose("busy")

    server = await start({"ivr": slow}, max_sessions=3, busy_handler=busy)
    conns = []
    try:
        for i in range(12):
            r, w = await connect(server)
            w.write(ENV.replace("1795339738.0", f"u{i}").encode())
            conns.append((r, w))
        first = [await asyncio.wait_for(r.readline(), 2) for r, _ in conns]
        holding = [i for i, line in enumerate(first) if line.startswith(b"GET VARIABLE")]
        polite = [i for i, line in enumerate(first) if line.startswith(b"VERBOSE")]
        assert len(holding) == 3 and len(polite) == 9
        for i in polite:
            conns[i][1].write(b"200 result=1\n")
            assert await asyncio.wait_for(conns[i][0].read(), 2) == b""
        assert server.active == 3
        release.set()
        for i in holding:
            conns[i][1].write(b"200 result=1 (x)\n")
            assert await asyncio.wait_for(conns[i][0].read(), 2) == b""
        await until(lambda: server.completed == 12 and server.active == 0)
    finally:
        for _, w in conns:
            w.close()
        await server.shutdown(1)
    assert len(busy_seen) == 9


async def test_graceful_shutdown_lets_sessions_finish_then_refuses() -> None:
    finished: list[str] = []

    async def handler(s: FastAgiSession) -> None:
        await s.get_variable("X")
        finished.append(s.env["agi_uniqueid"])

    server = await start({"ivr": handler})
    r, w = await connect(server)
    w.write(ENV.encode())
    await r.readline()
    stopping = asyncio.create_task(server.shutdown(grace=2))
    await asyncio.sleep(0.1)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", server.port)
    w.write(b"200 result=1 (v)\n")
    assert await asyncio.wait_for(r.read(), 2) == b""
    w.close()
    await asyncio.wait_for(stopping, 5)
    assert finished == ["1795339738.0"]


async def test_shutdown_grace_expiry_cancels_stuck_sessions(caplog) -> None:
    caplog.set_level(logging.INFO, logger="centralita.ivr.calls")
    server = await start({"ivr": lambda s: s.get_variable("X")}, command_timeout=30)
    r, w = await connect(server)
    w.write(ENV.encode())
    await r.readline()
    t0 = time.monotonic()
    await server.shutdown(grace=0.2)
    assert time.monotonic() - t0 < 4
    w.close()
    assert json.loads(caplog.records[-1].getMessage())["outcome"] == "shutdown"
