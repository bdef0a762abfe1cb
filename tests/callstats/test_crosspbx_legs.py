"""A caller transferred to another PBX is one caller call in the figures: the leg that
continues there (a row with an origin) is left out of the queue figures, in SQL and in
Python alike, and still counts for the agent who took it; so do the wallboard's counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from ami_listener import wallboard
from callstats import aggregate
from callstats.definitions import QueueRules
from callstats.records import load_calls
from callstats.sql_figures import CallScope, agent_figures, merge, slot_figures
from servicedesk.models import Call

WIDE = CallScope(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
RULES = QueueRules(servicelevel=20, short_abandon=5)


def rules_for(_queue: str) -> QueueRules:
    return RULES


def _rows(factory: sessionmaker[Session]) -> None:
    t = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    common = {"queue": "network_es", "hung_up_by": "caller"}
    with factory() as s:
        s.add_all(
            [
                # came in on cdmx, answered by 1001, handed over to mty
                Call(pbx_id="cdmx", linkedid="17.3", uniqueid="17.3", started_at=t,
                     entered_queue_at=t + timedelta(seconds=30), hold_seconds=4,
                     talk_seconds=6, agent_login="1001", outcome="transferred", **common),
                # its continuation on mty, answered by 2002
                Call(pbx_id="mty", linkedid="17.3", uniqueid="17.3", started_at=t,
                     entered_queue_at=t + timedelta(seconds=41), hold_seconds=9,
                     talk_seconds=120, agent_login="2002", outcome="answered",
                     origin_pbx_id="cdmx", origin_linkedid="17.3", **common),
                # another handed-over caller who gave up waiting on mty
                Call(pbx_id="cdmx", linkedid="17.4", uniqueid="17.4", started_at=t,
                     entered_queue_at=t + timedelta(seconds=50), hold_seconds=2,
                     talk_seconds=5, agent_login="1001", outcome="transferred", **common),
                Call(pbx_id="mty", linkedid="17.5", uniqueid="17.5", started_at=t,
                     entered_queue_at=t + timedelta(seconds=70), hold_seconds=40,
                     outcome="abandoned", origin_pbx_id="cdmx", origin_linkedid="17.4",
                     **common),
            ]
        )  # fmt: skip
        s.commit()


def test_continued_legs_are_not_new_caller_calls(session_factory: sessionmaker[Session]) -> None:
    _rows(session_factory)
    with session_factory() as s:
        slots = slot_figures(s, WIDE, rules_for)
        sql = merge(slots, lambda q, _s: q, lambda _q: "answered")["network_es"]
        calls = load_calls(s, WIDE.start, WIDE.end)
        py = aggregate.by_queue(calls, rules_for)["network_es"]
        assert sql.as_dict() == py.as_dict()
        # two caller calls: offered twice, both answered (and transferred), none abandoned
        assert (sql.offered, sql.answered, sql.transferred, sql.abandoned) == (2, 2, 2, 0)
        assert sql.talk_total == 11  # the legs on cdmx; mty's talk is the agent's, below
        sql_agents = {k: v.as_dict() for k, v in agent_figures(s, WIDE, rules_for).items()}
        py_agents = {k: v.as_dict() for k, v in aggregate.by_agent(calls, rules_for).items()}
        assert sql_agents == py_agents
        assert sql_agents["2002"]["answered"] == 1 and sql_agents["2002"]["talk_total"] == 120
        assert sql_agents["1001"]["transferred"] == 2


def test_wallboard_recompute_skips_continued_legs(
    session_factory: sessionmaker[Session],
) -> None:
    _rows(session_factory)
    with session_factory() as s:
        day = "2026-03-02"
        mty = wallboard.recompute(s, "mty", day, "network_es", "UTC", lambda _q: (20, 5))
        cdmx = wallboard.recompute(s, "cdmx", day, "network_es", "UTC", lambda _q: (20, 5))
    assert mty["offered"] == mty["answered"] == mty["abandoned"] == 0
    assert (cdmx["offered"], cdmx["answered"], cdmx["abandoned"]) == (2, 2, 0)
