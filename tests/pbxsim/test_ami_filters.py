"""pbxsim's AMI event filters: manager.c's parsing and matching, the Filter action's
permission, and the generated manager.conf user loaded as Asterisk loads it."""

from __future__ import annotations

import pytest

from asterisk_conf.manager import build_manager
from pbxsim import ami_filters as af
from pbxsim.ami_server import AmiUser, serve_ami, users_from_manager_conf

from .test_ami_server import Client, RecordingEngine

# manager.c's own matching table (eventfilter_test_matching): include and exclude
# filters together; the include list is searched first, then the exclude list.
MATCHING_FILTERS = [
    ("eventfilter(name(VarSet),method(none))", ""),
    ("eventfilter(name(Newchannel),method(regex))", "X[XYZ]X"),
    ("eventfilter(name(Newchannel),method(regex))", "X[abc]X"),
    ("eventfilter(name(Newchannel),header(Someheader),method(regex))", "ZZZ"),
    ("eventfilter(action(exclude),name(Newchannel),method(regex))", "X[a]X"),
    ("eventfilter(action(exclude),name(Newchannel),method(regex))", "X[Z]X"),
    ("eventfilter(action(exclude),name(VarSet),header(Channel),method(regex))", "YYY"),
]


@pytest.mark.parametrize(
    ("name", "channel", "some", "sent"),
    [
        ("Newchannel", "XXX", "YYY", True),
        ("Newchannel", "XZX", "YYY", False),
        ("Newchannel", "XaX", "YYY", False),
        ("Newchannel", "XbX", "YYY", True),
        ("Newchannel", "XcX", "YYY", True),
        ("Newchannel", "YYY", "YYY", False),
        ("Newchannel", "YYY", "ZZZ", True),
        ("VarSet", "XXX", "YYY", True),
        ("VarSet", "YYY", "YYY", False),
    ],
)
def test_matching_follows_manager_c(name, channel, some, sent):
    filters = [af.parse_filter(c, pat) for c, pat in MATCHING_FILTERS]
    text = f"Event: {name}\r\nChannel: {channel}\r\nSomeheader: {some}\r\n"
    assert af.should_send(filters, name, text) is sent


@pytest.mark.parametrize(
    ("criteria", "pattern"),
    [
        ("eventfilter(action(include)", ""),
        ("eventfilter(action(inlude))", ""),
        ("eventfilter(nnnn(yyy))", "XXX"),
        ("eventfilter(method(yyy))", "XXX"),
        ("eventfilter", ""),
        ("eventfilter", "!"),
        ("eventfilter()", "XXX"),
        ("eventfilter(name(VarSet),method(regex))", ""),
        ("eventfilter(name(VarSet))", "XXX"),
    ],
)
def test_badly_formatted_filters_are_refused(criteria, pattern):
    with pytest.raises(af.FilterFormatError):
        af.parse_filter(criteria, pattern)


def test_a_bad_regex_does_not_compile():
    with pytest.raises(af.FilterCompileError):
        af.parse_filter("eventfilter", "XX[X")


def test_legacy_filters_match_the_whole_event_and_bang_excludes():
    inc = af.parse_filter("eventfilter", "Event: (Hangup|Newchannel)")
    assert af.should_send([inc], "Hangup", "Event: Hangup\r\nChannel: a\r\n")
    assert not af.should_send([inc], "VarSet", "Event: VarSet\r\nChannel: a\r\n")
    exc = af.parse_filter("eventfilter", "!Event: Newexten")
    assert not af.should_send([exc], "Newexten", "Event: Newexten\r\n")
    assert af.should_send([exc], "Hangup", "Event: Hangup\r\n")


def test_generated_user_loads_with_its_classes_and_filters(example_config):
    users = users_from_manager_conf(build_manager(example_config), {"centralita": "pw"})
    user = users["centralita"]
    assert user.read == "call,agent,dialplan,system"
    assert user.write == "agent,reporting"
    filters = [af.parse_filter(c, pat) for c, pat in user.eventfilters]
    assert filters and all(not f.exclude for f in filters)
    assert af.should_send(filters, "QueueCallerJoin", "Event: QueueCallerJoin\r\n")
    assert not af.should_send(filters, "Newexten", "Event: Newexten\r\n")
    assert not af.should_send(filters, "BridgeEnter", "Event: BridgeEnter\r\n")
    ok = "Event: VarSet\r\nChannel: PJSIP/a\r\nVariable: QUEUESTATUS\r\nValue: TIMEOUT\r\n"
    other = "Event: VarSet\r\nChannel: PJSIP/a\r\nVariable: QUEUESTATUS2\r\nValue: x\r\n"
    assert af.should_send(filters, "VarSet", ok)
    assert not af.should_send(filters, "VarSet", other)
    assert users_from_manager_conf(build_manager(example_config), {}) == {}


async def _login(server, user, secret):
    c = await Client.connect(server)
    await c.send(("Action", "Login"), ("Username", user), ("Secret", secret), ("Events", "on"))
    assert (await c.read_message())["Message"] == "Authentication accepted"
    return c


async def test_filter_action_without_system_write_is_permission_denied(example_config):
    """What a real Asterisk answers the generated user: the listener must not rely on it."""
    pbx = RecordingEngine()
    users = users_from_manager_conf(build_manager(example_config), {"centralita": "pw"})
    server = await serve_ami(pbx, "127.0.0.1", 0, users)
    try:
        c = await _login(server, "centralita", "pw")
        await c.read_until(lambda m: m.get("Event") == "FullyBooted")
        await c.send(
            ("Action", "Filter"),
            ("ActionID", "f1"),
            ("Operation", "Add"),
            ("Filter", "Event: Hangup"),
        )
        start = len(c.raw)
        await c.read_message()
        assert (
            bytes(c.raw[start:])
            == b"Response: Error\r\nActionID: f1\r\nMessage: Permission denied\r\n\r\n"
        )
        assert not pbx.actions
        # the static filters do the work: only the included events arrive
        pbx.emit("dialplan", [("Event", "Newexten"), ("Channel", "PJSIP/a")])
        pbx.emit("call", [("Event", "BridgeEnter"), ("Channel", "PJSIP/a")])
        pbx.emit("dialplan", [("Event", "VarSet"), ("Variable", "ANSWEREDTIME"), ("Value", "3")])
        pbx.emit("dialplan", [("Event", "VarSet"), ("Variable", "QUEUESTATUS"), ("Value", "X")])
        pbx.emit("call", [("Event", "Hangup"), ("Channel", "PJSIP/a")])
        got = [await c.read_message() for _ in range(2)]
        assert [(m["Event"], m.get("Variable")) for m in got] == [
            ("VarSet", "QUEUESTATUS"),
            ("Hangup", None),
        ]
        await c.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_filter_action_with_system_write_adds_a_session_filter():
    pbx = RecordingEngine()
    server = await serve_ami(pbx, "127.0.0.1", 0, {"admin": AmiUser("pw", "all", "system")})
    try:
        c = await _login(server, "admin", "pw")
        await c.read_until(lambda m: m.get("Event") == "SuccessfulAuth")
        await c.send(
            ("Action", "Filter"),
            ("ActionID", "f2"),
            ("Operation", "Add"),
            ("Filter", "Event: Hangup"),
        )
        assert await c.read_message() == {
            "Response": "Success",
            "ActionID": "f2",
            "Message": "Success",
        }
        await c.send(("Action", "Filter"), ("ActionID", "f3"), ("Operation", "Add"))
        assert (await c.read_message())["Message"].startswith("Filter was formatted incorrectly")
        await c.send(("Action", "Filter"), ("ActionID", "f4"), ("Operation", "Drop"))
        assert (await c.read_message())["Message"] == "Unknown operation"
        pbx.emit("call", [("Event", "Newchannel"), ("Channel", "PJSIP/a")])
        pbx.emit("call", [("Event", "Hangup"), ("Channel", "PJSIP/a")])
        assert (await c.read_message())["Event"] == "Hangup"
        await c.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_filter_refusal_is_byte_for_byte_what_asterisk_sent(example_config):
    """tests/data/asterisk-traces/filter_refused: the same session against pbxsim."""
    from pathlib import Path

    recorded = (
        Path(__file__).resolve().parents[1] / "data" / "asterisk-traces" / "filter_refused"
    ) / "ami.raw"
    pbx = RecordingEngine()
    users = users_from_manager_conf(build_manager(example_config), {"centralita": "pw"})
    server = await serve_ami(pbx, "127.0.0.1", 0, users)
    try:
        c = await Client.connect(server)
        await c.send(
            ("Action", "Login"),
            ("ActionID", "l1"),
            ("Username", "centralita"),
            ("Secret", "pw"),
            ("Events", "call,agent,dialplan"),
        )
        await c.read_message()
        await c.send(
            ("Action", "Filter"),
            ("ActionID", "f1"),
            ("Operation", "Add"),
            ("Filter", "Event: Hangup"),
        )
        await c.read_message()
        await c.send(("Action", "Logoff"), ("ActionID", "o1"))
        await c.read_message()
        assert bytes(c.raw) == recorded.read_bytes()
        await c.close()
    finally:
        server.close()
        await server.wait_closed()
