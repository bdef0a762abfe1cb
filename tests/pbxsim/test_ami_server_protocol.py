"""AMI framing helpers (pbxsim.ami_protocol) against the trace bytes and manager.c's rules."""

from __future__ import annotations

import pytest

from pbxsim import ami_protocol as p
from tests.pbxsim.test_ami_server import trace_messages


def headers_of(raw: bytes) -> list[tuple[str, str]]:
    out = []
    for line in raw.decode().split("\r\n"):
        if line:
            k, _, v = line.partition(": ")
            out.append((k, v))
    return out


def reply_block(traces_dir, action_id: str) -> list[bytes]:
    tag = f"ActionID: {action_id}\r\n".encode()
    return [m for m in trace_messages(traces_dir) if tag in m]


@pytest.mark.parametrize(
    "action_id,start,complete,position",
    [
        ("rec-13", "Queue status will follow", "QueueStatusComplete", "last"),  # 5 items, 2 queues
        ("rec-14", "Queue summary will follow", "QueueSummaryComplete", "last"),
        ("rec-23", "Queue status will follow", "QueueStatusComplete", "last"),  # empty list
    ],
)
def test_event_list_rebuilds_the_trace_bytes(traces_dir, action_id, start, complete, position):
    block = reply_block(traces_dir, action_id)
    items = []
    for raw in block[1:-1]:
        hs = [h for h in headers_of(raw) if h[0] != "ActionID"]
        items.append(hs)
    rebuilt = p.serialize_many(
        p.event_list(action_id, start, items, complete, item_action_id=position)
    )
    assert rebuilt == b"".join(block)


def test_event_list_item_action_id_second_and_extra_and_no_action_id():
    out = p.event_list(
        "x1",
        "Channels will follow",
        [[("Event", "CoreShowChannel"), ("Channel", "PJSIP/a-1")]],
        "CoreShowChannelsComplete",
        extra=[("Extra", "1")],
    )
    assert out[1] == [("Event", "CoreShowChannel"), ("ActionID", "x1"), ("Channel", "PJSIP/a-1")]
    assert out[2] == [
        ("Event", "CoreShowChannelsComplete"),
        ("ActionID", "x1"),
        ("EventList", "Complete"),
        ("ListItems", "1"),
        ("Extra", "1"),
    ]
    bare = p.event_list(None, "m", [], "C")
    assert bare == [
        [("Response", "Success"), ("EventList", "start"), ("Message", "m")],
        [("Event", "C"), ("EventList", "Complete"), ("ListItems", "0")],
    ]


def test_error_responses_match_trace_bytes(traces_dir):
    for action_id, text in [
        ("rec-4", "Unable to add interface: Already there"),
        ("rec-5", "Unable to add interface to queue: No such queue"),
        ("rec-19", "Member not dynamic"),
    ]:
        assert p.serialize(p.error(action_id, text)) == reply_block(traces_dir, action_id)[0]
    assert (
        p.serialize(p.response("rec-3", "Added interface to queue"))
        == reply_block(traces_dir, "rec-3")[0]
    )


def test_event_masks_follow_manager_c():
    call, agent, system = p.FLAG["call"], p.FLAG["agent"], p.FLAG["system"]
    assert p.strings_to_mask("on") == p.strings_to_mask("yes") == p.ALL_EVENTS
    assert p.strings_to_mask("off") == p.strings_to_mask("no") == 0
    assert p.strings_to_mask("") == -1
    assert p.strings_to_mask("1") == system  # digits are a number, not "true"
    assert p.strings_to_mask("call,agent") == call | agent
    assert p.strings_to_mask("sys,call") & system  # ast_instring prefix quirk
    assert p.get_perm("all") & call and p.get_perm("all") & p.FLAG["security"]
    assert p.category_mask("call") == (call, "call,all")
    assert p.category_mask("security")[1] == "security,all"
    assert p.category_mask("call,all") == (call, "call,all")  # a Privilege value
    assert p.category_mask("bogus")[0] == p.FLAG["user"]  # never 0: that would reach Events: off
    assert p.authority_to_str(system) == "system,all"
    assert p.authority_to_str(0) == "<none>"


def test_serialize_utf8_and_crlf_in_values():
    data = p.serialize([("Event", "X"), ("CallerIDName", "Zoë"), ("V", "a\r\nb")])
    assert data == "Event: X\r\nCallerIDName: Zoë\r\nV: a b\r\n\r\n".encode()
    assert p.serialize([("V", "\udcff")]) == b"V: ?\r\n\r\n"


def test_timestamp_and_event_tv_formats():
    assert p.timestamp(1795339630.155071) == "1795339630.155071"
    assert p.timestamp(1795339630.9999999) == "1795339631.000000"
    assert p.event_tv(1795339630.154161) == "2026-11-22T09:27:10.154+0000"


def test_parser_splits_across_reads_and_handles_limits():
    parser = p.FrameParser()
    assert parser.feed(b"Action: Pi") == []
    assert parser.feed(b"ng\r\nActionID:  \t a b \r") == []
    msgs = parser.feed(b"\n\r\n")
    assert len(msgs) == 1
    assert msgs[0].headers == [("Action", "Ping"), ("ActionID", "a b ")]
    long = parser.feed(b"Action: Ping\r\nX: " + b"y" * 5000 + b"\r\nZ: 1\r\n\r\n")
    assert long[0].line_too_long and long[0].headers == [("Action", "Ping"), ("Z", "1")]
    # memory stays bounded while a line never ends
    for _ in range(100):
        parser.feed(b"z" * 10_000)
    assert len(parser._buf) < p.MAX_LINE_BYTES
    parser.feed(b"\r\n\r\n")
    many = parser.feed(b"".join(b"H%d: v\r\n" % i for i in range(130)) + b"\r\n")
    assert many[0].too_many_lines and len(many[0].headers) == p.MAX_HEADERS
    assert parser.feed(b"Action: Ping\r\n\r\n")[0].headers == [("Action", "Ping")]


def test_header_lookup_is_case_insensitive_first_match():
    hs = [("action", ""), ("ACTION", "Ping"), ("Action", "Other"), ("actionid", "1")]
    assert p.get_action(hs) == "Ping"
    assert p.get_header(hs, "ActionID") == "1"
    assert p.get_header(hs, "Missing") == ""
