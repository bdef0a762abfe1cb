"""The listener on the calling features' real traces: the spied-on queue call agrees with
queue_log call by call, and every root channel (the originated agent legs, the supervisor's
phone) yields exactly one finished record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from servicedesk.config import CentralitaConfig
from tests.ami_listener.test_trace_replay import check_against_queue_log, replay

TRACES = Path(__file__).parents[1] / "data" / "asterisk-traces"


@pytest.mark.parametrize(
    "scenario", ["calling_chanspy_whisper", "calling_originate", "calling_attended_transfer"]
)
async def test_calling_traces_replay(
    scenario: str,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    trace = TRACES / scenario
    calls, _service = await replay(trace, example_config, session_factory, redis_url)
    if (trace / "queue_log").read_text().count("ENTERQUEUE"):
        check_against_queue_log(trace, calls)
    roots = set()
    for line in (trace / "ami.jsonl").read_text().splitlines():
        msg = json.loads(line)
        if msg.get("Event") == "Newchannel" and msg["Uniqueid"] == msg["Linkedid"]:
            roots.add(msg["Linkedid"])
    assert {c.linkedid for c in calls.values()} == roots
    assert all(c.ended_at is not None and c.outcome for c in calls.values())


@pytest.mark.parametrize(
    ("scenario", "talk"),
    [
        ("calling_blind_transfer", 16),
        ("calling_phone_blind_transfer", 20),
        ("calling_phone_xfer_after_abort", 36),
    ],
)
async def test_blind_transfer_is_one_call_counted_once(
    scenario: str,
    talk: int,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    """calling_blind_transfer: queue_log has CONNECT in support (hold 2), BLINDTRANSFER
    after 6 s of talk, ENTERQUEUE secondlevel, CONNECT, COMPLETECALLER after 10 s; keyed
    on the phone (calling_phone_blind_transfer, #1 801): BLINDTRANSFER after 9 s, then 11 s."""
    import redis as redis_lib

    trace = TRACES / scenario
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    calls, _service = await replay(trace, example_config, session_factory, redis_url)
    ql = [line.split("|") for line in (trace / "queue_log").read_text().splitlines()]
    connect = next(p for p in ql if p[4] == "CONNECT")
    transfer = next(p for p in ql if p[4] == "BLINDTRANSFER")
    complete = next(p for p in ql if p[4] == "COMPLETECALLER")
    (call,) = calls.values()
    assert call.uniqueid == transfer[1] == complete[1]
    assert call.outcome == "transferred" and call.queue == transfer[2] == "support"
    assert call.hold_seconds == int(connect[5]) == 2
    assert call.talk_seconds == int(transfer[8]) + int(complete[6]) == talk
    assert call.agent_member == complete[3] == "Agent Two" and call.hung_up_by == "caller"
    # after a cancelled consultation its ring stays on the caller's record (as in
    # test_attended_transfer_replay's calling_atxfer_abort)
    consulted = [("PJSIP/agent2", "canceled")] if "abort" in scenario else []
    assert sorted((r.member, r.result) for r in call.rings) == [
        ("PJSIP/agent1", "answered"),
        ("PJSIP/agent2", "answered"),
        *consulted,
    ]
    counters: dict[str, dict[str, str]] = {
        key: client.hgetall(key) for key in client.scan_iter("*:counters:*") if ":seen" not in key
    }
    offered = {k.rsplit(":", 1)[-1]: int(v.get("offered", 0)) for k, v in counters.items()}
    answered = {k.rsplit(":", 1)[-1]: int(v.get("answered", 0)) for k, v in counters.items()}
    assert offered == {"support": 1} and answered == {"support": 1}
