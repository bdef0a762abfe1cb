"""Agent logged-in / paused time and occupancy: pure pieces, seeded rows on both
engines, and the member_management trace against its own queue_log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from callstats.agent_time import agent_times, paused_spans, union_seconds
from servicedesk.models import AgentSession, AgentStateChange
from tests.callstats.trace_data import records_from_trace


def test_union_seconds() -> None:
    assert union_seconds([], 0, 100) == 0
    assert union_seconds([(0, 10), (5, 20), (30, 40)], 0, 100) == 20 + 10
    assert union_seconds([(0, 10), (5, 20), (30, 40)], 8, 35) == 12 + 5  # clipped
    assert union_seconds([(10, 5)], 0, 100) == 0  # empty spans ignored


def test_paused_spans() -> None:
    rows = [
        (10.0, "pause", "a"),
        (12.0, "pause", "b"),
        (15.0, "unpause", "a"),  # still paused in b
        (18.0, "unpause", "b"),
        (30.0, "pause", ""),  # every queue
        (35.0, "unpause", ""),
        (50.0, "pause", "a"),
        (55.0, "logout", "a"),
        (70.0, "pause", "b"),  # still paused at the end
        (71.0, "login", "b"),  # ignored
    ]
    assert paused_spans(rows, until=100.0) == [
        (10.0, 18.0),
        (30.0, 35.0),
        (50.0, 55.0),
        (70.0, 100.0),
    ]


T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_seeded_rows(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        s.add_all(
            [
                # two overlapping queue sessions: logged in 0..120 once, not twice
                AgentSession(
                    agent_login="1001",
                    interface="PJSIP/1001",
                    queue="a",
                    login_at=at(0),
                    logout_at=at(90),
                ),
                AgentSession(
                    agent_login="1001",
                    interface="PJSIP/1001",
                    queue="b",
                    login_at=at(30),
                    logout_at=at(120),
                ),
                # still logged in: counts until as_of
                AgentSession(
                    agent_login="1002",
                    interface="PJSIP/1002",
                    queue="a",
                    login_at=at(60),
                    logout_at=None,
                ),
                AgentStateChange(
                    agent_login="1001", at=at(10), kind="pause", queue="a", reason="lunch"
                ),
                AgentStateChange(agent_login="1001", at=at(40), kind="unpause", queue="a"),
                # paused in b until it logs out of b
                AgentStateChange(
                    agent_login="1001", at=at(100), kind="pause", queue="b", reason="break"
                ),
                AgentStateChange(agent_login="1001", at=at(120), kind="logout", queue="b"),
            ]
        )
        s.commit()
    with session_factory() as s:
        times = agent_times(s, at(0), at(24 * 60), as_of=at(180), talk_by_agent={"1001": 1800})
    a = times["1001"]
    assert a.logged_in_s == 120 * 60
    assert a.paused_s == (30 + 20) * 60
    assert a.available_s == 70 * 60
    assert a.occupancy == pytest.approx(100 * 1800 / (70 * 60))
    b = times["1002"]
    assert b.logged_in_s == 120 * 60 and b.paused_s == 0 and b.occupancy == 0.0
    # a window cuts sessions and pauses
    with session_factory() as s:
        part = agent_times(s, at(20), at(60), as_of=at(180))
    assert part["1001"].logged_in_s == 40 * 60 and part["1001"].paused_s == 20 * 60


def test_member_management_trace(traces_dir: Path, session_factory: sessionmaker[Session]) -> None:
    """Agent Two: ADDMEMBER 1795339632 → REMOVEMEMBER 1795339649, PAUSE lunch 1795339635 →
    UNPAUSE 1795339638; Agent One: PAUSEALL 1795339640 → UNPAUSEALL 1795339644 (both
    queues). queue_log has whole seconds, AMI fractions: agree within a second."""
    trace = traces_dir / "member_management"
    log = [line.split("|") for line in (trace / "queue_log").read_text().splitlines()]

    def when(event: str, agent: str) -> int:
        return next(int(p[0]) for p in log if p[4] == event and p[3] == agent)

    records_from_trace(trace, session_factory)
    day = datetime(2026, 11, 22, tzinfo=UTC)
    with session_factory() as s:
        times = agent_times(s, day, day + timedelta(days=1), as_of=day + timedelta(days=1))
    two = times["agent2"]
    assert two.logged_in_s == pytest.approx(
        when("REMOVEMEMBER", "PJSIP/agent2") - when("ADDMEMBER", "PJSIP/agent2"), abs=1
    )
    assert two.paused_s == pytest.approx(
        when("UNPAUSE", "Agent Two") - when("PAUSE", "Agent Two"), abs=1
    )
    one = times["agent1"]
    assert one.paused_s == pytest.approx(
        when("UNPAUSEALL", "Agent One") - when("PAUSEALL", "Agent One"), abs=1
    )
