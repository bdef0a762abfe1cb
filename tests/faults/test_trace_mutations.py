"""Hypothesis-driven mutation of the recorded traces fed to the ingest (issue 9, item 7).

Values replaced by hostile ones ('²', 30-digit numbers, NUL, U+2028, '|', huge
timestamps), frames dropped, duplicated, truncated or replaced by garbage, the
bytes cut at random places. Whatever arrives: no exception escapes feed or
flush, and a known-good call fed afterwards is always recorded exactly.
"""

from __future__ import annotations

import itertools
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from ami_listener.ingest import Ingest
from ami_listener.parser import WANTED_EVENTS, parse_frame
from ami_listener.store import CallStore
from servicedesk.db import make_engine, make_sessionmaker
from servicedesk.models import Base, Call
from tests.ami_listener.bad_values import renamed
from tests.ami_listener.replay_server import frames_of
from tests.conftest import TRACES

SCENARIOS = (
    "answered_caller_hangup",
    "answered_agent_hangup",
    "ringnoanswer_then_answer",
    "abandoned",
    "exit_timeout",
    "join_empty_leave_empty",
    "member_management",
    "priority_and_penalty",
    "fastagi_ivr",
)
FRAMES = {name: frames_of((TRACES / name / "ami.raw").read_bytes()) for name in SCENARIOS}
# the values the listener reads: where a hostile value can do harm
FIELDS = (
    b"HoldTime",
    b"TalkTime",
    b"Position",
    b"Wait",
    b"Penalty",
    b"RingTime",
    b"LoginTime",
    b"Timestamp",
    b"Uniqueid",
    b"Linkedid",
    b"DestUniqueid",
    b"Value",
    b"Variable",
    b"Interface",
    b"MemberName",
    b"Queue",
    b"CallerIDNum",
    b"CallerIDName",
    b"Exten",
    b"DialStatus",
    b"Reason",
    b"Paused",
    b"PausedReason",
    b"Cause",
    b"Event",
)
USED = {
    name: [
        i
        for i, f in enumerate(frames)
        if any(f.startswith(b"Event: " + e.encode()) for e in WANTED_EVENTS)
    ]
    for name, frames in FRAMES.items()
}
NUMBERS = (b"HoldTime", b"TalkTime", b"Position", b"Wait", b"Penalty", b"RingTime")
NUMERIC = {  # frames carrying a number the listener stores
    name: [i for i, f in enumerate(frames) if any(b"\r\n" + k + b": " in f for k in NUMBERS)]
    for name, frames in FRAMES.items()
}
JOINS = {  # (frame index, caller uniqueid) of every queue join
    name: [
        (i, str(parse_frame(f.decode("utf-8", "replace")).get("Uniqueid", "")))
        for i, f in enumerate(frames)
        if f.startswith(b"Event: QueueCallerJoin")
    ]
    for name, frames in FRAMES.items()
}
VARIABLES = (
    "CENTRALITA_CONTACT",
    "CENTRALITA_INCIDENT",
    "CENTRALITA_IVR",
    "IVR_LANG",
    "QUEUESTATUS",
    "CENTRALITA_VIP",
    "CENTRALITA_CATEGORY",
)
GOOD = (TRACES / "answered_caller_hangup" / "ami.raw").read_bytes()
HOSTILE = st.one_of(
    st.sampled_from(
        [
            "²",
            "٣",
            "-1",
            "+3",
            " 3",
            "3_000",
            "nan",
            "inf",
            "-inf",
            "1e400",
            "",
            "\x00",
            "|",
            "a\u2028b",
            "\x85",
            "0x10",
            "99999999999",
            "1795339491.0",
            "<unknown>",
        ]
    ),
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.integers(10**15, 10**40).map(str),
    st.integers(-(10**12), 10**12).map(str),
)
MUTATION = st.one_of(
    st.tuples(st.just("value"), st.integers(0, 10**6), st.integers(0, 40), HOSTILE),
    st.tuples(st.just("value"), st.integers(0, 10**6), st.integers(0, 40), HOSTILE),
    st.tuples(st.just("varset"), st.integers(0, 10**6), st.sampled_from(VARIABLES), HOSTILE),
    st.tuples(st.just("number"), st.integers(0, 10**6), st.integers(0, 40), HOSTILE),
    st.tuples(st.just("drop"), st.integers(0, 10**6)),
    st.tuples(st.just("dup"), st.integers(0, 10**6)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.integers(0, 400)),
    st.tuples(st.just("garbage"), st.integers(0, 10**6), st.binary(max_size=200)),
)

_db = tempfile.mkdtemp(prefix="mutations-")
_engine = make_engine(f"sqlite:///{_db}/m.db")
Base.metadata.create_all(_engine)
_factory = make_sessionmaker(_engine)
_runs = itertools.count()


def mutate(scenario: str, mutations: list[tuple]) -> list[bytes]:  # type: ignore[type-arg]
    out = list(FRAMES[scenario])
    for m in mutations:
        if not out:
            break
        kind = m[0]
        i = m[1] % len(out)
        if kind == "value" and USED[scenario] and USED[scenario][-1] < len(out):
            i = USED[scenario][m[1] % len(USED[scenario])]
        if kind == "number" and NUMERIC[scenario] and NUMERIC[scenario][-1] < len(out):
            i = NUMERIC[scenario][m[1] % len(NUMERIC[scenario])]
        if kind in ("value", "number"):
            wanted = NUMBERS if kind == "number" else FIELDS
            lines = out[i].split(b"\r\n")
            targets = [j for j, line in enumerate(lines) if line.partition(b": ")[0] in wanted]
            j = targets[m[2] % len(targets)] if targets else m[2] % max(1, len(lines))
            key, sep, _v = lines[j].partition(b": ")
            if sep:
                lines[j] = key + b": " + m[3].encode("utf-8", "surrogatepass")
                out[i] = b"\r\n".join(lines)
        elif kind == "varset":  # the IVR (or anyone) set a variable on one of the trace's calls
            joins = JOINS[scenario]
            if not joins:
                continue
            at, uid = joins[m[1] % len(joins)]
            value = m[3].replace("\r", "").replace("\n", "")
            out.insert(
                min(at, len(out)),
                (
                    f"Event: VarSet\r\nChannel: X\r\nUniqueid: {uid}\r\nLinkedid: {uid}\r\n"
                    f"Variable: {m[2]}\r\nValue: {value}\r\n\r\n"
                ).encode("utf-8", "surrogatepass"),
            )
        elif kind == "drop":
            del out[i]
        elif kind == "dup":
            out.insert(i, out[i])
        elif kind == "truncate":
            out[i] = out[i][: m[2]]
        else:
            out[i] = m[2]
    return out


@settings(max_examples=200)
@given(
    scenario=st.sampled_from(SCENARIOS),
    mutations=st.lists(MUTATION, min_size=1, max_size=6),
    chunk=st.integers(1, 4096),
)
def test_mutated_trace_then_good_call(scenario: str, mutations: list[tuple], chunk: int) -> None:  # type: ignore[type-arg]
    n = next(_runs)
    pbx = f"m{n}"
    ingest = Ingest(pbx, CallStore(_factory, pbx))
    data = b"Asterisk Call Manager/6.0.0\r\n" + b"".join(mutate(scenario, mutations))
    for at in range(0, len(data), chunk):
        ingest.feed(data[at : at + chunk])
    ingest.flush()
    ingest.feed(b"\r\n\r\n")  # whatever the mutation left half-open ends here
    prefix = f"17{n:08d}"
    ingest.feed(_without_greeting(renamed(GOOD, prefix.encode())))
    assert ingest.flush() is True
    with _factory() as s:
        row = s.scalars(
            select(Call).where(Call.pbx_id == pbx, Call.linkedid == f"{prefix}.0")
        ).one()
    assert (row.outcome, row.hold_seconds, row.talk_seconds) == ("answered", 3, 5)
    assert (row.queue, row.hung_up_by, row.caller_num) == ("support", "caller", "5551001")
    assert ingest.unwritten == 0


def _without_greeting(raw: bytes) -> bytes:
    if raw.startswith(b"Asterisk Call Manager/"):
        return raw[raw.index(b"\r\n") + 2 :]
    return raw


def test_mutation_counts_are_meaningful() -> None:
    """The strategy reaches every trace's frames (guards against an empty corpus)."""
    assert all(len(frames) > 20 for frames in FRAMES.values())
