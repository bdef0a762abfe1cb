"""The AMI server against Asterisk 22.10.1's bytes (member_management/ami.raw) and its rules.

Every test talks to a real server over a real socket on 127.0.0.1. The engine
behind it is `RecordingEngine`, a test double that knows two actions; the real
engine is tested elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pbxsim import ami_protocol as p
from pbxsim.ami_server import AmiServer, AmiServerOptions, AmiUser, serve_ami
from pbxsim.types import AmiEvent, EventSink, Headers

SECRET = "CHANGE_ME"


class RecordingEngine:
    """Test double for PbxEngine: QueueStatus (an EventList) and QueueAdd (emits an event).

    It records every action it is handed, so tests can check what reached it.
    """

    def __init__(self) -> None:
        self.sinks: list[EventSink] = []
        self.actions: list[tuple[str, Headers]] = []
        self.fail_next = False

    def subscribe(self, sink: EventSink) -> Callable[[], None]:
        self.sinks.append(sink)
        return lambda: self.sinks.remove(sink)

    def emit(self, category: str, headers: Headers) -> None:
        for sink in list(self.sinks):
            sink(AmiEvent(category, headers))

    async def handle_action(self, name: str, headers: Headers) -> list[Headers] | None:
        self.actions.append((name, headers))
        action_id = p.get_header(headers, "ActionID") or None
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("engine bug")
        if name == "QueueAdd":
            # emitted *before* returning: the server must still send the Response first
            self.emit(
                "agent",
                [
                    ("Event", "QueueMemberAdded"),
                    ("Queue", p.get_header(headers, "Queue")),
                    ("Interface", p.get_header(headers, "Interface")),
                ],
            )
            return [p.response(action_id, "Added interface to queue")]
        if name == "QueueStatus":
            await asyncio.sleep(0)
            return p.event_list(
                action_id,
                "Queue status will follow",
                [[("Event", "QueueParams"), ("Queue", "support")]],
                "QueueStatusComplete",
                item_action_id="last",
            )
        return None


class Client:
    """A minimal raw AMI client: send bytes, read whole messages."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.raw = bytearray()

    @classmethod
    async def connect(cls, server: AmiServer) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        c = cls(reader, writer)
        c.greeting = await asyncio.wait_for(reader.readline(), 5)
        c.raw += c.greeting
        return c

    async def send(self, *headers: tuple[str, str]) -> None:
        self.writer.write("".join(f"{k}: {v}\r\n" for k, v in headers).encode() + b"\r\n")
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_message(self, timeout: float = 5) -> dict[str, str]:
        data = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        self.raw += data
        out: dict[str, str] = {}
        for line in data.decode().split("\r\n"):
            if line:
                k, _, v = line.partition(": ")
                out.setdefault(k, v)
        return out

    async def read_until(self, pred: Callable[[dict[str, str]], bool]) -> list[dict[str, str]]:
        got = []
        while True:
            m = await self.read_message()
            got.append(m)
            if pred(m):
                return got

    async def login(self, user: str = "ceo", secret: str = SECRET, events: str = "on") -> None:
        await self.send(
            ("Action", "Login"),
            ("ActionID", "rec-1"),
            ("Username", user),
            ("Secret", secret),
            ("Events", events),
        )
        resp = await self.read_message()
        assert resp["Message"] == "Authentication accepted", resp

    async def at_eof(self, timeout: float = 5) -> bool:
        rest = await asyncio.wait_for(self.reader.read(), timeout)
        self.raw += rest
        return True

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


@pytest.fixture
async def pbx() -> RecordingEngine:
    return RecordingEngine()


def make_server_factory(pbx: RecordingEngine):
    servers: list[AmiServer] = []

    async def make(**opts) -> AmiServer:
        users = opts.pop("users", {"ceo": AmiUser(SECRET), "reader": AmiUser("pw", "all", "call")})
        options = AmiServerOptions(login_fail_delay=0.05, **opts)
        server = await serve_ami(pbx, "127.0.0.1", 0, users, options=options, seed=7)
        servers.append(server)
        return server

    return make, servers


@pytest.fixture
async def make_server(pbx: RecordingEngine):
    make, servers = make_server_factory(pbx)
    yield make
    for s in servers:
        s.close()
        await s.wait_closed()


@pytest.fixture
async def server(make_server) -> AmiServer:
    return await make_server()


# -- normalisation for byte comparison with the trace ------------------------

_VOLATILE = re.compile(
    rb"^(Timestamp|EventTV|SessionTV|SessionID|LocalAddress|RemoteAddress|Uptime|LastReload): [^\r]*\r$",
    re.M,
)


def normalise(data: bytes) -> bytes:
    return _VOLATILE.sub(lambda m: m.group(1) + b": *\r", data)


def trace_messages(traces_dir: Path, scenario: str = "member_management") -> list[bytes]:
    raw = (traces_dir / scenario / "ami.raw").read_bytes()
    greeting, _, rest = raw.partition(b"\r\n")
    return [greeting + b"\r\n"] + [m + b"\r\n\r\n" for m in rest.split(b"\r\n\r\n") if m]


def trace_message(traces_dir: Path, pred: Callable[[bytes], bool]) -> bytes:
    return next(m for m in trace_messages(traces_dir) if pred(m))


# -- login, greeting, and the bytes of the trace -------------------------------


async def test_greeting_login_fullybooted_successfulauth_match_trace_bytes(server, traces_dir):
    msgs = trace_messages(traces_dir)
    c = await Client.connect(server)
    assert c.greeting == msgs[0] == b"Asterisk Call Manager/11.0.0\r\n"
    await c.send(
        ("Action", "Login"),
        ("ActionID", "rec-1"),
        ("Username", "ceo"),
        ("Secret", SECRET),
        ("Events", "on"),
    )
    for _ in range(3):
        await c.read_message()
    assert normalise(bytes(c.raw)) == normalise(b"".join(msgs[:4]))
    # the volatile fields have Asterisk's shapes
    text = c.raw.decode()
    assert re.search(r"^Timestamp: \d{10}\.\d{6}\r$", text, re.M)
    assert re.search(r"^EventTV: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000\r$", text, re.M)
    assert re.search(r"^SessionID: 0x[0-9a-f]+\r$", text, re.M)
    port = c.writer.get_extra_info("sockname")[1]
    assert f"RemoteAddress: IPV4/TCP/127.0.0.1/{port}\r\n" in text
    assert f"LocalAddress: IPV4/TCP/127.0.0.1/{server.port}\r\n" in text
    await c.close()


async def test_logoff_matches_trace_bytes_and_closes(server, traces_dir):
    expected = trace_message(traces_dir, lambda m: m.startswith(b"Response: Goodbye"))
    c = await Client.connect(server)
    await c.login()
    await c.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
    await c.send(("Action", "Logoff"), ("ActionID", "rec-26"))
    before = len(c.raw)
    assert await c.at_eof()
    assert bytes(c.raw[before:]) == expected


async def test_unknown_action_error_and_requestbadformat_match_trace(server, traces_dir):
    msgs = trace_messages(traces_dir)
    i = next(i for i, m in enumerate(msgs) if b"ActionID: rec-8\r\n" in m)
    c = await Client.connect(server)
    await c.login()
    await c.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
    await c.send(
        ("Action", "QueueUnpause"),
        ("ActionID", "rec-8"),
        ("Queue", "support"),
        ("Interface", "PJSIP/agent2"),
    )
    start = len(c.raw)
    await c.read_message()
    await c.read_message()
    assert normalise(bytes(c.raw[start:])) == normalise(msgs[i] + msgs[i + 1])
    await c.close()


async def test_eventlist_reply_has_trace_header_order(server, traces_dir):
    c = await Client.connect(server)
    await c.login()
    await c.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
    await c.send(("Action", "queuestatus"), ("ActionID", "rec-2"), ("Queue", "support"))
    start = len(c.raw)
    await c.read_until(lambda m: m.get("Event") == "QueueStatusComplete")
    got = bytes(c.raw[start:])
    assert got.startswith(
        trace_message(
            traces_dir, lambda m: m.startswith(b"Response: Success\r\nActionID: rec-2\r\n")
        )
    )
    assert got.endswith(
        b"Event: QueueStatusComplete\r\nActionID: rec-2\r\nEventList: Complete\r\nListItems: 1\r\n\r\n"
    )
    assert b"Queue: support\r\nActionID: rec-2\r\n\r\n" in got  # ActionID last in QueueParams
    await c.close()


async def test_ping_response(server):
    c = await Client.connect(server)
    await c.login(events="off")
    await c.send(("Action", "Ping"), ("ActionID", "p1"))
    start = len(c.raw)
    m = await c.read_message()
    assert list(m) == ["Response", "ActionID", "Ping", "Timestamp"]
    assert m["Ping"] == "Pong" and re.fullmatch(r"\d+\.\d{6}", m["Timestamp"])
    assert bytes(c.raw[start:]).startswith(
        b"Response: Success\r\nActionID: p1\r\nPing: Pong\r\nTimestamp: "
    )
    # without ActionID there is no ActionID line
    await c.send(("Action", "PING"))
    assert list(await c.read_message()) == ["Response", "Ping", "Timestamp"]
    await c.close()


async def test_md5_challenge_login(server):
    c = await Client.connect(server)
    await c.send(("Action", "Challenge"), ("ActionID", "c1"), ("AuthType", "MD5"))
    start = len(c.raw)
    ch = await c.read_message()
    assert list(ch) == ["Response", "ActionID", "Challenge"]
    assert re.fullmatch(r"\d{1,9}", ch["Challenge"])
    assert (
        bytes(c.raw[start:])
        == f"Response: Success\r\nActionID: c1\r\nChallenge: {ch['Challenge']}\r\n\r\n".encode()
    )
    key = hashlib.md5((ch["Challenge"] + SECRET).encode()).hexdigest()
    await c.send(("Action", "Login"), ("AuthType", "MD5"), ("Username", "ceo"), ("Key", key))
    assert (await c.read_message())["Message"] == "Authentication accepted"
    assert (await c.read_message())["Event"] == "FullyBooted"
    await c.close()


async def test_md5_login_with_wrong_key_fails_and_closes(server):
    c = await Client.connect(server)
    await c.send(("Action", "Challenge"), ("AuthType", "MD5"))
    ch = await c.read_message()
    bad = hashlib.md5((ch["Challenge"] + "wrong").encode()).hexdigest()
    await c.send(("Action", "Login"), ("AuthType", "MD5"), ("Username", "ceo"), ("Key", bad))
    assert await c.read_message() == {"Response": "Error", "Message": "Authentication failed"}
    assert await c.at_eof()


async def test_challenge_without_md5_is_an_error(server):
    c = await Client.connect(server)
    await c.send(("Action", "Challenge"), ("AuthType", "plain"))
    assert await c.read_message() == {"Response": "Error", "Message": "Must specify AuthType"}
    await c.close()


@pytest.mark.parametrize("user,secret", [("ceo", "nope"), ("ghost", SECRET), ("", "")])
async def test_failed_login_sends_asterisk_error_then_closes(server, user, secret):
    c = await Client.connect(server)
    await c.send(("Action", "Login"), ("ActionID", "x9"), ("Username", user), ("Secret", secret))
    start = len(c.raw)
    await c.read_message()
    assert (
        bytes(c.raw[start:])
        == b"Response: Error\r\nActionID: x9\r\nMessage: Authentication failed\r\n\r\n"
    )
    assert await c.at_eof()
    # the server is still fine for others
    ok = await Client.connect(server)
    await ok.login()
    await ok.close()


async def test_actions_before_login_get_permission_denied_and_session_stays(server, pbx):
    c = await Client.connect(server)
    await c.send(("Action", "QueueStatus"), ("ActionID", "a1"))
    start = len(c.raw)
    await c.read_message()
    assert (
        bytes(c.raw[start:])
        == b"Response: Error\r\nActionID: a1\r\nMessage: Permission denied\r\n\r\n"
    )
    assert pbx.actions == []
    await c.login()
    await c.close()


async def test_login_twice_says_already_authenticated(server):
    c = await Client.connect(server)
    await c.login(events="off")
    await c.send(("Action", "Login"), ("Username", "ceo"), ("Secret", SECRET))
    assert await c.read_message() == {"Response": "Success", "Message": "Already authenticated"}
    await c.close()


async def test_missing_action_header(server):
    c = await Client.connect(server)
    await c.login(events="off")
    await c.send(("ActionID", "m1"), ("Queue", "support"))
    start = len(c.raw)
    await c.read_message()
    assert (
        bytes(c.raw[start:])
        == b"Response: Error\r\nActionID: m1\r\nMessage: Missing action in request\r\n\r\n"
    )
    await c.close()


async def test_response_precedes_events_emitted_during_the_action(server, pbx):
    c = await Client.connect(server)
    await c.login()
    await c.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
    other = await Client.connect(server)
    await other.login(events="agent")
    assert (await c.read_message())["AccountID"] == "ceo"  # other's SuccessfulAuth
    await c.send(
        ("Action", "QueueAdd"),
        ("ActionID", "rec-3"),
        ("Queue", "support"),
        ("Interface", "PJSIP/agent2"),
    )
    first = await c.read_message()
    second = await c.read_message()
    assert first == {
        "Response": "Success",
        "ActionID": "rec-3",
        "Message": "Added interface to queue",
    }
    assert second["Event"] == "QueueMemberAdded"
    assert list(second)[:3] == ["Event", "Privilege", "Timestamp"]
    assert second["Privilege"] == "agent,all"
    assert (await other.read_message())["Event"] == "QueueMemberAdded"
    assert pbx.actions[-1][0] == "QueueAdd"
    await c.close()
    await other.close()


async def test_event_masks_per_client(server, pbx):
    on = await Client.connect(server)
    await on.login(events="on")
    await on.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
    call_only = await Client.connect(server)
    await call_only.login(events="call")
    off = await Client.connect(server)
    await off.login(events="off")
    await on.read_message()  # call_only's SuccessfulAuth
    await on.read_message()  # off's SuccessfulAuth
    pbx.emit("agent", [("Event", "QueueMemberPause"), ("Queue", "support")])
    pbx.emit("call", [("Event", "Newchannel"), ("Channel", "PJSIP/trunk-00000001")])
    assert (await on.read_message())["Event"] == "QueueMemberPause"
    assert (await on.read_message())["Event"] == "Newchannel"
    assert (await call_only.read_message())["Event"] == "Newchannel"
    # `off` gets nothing; it still answers actions, and Events on turns them on
    await off.send(("Action", "Events"), ("ActionID", "e1"), ("EventMask", "call,agent"))
    start = len(off.raw)
    await off.read_message()
    assert bytes(off.raw[start:]) == b"Response: Success\r\nActionID: e1\r\nEvents: On\r\n\r\n"
    pbx.emit("agent", [("Event", "QueueMemberPenalty"), ("Queue", "support")])
    assert (await off.read_message())["Event"] == "QueueMemberPenalty"
    await off.send(("Action", "Events"), ("EventMask", "off"))
    assert await off.read_message() == {"Response": "Success", "Events": "Off"}
    await off.send(("Action", "Events"), ("EventMask", ""))
    assert await off.read_message() == {"Response": "Error", "Message": "Invalid event mask"}
    pbx.emit("call", [("Event", "Hangup")])
    await off.send(("Action", "Ping"))
    assert (await off.read_message())["Ping"] == "Pong"  # no Hangup before it
    # the system class: `Events: system` gets no call events and no FullyBooted-less surprises
    for c in (on, call_only, off):
        await c.close()


async def test_read_permission_limits_events_and_write_permission_limits_actions(server, pbx):
    c = await Client.connect(server)
    await c.send(("Action", "Login"), ("Username", "reader"), ("Secret", "pw"), ("Events", "on"))
    assert (await c.read_message())["Message"] == "Authentication accepted"
    await c.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
    await c.send(
        ("Action", "QueueAdd"), ("ActionID", "q1"), ("Queue", "support"), ("Interface", "PJSIP/x")
    )
    start = len(c.raw)
    await c.read_message()
    assert (
        bytes(c.raw[start:])
        == b"Response: Error\r\nActionID: q1\r\nMessage: Permission denied\r\n\r\n"
    )
    note = await c.read_message()
    assert note["Event"] == "RequestNotAllowed" and note["RequestType"] == "Action: QueueAdd"
    assert note["AccountID"] == "reader"
    assert all(name != "QueueAdd" for name, _ in pbx.actions)
    # QueueStatus needs no write class
    await c.send(("Action", "QueueStatus"), ("ActionID", "q2"))
    got = await c.read_until(lambda m: m.get("Event") == "QueueStatusComplete")
    assert got[0]["EventList"] == "start"
    await c.close()


async def test_user_with_limited_read_gets_only_those_classes():
    pbx = RecordingEngine()
    server = await serve_ami(pbx, "127.0.0.1", 0, {"a": ("s", "agent", "all")})
    try:
        c = await Client.connect(server)
        await c.send(("Action", "Login"), ("Username", "a"), ("Secret", "s"))
        assert (await c.read_message())["Message"] == "Authentication accepted"
        pbx.emit("call", [("Event", "Newchannel")])
        pbx.emit("agent", [("Event", "AgentCalled")])
        # no FullyBooted (no system read), no SuccessfulAuth (no security read), no call
        assert (await c.read_message())["Event"] == "AgentCalled"
        await c.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_engine_privilege_and_timestamp_are_kept_when_given(server, pbx):
    c = await Client.connect(server)
    await c.login()
    await c.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
    pbx.emit(
        "call",
        [
            ("Event", "Newchannel"),
            ("Privilege", "call,all"),
            ("Timestamp", "1795339630.000001"),
            ("Channel", "X"),
        ],
    )
    start = len(c.raw)
    await c.read_message()
    assert bytes(c.raw[start:]) == (
        b"Event: Newchannel\r\nPrivilege: call,all\r\nTimestamp: 1795339630.000001\r\nChannel: X\r\n\r\n"
    )
    await c.close()


async def test_engine_privilege_decides_delivery(server, pbx):
    agent_only = await Client.connect(server)
    await agent_only.login(events="agent")
    # the AmiEvent category disagrees with Privilege: Privilege (what Asterisk uses) wins
    pbx.emit("cel", [("Event", "CEL"), ("Privilege", "call,all"), ("EventName", "CHAN_START")])
    pbx.emit("cel", [("Event", "AgentCalled"), ("Privilege", "agent,all")])
    assert (await agent_only.read_message())["Event"] == "AgentCalled"
    await agent_only.close()


async def test_engine_exception_answers_error_and_session_continues(server, pbx):
    c = await Client.connect(server)
    await c.login(events="off")
    pbx.fail_next = True
    await c.send(("Action", "QueueStatus"), ("ActionID", "z"))
    assert await c.read_message() == {
        "Response": "Error",
        "ActionID": "z",
        "Message": "Internal error",
    }
    await c.send(("Action", "Ping"))
    assert (await c.read_message())["Ping"] == "Pong"
    await c.close()


async def test_utf8_values_pass_through(server, pbx):
    c = await Client.connect(server)
    await c.login()
    await c.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
    pbx.emit(
        "call",
        [("Event", "Newchannel"), ("CallerIDName", "José Pérez"), ("Bad", "a\r\nEvent: Fake")],
    )
    start = len(c.raw)
    m = await c.read_message()
    assert m["CallerIDName"] == "José Pérez"
    assert "José Pérez".encode() in bytes(c.raw[start:])
    assert m["Bad"] == "a Event: Fake"  # a CRLF in a value cannot forge a header
    await c.close()


async def test_server_close_disconnects_clients(make_server):
    server = await make_server()
    c = await Client.connect(server)
    await c.login(events="off")
    server.close()
    await server.wait_closed()
    assert await c.at_eof()


async def test_users_from_config_logs_in_the_configured_listener(monkeypatch, example_config):
    from pbxsim.ami_server import users_from_config

    ami = example_config.connections.ami
    monkeypatch.delenv(ami.secret_env, raising=False)
    with pytest.raises(ValueError, match=ami.secret_env):
        users_from_config(ami)
    monkeypatch.setenv(ami.secret_env, "s3cret")
    pbx = RecordingEngine()
    server = await serve_ami(pbx, "127.0.0.1", 0, users_from_config(ami))
    try:
        c = await Client.connect(server)
        await c.login(user=ami.username, secret="s3cret", events="off")
        await c.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_failed_logins_are_reported_to_security_listeners(server):
    watcher = await Client.connect(server)
    await watcher.login(events="security")
    await watcher.read_message()  # its own SuccessfulAuth
    bad = await Client.connect(server)
    await bad.send(("Action", "Login"), ("Username", "ceo"), ("Secret", "nope"))
    note = await watcher.read_message()
    assert list(note) == [
        "Event", "Privilege", "Timestamp", "EventTV", "Severity", "Service", "EventVersion",
        "AccountID", "SessionID", "LocalAddress", "RemoteAddress", "SessionTV",
    ]  # fmt: skip
    assert (note["Event"], note["AccountID"], note["EventVersion"]) == (
        "InvalidPassword",
        "ceo",
        "2",
    )
    ghost = await Client.connect(server)
    await ghost.send(("Action", "Login"), ("Username", "ghost"), ("Secret", "x"))
    note = await watcher.read_message()
    assert (note["Event"], note["AccountID"]) == ("InvalidAccountID", "ghost")
    for c in (watcher, bad, ghost):
        await c.close()
