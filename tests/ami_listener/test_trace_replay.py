"""Every recorded trace replayed byte for byte (odd-sized chunks) into the real listener.

Records are checked against queue_log — Asterisk's own account of each queue
call in the same recording — and against each scenario.md's stated outcome.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicedesk.config import CentralitaConfig
from servicedesk.models import AgentSession, AgentStateChange, Call
from tests.ami_listener.harness import (
    TRACE_WRAPUP,
    calls_by_uniqueid,
    queue_log_calls,
    replay_raw,
)

SCENARIOS = [
    "answered_caller_hangup",
    "answered_agent_hangup",
    "ringnoanswer_then_answer",
    "abandoned",
    "exit_timeout",
    "join_empty_leave_empty",
    "member_management",
    "priority_and_penalty",
    "fastagi_ivr",
    "fastagi_hangup_midway",
    "load_mix",
]


async def replay(
    trace: Path,
    cfg: CentralitaConfig,
    factory: sessionmaker[Session],
    redis_url: str | None,
) -> tuple[dict[str, Call], object]:
    service = await replay_raw(
        trace / "ami.raw", cfg, factory, redis_url, TRACE_WRAPUP.get(trace.name, 0)
    )
    return calls_by_uniqueid(factory), service


def check_against_queue_log(trace: Path, calls: dict[str, Call]) -> None:
    expected = queue_log_calls(trace / "queue_log")
    assert expected, "trace without queue calls"
    for uid, exp in expected.items():
        call = calls[uid]
        assert call.outcome == exp["outcome"], uid
        assert call.hold_seconds == exp["hold"], uid
        assert call.caller_num == exp["caller"], uid
        assert call.queue == exp["queue"]
        assert call.queue_position == exp["position"]
        assert call.ended_at is not None
        if exp["outcome"] == "answered":
            assert call.talk_seconds == exp["talk"], uid
            assert call.hung_up_by == exp["hung_up_by"], uid
            assert call.agent_member == exp["agent"], uid
            assert call.answered_at is not None and call.entered_queue_at is not None
            assert int(call.answered_at.timestamp() - call.entered_queue_at.timestamp()) in (
                exp["hold"],
                exp["hold"] - 1,
                exp["hold"] + 1,
            )
            answered = [r for r in call.rings if r.result == "answered"]
            assert len(answered) == 1 and answered[0].agent_login == call.agent_login
        else:
            assert call.talk_seconds is None and call.answered_at is None
            assert call.hung_up_by == ("caller" if exp["outcome"] == "abandoned" else "system")
            canceled = [r for r in call.rings if r.result == "canceled"]
            assert len(canceled) == exp["rc"], uid
        not_answered = [r for r in call.rings if r.result in ("noanswer", "busy")]
        assert len(not_answered) == exp["rna"], uid
        assert all(r.result is not None and r.ring_ms is not None for r in call.rings)


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_trace_replay_matches_asterisk(
    scenario: str,
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    trace = traces_dir / scenario
    calls, _service = await replay(trace, example_config, session_factory, redis_url)
    if scenario != "member_management" and (trace / "queue_log").read_text().count("ENTERQUEUE"):
        check_against_queue_log(trace, calls)
    # every caller channel of the trace yields exactly one finished record
    roots = set()
    for line in (trace / "ami.jsonl").read_text().splitlines():
        msg = json.loads(line)
        if msg.get("Event") == "Newchannel" and msg["Uniqueid"] == msg["Linkedid"]:
            roots.add(msg["Linkedid"])
    with session_factory() as s:
        linkedids = set(s.scalars(select(Call.linkedid)).all())
    assert linkedids == roots
    assert all(c.ended_at is not None and c.outcome for c in calls.values())


async def test_answered_caller_hangup_exact_times(
    traces_dir: Path, example_config: CentralitaConfig, session_factory: sessionmaker[Session]
) -> None:
    calls, _ = await replay(
        traces_dir / "answered_caller_hangup", example_config, session_factory, None
    )
    call = calls["1795339491.0"]
    assert call.caller_name == "Alice Caller"
    assert call.started_at.timestamp() == pytest.approx(1795339491.349685)
    assert call.entered_queue_at.timestamp() == pytest.approx(1795339491.852310)
    assert call.answered_at.timestamp() == pytest.approx(1795339494.861942)
    assert call.ended_at.timestamp() == pytest.approx(1795339499.859534)
    assert (call.hold_seconds, call.talk_seconds, call.hung_up_by) == (3, 5, "caller")
    rings = {r.agent_login: r for r in call.rings}
    assert rings["agent1"].result == "answered" and rings["agent2"].result == "canceled"
    assert rings["agent1"].started_at.timestamp() == pytest.approx(1795339491.855088)
    assert 2990 <= rings["agent1"].ring_ms <= 3020
    assert call.line_did == "700"


async def test_scenario_specifics(
    traces_dir: Path, example_config: CentralitaConfig, session_factory: sessionmaker[Session]
) -> None:
    """What each scenario.md states beyond queue_log's columns."""
    calls, _ = await replay(traces_dir / "abandoned", example_config, session_factory, None)
    assert calls["1795339552.0"].caller_name == "José Pérez"  # split across reads, intact
    assert {r.result for r in calls["1795339552.0"].rings} == {"canceled"}
    assert all(abs(r.ring_ms - 7501) <= 5 for r in calls["1795339552.0"].rings)

    calls, _ = await replay(
        traces_dir / "join_empty_leave_empty", example_config, session_factory, None
    )
    rejected = calls["1795339618.4"]
    assert rejected.outcome == "join_empty" and rejected.entered_queue_at is None

    calls, _ = await replay(
        traces_dir / "priority_and_penalty", example_config, session_factory, None
    )
    vip, normal, penalty = calls["1795339666.1"], calls["1795339664.0"], calls["1795339690.4"]
    assert vip.answered_at < normal.answered_at  # QUEUE_PRIO=10 served first
    assert [r.result for r in penalty.rings] == ["busy", "busy", "busy", "answered"]
    assert penalty.agent_login == "agent3" and penalty.queue == "billing"

    calls, _ = await replay(traces_dir / "fastagi_ivr", example_config, session_factory, None)
    ivr = calls["1795339715.0"]
    assert (ivr.language, ivr.caller_num, ivr.caller_name) == ("es", "5551009", "IVR Caller")

    calls, _ = await replay(
        traces_dir / "fastagi_hangup_midway", example_config, session_factory, None
    )
    only = calls["1795339738.0"]
    assert (only.outcome, only.hung_up_by, only.queue) == ("ivr_only", "caller", None)


async def test_member_management_agent_state(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    _calls, service = await replay(
        traces_dir / "member_management", example_config, session_factory, redis_url
    )
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = service.bus.keys
    assert r.hgetall(keys.agent_state("agent2"))["state"] == "logged_out"
    a1 = r.hgetall(keys.agent_state("agent1"))
    assert a1["state"] == "available" and json.loads(a1["queues"]) == {"support": 0, "sales": 0}
    with session_factory() as s:
        pauses = s.execute(
            select(AgentStateChange.agent_login, AgentStateChange.queue, AgentStateChange.reason)
            .where(AgentStateChange.kind == "pause")
            .order_by(AgentStateChange.at, AgentStateChange.queue)
        ).all()
        assert [tuple(p) for p in pauses] == [
            ("agent2", "support", "lunch"),
            ("agent1", "support", "break"),
            ("agent1", "sales", "break"),
        ]
        (session,) = s.scalars(
            select(AgentSession).where(AgentSession.agent_login == "agent2")
        ).all()
        assert (session.queue, session.penalty) == ("support", 2)  # penalty at login
        assert session.logout_at is not None
        assert session.logout_at.timestamp() == pytest.approx(1795339649.154650)
