"""The byte-level parser and the state machine under hostile input."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ami_listener.ingest import Ingest
from ami_listener.parser import AmiParser, parse_frame, unescape_ami


def test_byte_by_byte_keeps_every_multibyte_name(traces_dir: Path) -> None:
    raw = (traces_dir / "load_mix" / "ami.raw").read_bytes()
    parser = AmiParser(wanted_events=None, wanted_variables=None)
    got = []
    for i in range(len(raw)):
        got.extend(parser.feed(raw[i : i + 1]))
    expected = [json.loads(line) for line in (traces_dir / "load_mix" / "ami.jsonl").open()]
    assert len(got) == len(expected)
    for msg, exp in zip(got, expected, strict=True):
        exp.pop("_t")
        assert msg == exp
    assert parser.greeting == "11.0.0"


def test_panoramisk_loses_what_we_keep(traces_dir: Path) -> None:
    """The pitfall we replace: errors='ignore' per TCP read drops split characters."""
    from panoramisk.ami_protocol import AMIProtocol

    raw = (traces_dir / "abandoned" / "ami.raw").read_bytes()
    names: list[str] = []

    class Factory:
        save_stream = None

        def dispatch(self, message):  # type: ignore[no-untyped-def]
            if message.event == "QueueCallerJoin":
                names.append(message.CallerIDName)

    proto = AMIProtocol()
    proto.connection_made(None)
    proto.factory = Factory()
    proto.encoding = "utf-8"
    for i in range(0, len(raw), 3):
        proto.data_received(raw[i : i + 3])
    ours = [m["CallerIDName"] for m in _feed_in(raw, 3) if m.get("Event") == "QueueCallerJoin"]
    assert ours == ["José Pérez"]
    assert names and names != ours


def _feed_in(raw: bytes, n: int) -> list[dict]:  # type: ignore[type-arg]
    parser = AmiParser()
    out = []
    for i in range(0, len(raw), n):
        out.extend(parser.feed(raw[i : i + n]))
    return out


def test_frame_shapes() -> None:
    msg = parse_frame("Event: X\r\nChanVariable: A=1\r\nChanVariable: B=\r\nEmpty:\r\nbody line")
    assert msg == {"Event": "X", "ChanVariable": ["A=1", "B="], "Empty": ""}
    assert unescape_ami("O\\'Brien, Ann") == "O'Brien, Ann"
    assert unescape_ami('Zoë \\\\\\"Z\\\\\\" Adams') == 'Zoë \\"Z\\" Adams'
    assert unescape_ami("trailing\\") == "trailing\\"


def test_invalid_utf8_becomes_replacement_not_loss() -> None:
    parser = AmiParser(wanted_events=None)
    (msg,) = parser.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: X\r\nName: a\xffb\r\n\r\n")
    assert msg["Name"] == "a\ufffdb"


EVENTS = [
    "Newchannel",
    "Hangup",
    "HangupRequest",
    "VarSet",
    "DialEnd",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentRingNoAnswer",
    "AgentConnect",
    "AgentComplete",
    "QueueMemberAdded",
    "QueueMemberRemoved",
    "QueueMemberPause",
    "QueueMemberPenalty",
    "QueueMember",
    "QueueEntry",
    "Bogus",
]
KEYS = [
    "Uniqueid",
    "Linkedid",
    "DestUniqueid",
    "Timestamp",
    "Queue",
    "Interface",
    "MemberName",
    "Variable",
    "Value",
    "HoldTime",
    "TalkTime",
    "RingTime",
    "Reason",
    "DialStatus",
    "Position",
    "Penalty",
    "Paused",
    "Wait",
    "LoginTime",
    "Location",
    "Name",
    "CallerIDName",
    "CallerIDNum",
    "ChanVariable",
    "Cause",
]
values = st.one_of(
    st.sampled_from(
        [
            "1",
            "0",
            "1795339491.0",
            "1795339491.1",
            "support",
            "QUEUESTATUS",
            "TIMEOUT",
            "JOINEMPTY",
            "CENTRALITA_IVR",
            "a=%ZZ;b",
            "caller",
            "ANSWER",
            "PJSIP/agent1",
            "",
            "-5",
            "nan",
            "1e309",
            "José",
            "\\",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=12),
)
frames = st.lists(
    st.tuples(
        st.sampled_from(EVENTS), st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=8)
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=frames, junk=st.binary(max_size=64), split=st.integers(1, 50))
def test_fuzzed_frames_never_crash(frames, junk: bytes, split: int) -> None:  # type: ignore[no-untyped-def]
    data = b"Asterisk Call Manager/11.0.0\r\n" + junk + b"\r\n\r\n"
    for event, fields in frames:
        lines = [f"Event: {event}"] + [f"{k}: {v}" for k, v in fields]
        data += "\r\n".join(lines).encode("utf-8", "surrogatepass") + b"\r\n\r\n"
    ingest = Ingest("pbx1")
    for i in range(0, len(data), split):
        ingest.feed(data[i : i + split])
    ingest.collect()
    assert ingest.handler_errors == 0


def test_failed_database_write_is_retried_not_lost(traces_dir: Path) -> None:
    """A commit that fails keeps its batch; the next write sends it, merged with newer data."""

    class FlakyStore:
        def __init__(self) -> None:
            self.fail = True
            self.rows: dict[str, dict] = {}  # type: ignore[type-arg]

        def write(self, calls, changes, sessions) -> None:  # type: ignore[no-untyped-def]
            if self.fail:
                self.fail = False
                raise OSError("database is locked")
            for snap in calls:
                self.rows[snap.row["linkedid"]] = snap.row

    store = FlakyStore()
    ingest = Ingest("pbx1", store=store)  # type: ignore[arg-type]
    raw = (traces_dir / "answered_caller_hangup" / "ami.raw").read_bytes()
    half = raw.index(b"Event: AgentConnect")
    ingest.feed(raw[:half])
    assert ingest.flush() is False and store.rows == {}
    ingest.feed(raw[half:])
    assert ingest.flush() is True
    row = store.rows["1795339491.0"]
    assert (row["outcome"], row["talk_seconds"], row["hung_up_by"]) == ("answered", 5, "caller")


def test_finished_calls_are_remembered_boundedly() -> None:
    from ami_listener.calls import RecentSet

    recent = RecentSet(3)
    for lid in ("a", "b", "c", "d"):
        recent.add(lid)
    assert "a" not in recent and all(x in recent for x in "bcd") and len(recent) == 3
