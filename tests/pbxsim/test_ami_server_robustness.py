"""Bad input to the AMI server (issue 3 item 7): it answers like Asterisk or closes, never dies.

Each test ends by proving that a fresh client can still log in and ping.
"""

from __future__ import annotations

import asyncio
import socket

from pbxsim import ami_protocol as p
from pbxsim.ami_server import AmiServer
from tests.pbxsim import test_ami_server as base
from tests.pbxsim.test_ami_server import SECRET, Client

# the same fixtures as the main AMI server tests
pbx = base.pbx
make_server = base.make_server
server = base.server


async def still_serves(server: AmiServer) -> None:
    c = await Client.connect(server)
    await c.login(events="off")
    await c.send(("Action", "Ping"), ("ActionID", "alive"))
    assert (await c.read_message())["Ping"] == "Pong"
    await c.close()


async def test_line_too_long_is_answered_like_asterisk_and_session_continues(server):
    c = await Client.connect(server)
    await c.login(events="off")
    await c.send_raw(b"Action: Ping\r\nActionID: long\r\nX-Junk: " + b"A" * 100_000 + b"\r\n\r\n")
    assert await c.read_message() == {
        "Response": "Error",
        "ActionID": "long",
        "Message": "Failed to parse message: line too long",
    }
    # the 1024-byte limit is Asterisk's: 1022 bytes + CRLF still fit
    await c.send_raw(
        b"Action: Ping\r\nActionID: " + b"B" * (1022 - len("ActionID: ")) + b"\r\n\r\n"
    )
    assert (await c.read_message())["Ping"] == "Pong"
    await c.send(("Action", "Ping"), ("ActionID", "after"))
    assert (await c.read_message())["ActionID"] == "after"
    await c.close()
    await still_serves(server)


async def test_too_many_lines_in_one_message(server, pbx):
    c = await Client.connect(server)
    await c.login(events="off")
    lines = b"".join(b"Variable: v%d=1\r\n" % i for i in range(200))
    await c.send_raw(b"Action: QueueStatus\r\nActionID: many\r\n" + lines + b"\r\n")
    assert await c.read_message() == {
        "Response": "Error",
        "ActionID": "many",
        "Message": "Too many lines in message or allocation failure",
    }
    assert all(name != "QueueStatus" for name, _ in pbx.actions)
    await c.close()
    await still_serves(server)


async def test_lines_without_colon_and_bare_lf_and_case_insensitive_names(server):
    c = await Client.connect(server)
    await c.send_raw(
        b"this line has no colon\nACTION:   Login\nusername: ceo\nSECRET: "
        + SECRET.encode()
        + b"\nEvents: off\n\n"
    )
    assert (await c.read_message())["Message"] == "Authentication accepted"
    # a blank line alone is a message without Action, as in Asterisk
    await c.send_raw(b"\r\n")
    assert await c.read_message() == {"Response": "Error", "Message": "Missing action in request"}
    await c.close()


async def test_binary_garbage_and_invalid_utf8_never_crash(server, pbx):
    c = await Client.connect(server)
    await c.login(events="off")
    garbage = bytes(range(256)) * 40  # NULs, lone CRs, 0xff, several LFs
    await c.send_raw(garbage + b"\r\n\r\n")
    await c.send_raw(b"Action: QueueStatus\r\nActionID: \xff\xfe\xc3\r\nQueue: \xe9t\xe9\r\n\r\n")
    msgs = await c.read_until(lambda m: m.get("Event") == "QueueStatusComplete")
    assert msgs[-1]["ActionID"] == "\ufffd\ufffd\ufffd"
    name, headers = pbx.actions[-1]
    assert name == "QueueStatus" and ("Queue", "\ufffdt\ufffd") in headers
    await c.close()
    await still_serves(server)


async def test_silent_client_is_closed_after_authtimeout(make_server):
    server = await make_server(authtimeout=0.2)
    c = await Client.connect(server)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await c.at_eof(timeout=5)
    assert 0.15 < loop.time() - t0 < 3
    assert bytes(c.raw) == b"Asterisk Call Manager/11.0.0\r\n"
    # a logged-in client is not subject to it
    ok = await Client.connect(server)
    await ok.login(events="off")
    await asyncio.sleep(0.4)
    await ok.send(("Action", "Ping"))
    assert (await ok.read_message())["Ping"] == "Pong"
    await ok.close()


async def test_half_closed_client_gets_its_answers_then_close(server):
    c = await Client.connect(server)
    await c.send_raw(
        f"Action: Login\r\nUsername: ceo\r\nSecret: {SECRET}\r\nEvents: off\r\n\r\n"
        "Action: Ping\r\nActionID: h1\r\n\r\nAction: Ping\r\nActionID: h2\r\n\r\n".encode()
    )
    c.writer.write_eof()
    assert (await c.read_message())["Message"] == "Authentication accepted"
    assert (await c.read_message())["ActionID"] == "h1"
    assert (await c.read_message())["ActionID"] == "h2"
    assert await c.at_eof()
    await still_serves(server)


async def test_abrupt_disconnect_mid_message(server):
    c = await Client.connect(server)
    await c.login(events="off")
    await c.send_raw(b"Action: QueueStat")
    c.writer.transport.abort()
    await asyncio.sleep(0.05)
    await still_serves(server)


async def test_flooding_client_is_paused_not_buffered_without_bound(make_server, pbx):
    server = await make_server(max_pending_actions=8)
    c = await Client.connect(server)
    await c.login(events="off")
    n = 3000
    blob = b"".join(b"Action: QueueStatus\r\nActionID: f%d\r\n\r\n" % i for i in range(n))
    sender = asyncio.create_task(c.send_raw(blob))
    seen = 0
    max_pending = 0
    session = next(iter(server.sessions))
    while seen < n:
        m = await c.read_message()
        max_pending = max(max_pending, len(session.pending))
        if m.get("Event") == "QueueStatusComplete":
            assert m["ActionID"] == f"f{seen}"  # answered in order
            seen += 1
    await sender
    # parsed-but-unprocessed actions never exceed one read's worth beyond the pause mark
    assert max_pending < 8 + 2000
    assert sum(1 for name, _ in pbx.actions if name == "QueueStatus") == n
    await c.close()


async def test_slow_reader_is_dropped_and_others_keep_their_events(make_server, pbx):
    server = await make_server(max_write_buffer=1024 * 1024)
    slow_sock = socket.socket()
    slow_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: small window
    slow_sock.connect(("127.0.0.1", server.port))
    slow_sock.sendall(
        f"Action: Login\r\nUsername: ceo\r\nSecret: {SECRET}\r\nEvents: on\r\n\r\n".encode()
    )
    fast = await Client.connect(server)
    await fast.login(events="call")
    for _ in range(100):
        if len([s for s in server.sessions if s.authenticated]) == 2:
            break
        await asyncio.sleep(0.01)
    # a fixed small kernel send buffer on the slow session (no autotuning), so the test
    # does not depend on the machine's tcp_wmem
    slow = next(s for s in server.sessions if s.username == "ceo" and s.send_events == p.ALL_EVENTS)
    slow.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)
    payload = [("Event", "Newexten"), ("AppData", "x" * 6000)]
    received = 0

    async def drain_fast() -> None:
        nonlocal received
        while received < 2000:
            m = await fast.read_message()
            if m.get("Event") == "Newexten":
                received += 1

    reader = asyncio.create_task(drain_fast())
    for i in range(2000):
        pbx.emit("call", payload)
        while received < i - 40:  # the fast client keeps up; the slow one never reads
            await asyncio.sleep(0.001)
    await asyncio.wait_for(reader, 10)
    # the slow one was cut off (2000 x ~6 KB would have needed ~12 MB of buffer)
    for _ in range(100):
        if len(server.sessions) == 1:
            break
        await asyncio.sleep(0.01)
    assert len(server.sessions) == 1
    assert next(iter(server.sessions)).username == "ceo"
    slow_sock.settimeout(5)
    got = 0
    try:
        while chunk := slow_sock.recv(65536):
            got += len(chunk)
    except ConnectionResetError:
        pass
    assert got < 6_000_000  # far less than the 12 MB emitted: it stopped at the limit
    slow_sock.close()
    await fast.close()
    await still_serves(server)


async def test_many_clients_at_once(server, pbx):
    clients = [await Client.connect(server) for _ in range(30)]
    await asyncio.gather(*(c.login(events="agent") for c in clients))
    pbx.emit("agent", [("Event", "QueueMemberStatus"), ("Queue", "support")])
    got = await asyncio.gather(*(c.read_message() for c in clients))
    assert all(m["Event"] == "QueueMemberStatus" for m in got)
    await asyncio.gather(*(c.close() for c in clients))


async def test_connection_flood_is_capped_by_authlimit(make_server):
    server = await make_server(authlimit=5)
    idle = [await Client.connect(server) for _ in range(5)]
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    assert await asyncio.wait_for(reader.read(), 5) == b""  # closed, no greeting
    writer.close()
    # logging one in frees a slot, as in Asterisk
    await idle[0].login(events="off")
    await still_serves(server)
    for c in idle:
        await c.close()
