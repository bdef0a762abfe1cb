"""The listener on the attended-transfer recordings (Asterisk 22.10.1): the caller's record
equals queue_log call by call. The consultation (a Local ;2 that queues in the target
queue with the caller's Linkedid) is folded into the caller's record: a completed
transfer is one call counted once in its first queue (outcome transferred, the first
queue's hold, talk = ATTENDEDTRANSFER's + the consulted agent's COMPLETE*, last agent the
consulted one, every ring kept); a cancelled consultation is no abandon anywhere. The pop
follows the call to the consulted agent."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.calls import CallRecord
from ami_listener.queue_log import TERMINAL_EVENTS, apply_lines, parse_line
from callstats.records import queue_call_from_row
from servicedesk.config import CentralitaConfig
from tests.ami_listener.replay_server import frames_of
from tests.ami_listener.test_trace_replay import replay

TRACES = Path(__file__).parents[1] / "data" / "asterisk-traces"


def _queue_log(scenario: str) -> list[list[str]]:
    lines = (TRACES / scenario / "queue_log").read_text().splitlines()
    return [line.split("|") for line in lines if "|MANAGER|" not in line]


def _counters(client: redis_lib.Redis) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key in client.scan_iter("*:counters:*"):
        if ":seen" in key:
            continue
        for name, value in client.hgetall(key).items():
            out.setdefault(name, {})[key.rsplit(":", 1)[-1]] = int(value)
    return out


def _pops(client: redis_lib.Redis, pattern: str) -> list[tuple[str, str]]:
    keys = [k for k in client.scan_iter("*pops*") if k.endswith(pattern)]
    assert len(keys) == 1, keys
    return [(p["type"], p["call_id"]) for _i, p in client.xrange(keys[0])]


@pytest.mark.parametrize(
    "scenario", ["calling_atxfer_complete", "calling_atxfer_agent_hangup", "calling_phone_atxfer"]
)
async def test_completed_attended_transfer_is_one_call(
    scenario: str,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    calls, _service = await replay(TRACES / scenario, example_config, session_factory, redis_url)
    ql = _queue_log(scenario)
    enter, consult_enter = [p for p in ql if p[4] == "ENTERQUEUE"]
    connect = next(p for p in ql if p[4] == "CONNECT" and p[1] == enter[1])
    transfer = next(p for p in ql if p[4] == "ATTENDEDTRANSFER")
    final = next(p for p in ql if p[4].startswith("COMPLETE"))
    assert transfer[1] == enter[1] and final[1] == consult_enter[1] != enter[1]
    # one record, by the caller's uniqueid: the consultation's is not a call of its own
    assert set(calls) == {enter[1]}
    call = calls[enter[1]]
    assert call.outcome == "transferred" and call.queue == transfer[2] == "support"
    assert call.queue_position == int(enter[7]) and call.caller_num == enter[6]
    assert call.hold_seconds == int(connect[5]) == int(transfer[7])
    assert call.talk_seconds == int(transfer[8]) + int(final[6])
    assert call.agent_member == final[3] == "Agent Two"
    assert call.hung_up_by == ("agent" if final[4] == "COMPLETEAGENT" else "caller")
    assert sorted((r.member, r.result) for r in call.rings) == [
        ("PJSIP/agent1", "answered"),
        ("PJSIP/agent2", "answered"),
    ]
    counters = _counters(client)
    assert counters["offered"] == {"support": 1} and counters["answered"] == {"support": 1}
    assert "abandoned" not in counters
    # the reports read the same record: one queue call, in its first queue, transferred
    (qc,) = [q for q in map(queue_call_from_row, calls.values()) if q is not None]
    assert (qc.queue, qc.outcome, qc.hold) == ("support", "transferred", call.hold_seconds)
    # the pop follows: agent2 is shown the caller's call when rung and when answering
    assert _pops(client, ":agent2") == [
        ("ring", call.linkedid),
        ("answer", call.linkedid),
        ("end", call.linkedid),
    ]
    assert [t for t, _c in _pops(client, ":agent1")] == ["ring", "answer", "end"]


async def test_cancelled_consultation_is_no_abandon(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    scenario = "calling_atxfer_abort"
    calls, _service = await replay(TRACES / scenario, example_config, session_factory, redis_url)
    ql = _queue_log(scenario)
    enter = next(p for p in ql if p[4] == "ENTERQUEUE" and p[2] == "support")
    connect = next(p for p in ql if p[4] == "CONNECT")
    complete = next(p for p in ql if p[4] == "COMPLETEAGENT")
    assert any(p[4] == "ABANDON" and p[2] == "secondlevel" for p in ql)
    assert set(calls) == {enter[1]}
    call = calls[enter[1]]
    assert call.outcome == "answered" and call.queue == "support"
    assert call.hold_seconds == int(connect[5]) == int(complete[5])
    assert call.talk_seconds == int(complete[6])
    assert call.agent_member == complete[3] == "Agent One" and call.hung_up_by == "agent"
    assert sorted((r.member, r.result) for r in call.rings) == [
        ("PJSIP/agent1", "answered"),
        ("PJSIP/agent2", "canceled"),
    ]
    counters = _counters(client)
    assert counters["offered"] == {"support": 1} and counters["answered"] == {"support": 1}
    assert "abandoned" not in counters
    assert _pops(client, ":agent2") == [("ring", call.linkedid), ("end", call.linkedid)]


@pytest.mark.parametrize(
    ("scenario", "event"),
    [
        ("calling_atxfer_complete", "ATTENDEDTRANSFER"),
        ("calling_blind_transfer", "BLINDTRANSFER"),
        ("calling_phone_atxfer", "ATTENDEDTRANSFER"),
        ("calling_phone_blind_transfer", "BLINDTRANSFER"),
    ],
)
def test_a_call_completed_from_queue_log_is_transferred(scenario: str, event: str) -> None:
    """After a gap, a call is completed from its queue_log lines as the listener counts it
    live: outcome transferred, the first queue and its hold; a blind-transferred caller's
    lines go on under the same callid (talk summed, last agent and who hung up from the
    last leg); the attended one's consultation has a callid of its own. A LINK variant of
    ATTENDEDTRANSFER (two channel names before hold and talk) reads the same."""
    lines = [
        parse_line(x)
        for x in (TRACES / scenario / "queue_log").read_text().splitlines()
        if "|MANAGER|" not in x
    ]
    enter = next(x for x in lines if x is not None and x.event == "ENTERQUEUE")
    mine = [x for x in lines if x is not None and x.callid == enter.callid]
    transfer = next(x for x in mine if x.event == event)
    assert event in TERMINAL_EVENTS
    call = CallRecord(linkedid=enter.callid, uniqueid=enter.callid, started_at=enter.time)
    apply_lines(call, mine, {"Agent One": "1001", "Agent Two": "1002"})
    assert (call.outcome, call.queue) == ("transferred", "support")
    assert call.hold_seconds == int(transfer.d(2))
    after = [x for x in mine if x.event.startswith("COMPLETE")]  # the blind one's next leg
    assert call.talk_seconds == int(transfer.d(3)) + sum(int(x.d(1)) for x in after)
    if after:
        assert (call.agent_login, call.hung_up_by) == ("1002", "caller")
    else:
        assert (call.agent_login, call.hung_up_by) == ("1001", "agent")
    link = parse_line("1|c|q|Agent One|ATTENDEDTRANSFER|LINK|PJSIP/a-1|PJSIP/b-2|4|9|1")
    assert link is not None
    other = CallRecord(linkedid="c", uniqueid="c", started_at=0.0)
    apply_lines(other, [link], {})
    assert (other.outcome, other.hold_seconds, other.talk_seconds) == ("transferred", 4, 9)


async def test_talk_without_the_last_agent_complete_is_estimated_per_leg(
    tmp_path: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    """The consulted agent's AgentComplete lost (or after the call was closed): the talk is
    the transferring agent's TalkTime plus the consulted agent's leg from their answer,
    not the whole call since the first answer (which counts the consultation twice)."""
    scenario = "calling_atxfer_complete"
    trace = tmp_path / scenario
    trace.mkdir()
    raw = (TRACES / scenario / "ami.raw").read_bytes()
    head = raw[: raw.index(b"\r\n") + 2] if raw.startswith(b"Asterisk Call Manager/") else b""
    frames = [
        f for f in frames_of(raw) if b"Event: AgentComplete" not in f or b"Reason: transfer" in f
    ]
    assert len(frames) == len(frames_of(raw)) - 1
    (trace / "ami.raw").write_bytes(head + b"".join(frames))
    calls, _service = await replay(trace, example_config, session_factory, redis_url)
    ql = _queue_log(scenario)
    transfer = next(p for p in ql if p[4] == "ATTENDEDTRANSFER")
    final = next(p for p in ql if p[4].startswith("COMPLETE"))
    (call,) = calls.values()
    assert call.outcome == "transferred"
    exact = int(transfer[8]) + int(final[6])
    assert call.talk_seconds in (exact, exact + 1)  # whole seconds from event times
