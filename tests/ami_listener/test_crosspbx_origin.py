"""A caller transferred from another PBX: the origin is parsed strictly and the continued
leg adds nothing to the queue counters; the leg that left keeps only its own talk."""

from __future__ import annotations

import pytest

from ami_listener.agents import AgentTracker
from ami_listener.calls import CallTracker
from ami_listener.origin import ORIGIN_MAX, parse_origin
from ami_listener.parser import WANTED_VARIABLES
from ami_listener.store import snapshot

PEERS = frozenset({"cdmx"})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("cdmx/1733334444.12", ("cdmx", "1733334444.12")),
        ("cdmx/box-1.1733334444.12", ("cdmx", "box-1.1733334444.12")),
        ("mty/1733334444.12", None),  # not a peer (e.g. our own id)
        ("evil/1", None),
        ("cdmx/", None),
        ("cdmx", None),
        ("cdmx/1 2", None),
        ("cdmx/1;2", None),
        ("cdmx/1²", None),  # not ASCII
        ("cdmx/1/2", None),
        ("", None),
        ("cdmx/" + "1" * (ORIGIN_MAX - 4), None),  # over the bound
    ],
)
def test_parse_origin(value: str, expected: tuple[str, str] | None) -> None:
    assert parse_origin(value, PEERS) == expected


def test_the_listener_reads_both_variables() -> None:
    assert {"CENTRALITA_ORIGIN", "CENTRALITA_HANDOFF"} <= WANTED_VARIABLES


def _ev(event: str, ts: float, uid: str, lid: str, **fields: str) -> dict[str, str]:
    return {"Event": event, "Timestamp": f"{ts:.6f}", "Uniqueid": uid, "Linkedid": lid, **fields}


def _queue_call(
    tracker: CallTracker, lid: str, t0: float, variables: dict[str, str], transfer: bool
) -> None:
    """One caller answered in network_es by agent 1001; `transfer`: then handed over."""
    agent_uid = lid + "9"
    tracker.handle(_ev("Newchannel", t0, lid, lid, Exten="5550100", CallerIDNum="5215550104"))
    for i, (name, value) in enumerate(variables.items()):
        tracker.handle(_ev("VarSet", t0 + 0.1 + i / 100, lid, lid, Variable=name, Value=value))
    tracker.handle(_ev("QueueCallerJoin", t0 + 1, lid, lid, Queue="network_es", Position="1"))
    member = {"Queue": "network_es", "Interface": "PJSIP/1001", "MemberName": "Ana"}
    tracker.handle(_ev("AgentCalled", t0 + 2, lid, lid, DestUniqueid=agent_uid, **member))
    tracker.handle(
        _ev("AgentConnect", t0 + 4, lid, lid, DestUniqueid=agent_uid, HoldTime="3", **member)
    )
    if transfer:
        tracker.handle(
            _ev(
                "AgentComplete",
                t0 + 10,
                lid,
                lid,
                DestUniqueid=agent_uid,
                HoldTime="3",
                TalkTime="6",
                Reason="transfer",
                **member,
            )
        )
        tracker.handle(
            _ev("VarSet", t0 + 10.1, lid, lid, Variable="CENTRALITA_HANDOFF", Value="mty")
        )
    else:
        tracker.handle(
            _ev(
                "AgentComplete",
                t0 + 30,
                lid,
                lid,
                DestUniqueid=agent_uid,
                HoldTime="3",
                TalkTime="26",
                Reason="caller",
                **member,
            )
        )
    tracker.handle(_ev("Hangup", t0 + 60, agent_uid, lid, Cause="16"))
    tracker.handle(_ev("Hangup", t0 + 60, lid, lid, Cause="16"))


def _tracker() -> CallTracker:
    tracker = CallTracker(AgentTracker({"PJSIP/1001": ("1001", "Ana")}))
    tracker.peer_pbxs = PEERS
    return tracker


def test_the_continued_leg_is_not_counted_again() -> None:
    tracker = _tracker()
    _queue_call(tracker, "1700000000.1", 1_700_000_000.0, {"CENTRALITA_ORIGIN": "cdmx/17.3"}, False)
    rows = {lid: snapshot(c, "mty").row for lid, c in tracker.out.dirty_calls.items()}
    row = rows["1700000000.1"]
    assert (row["origin_pbx_id"], row["origin_linkedid"]) == ("cdmx", "17.3")
    assert row["outcome"] == "answered" and row["agent_login"] == "1001"
    assert row["talk_seconds"] == 26
    assert tracker.out.counters == []  # offered, answered, talk: all on cdmx


def test_a_refused_origin_is_a_new_caller_call() -> None:
    tracker = _tracker()
    _queue_call(tracker, "1700000000.2", 1_700_000_000.0, {"CENTRALITA_ORIGIN": "mty/17.3"}, False)
    row = snapshot(tracker.out.dirty_calls["1700000000.2"], "mty").row
    assert row["origin_pbx_id"] is None and row["origin_linkedid"] is None
    fields = {name for _call, name, _n, _op in tracker.out.counters}
    assert {"offered", "answered", "talk_count"} <= fields


def test_the_leg_handed_over_ends_transferred_with_its_own_talk() -> None:
    tracker = _tracker()
    _queue_call(tracker, "1700000000.3", 1_700_000_000.0, {"IVR_LANG": "es"}, True)
    row = snapshot(tracker.out.dirty_calls["1700000000.3"], "cdmx").row
    assert row["outcome"] == "transferred"
    # 6 s with the agent here, not the 50 s until the caller hung up on the other box
    assert row["talk_seconds"] == 6
    assert row["origin_pbx_id"] is None
    counted = [(name, n) for _call, name, n, _op in tracker.out.counters]
    assert ("offered", 1) in counted and ("answered", 1) in counted
    assert ("talk_total_s", 6) in counted
    assert not any(name == "abandoned" for name, _n in counted)


def test_a_restarted_listener_keeps_the_origin(session_factory) -> None:  # type: ignore[no-untyped-def]
    """An unfinished continued leg is reloaded with its origin, so it stays uncounted."""
    from ami_listener.store import CallStore

    tracker = _tracker()
    lid = "1700000000.4"
    t0 = 1_700_000_000.0
    tracker.handle(_ev("Newchannel", t0, lid, lid, Exten="network_es"))
    tracker.handle(
        _ev("VarSet", t0 + 0.1, lid, lid, Variable="CENTRALITA_ORIGIN", Value="cdmx/9.1")
    )
    tracker.handle(_ev("QueueCallerJoin", t0 + 1, lid, lid, Queue="network_es", Position="1"))
    store = CallStore(session_factory, "mty")
    store.write([snapshot(tracker.calls[lid], "mty")])
    (restored,) = store.load_open_calls()
    assert restored.origin == ("cdmx", "9.1")
    again = _tracker()
    again.restore(restored)
    member = {"Queue": "network_es", "Interface": "PJSIP/1001", "MemberName": "Ana"}
    again.handle(_ev("AgentConnect", t0 + 5, lid, lid, DestUniqueid="x", HoldTime="4", **member))
    assert again.out.counters == []
