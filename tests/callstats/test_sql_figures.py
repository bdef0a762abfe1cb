"""The database's GROUP BY gives exactly the figures of `callstats.definitions`:
on every recorded trace (the listener's records) and on random call rows that
exercise every outcome, null holds and talks, and local-day edges, on both engines."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from callstats import aggregate
from callstats.definitions import QueueRules
from callstats.records import load_calls
from callstats.sql_figures import CallScope, agent_figures, merge, slot_figures
from servicedesk.models import Call, Contact, Organisation, RingAttempt
from tests.callstats.trace_data import SCENARIOS, records_from_trace

RULES = {
    "a": QueueRules(servicelevel=20, short_abandon=5, sl_formula="answered"),
    "b": QueueRules(servicelevel=30, short_abandon=8, sl_formula="offered_minus_short"),
}
DEFAULT = QueueRules(servicelevel=15, short_abandon=3, sl_formula="offered")
MX = ZoneInfo("America/Mexico_City")
WIDE = CallScope(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def rules_for(queue: str) -> QueueRules:
    return RULES.get(queue, DEFAULT)


def per_queue_sql(session: Session, scope: CallScope) -> dict[str, dict[str, object]]:
    slots = slot_figures(session, scope, rules_for, RULES)
    merged = merge(slots, lambda q, _s: q, lambda q: rules_for(q).sl_formula)
    return {q: f.as_dict() for q, f in sorted(merged.items())}


def per_queue_python(session: Session, scope: CallScope) -> dict[str, dict[str, object]]:
    calls = load_calls(session, scope.start, scope.end)
    return {q: f.as_dict() for q, f in aggregate.by_queue(calls, rules_for).items()}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_traces_sql_equals_python(
    traces_dir: Path, scenario: str, session_factory: sessionmaker[Session]
) -> None:
    records_from_trace(traces_dir / scenario, session_factory)
    with session_factory() as s:
        want = per_queue_python(s, WIDE)
        assert per_queue_sql(s, WIDE) == want
        calls = load_calls(s, WIDE.start, WIDE.end)
        py_agents = {k: v.as_dict() for k, v in aggregate.by_agent(calls, rules_for).items()}
        sql_agents = {k: v.as_dict() for k, v in agent_figures(s, WIDE, rules_for).items()}
        assert sql_agents == py_agents


def _random_rows(factory: sessionmaker[Session], rng: random.Random, org_id: int) -> None:
    outcomes = [
        "answered",
        "transferred",
        "abandoned",
        "timeout",
        "exit_empty",
        "join_empty",
        "exit_key",
        "withdraw",
        "callback_requested",
        "ivr_only",
        None,
    ]
    base = datetime(2026, 3, 1, tzinfo=MX).astimezone(UTC)
    with factory() as s:
        contact = Contact(organisation_id=org_id, name="x")
        s.add(contact)
        s.flush()
        for i in range(400):
            outcome = rng.choice(outcomes)
            started = base + timedelta(seconds=rng.randrange(-86400, 32 * 86400))
            entered = None if rng.random() < 0.15 else started + timedelta(seconds=5)
            row = Call(
                pbx_id="p",
                linkedid=f"L{i}",
                uniqueid=f"U{i}",
                queue=rng.choice(["a", "b", "c", None]),
                started_at=started,
                entered_queue_at=entered,
                hold_seconds=rng.choice([None, 0, 3, 5, 8, 15, 20, 21, 30, 31, 90]),
                talk_seconds=rng.choice([None, 0, 45, 300]),
                agent_login=rng.choice([None, "", "1001", "1002"]),
                agent_member=rng.choice([None, "PJSIP/1003"]),
                hung_up_by=rng.choice([None, "agent", "caller"]),
                outcome=outcome,
                contact_id=contact.id if rng.random() < 0.5 else None,
            )
            for k in range(rng.choice([0, 0, 1, 2])):
                row.rings.append(
                    RingAttempt(
                        agent_login=rng.choice([None, "1001", "1002"]),
                        member="PJSIP/1009",
                        started_at=started + timedelta(seconds=k),
                        result=rng.choice(["noanswer", "busy", "canceled", None]),
                    )
                )
            s.add(row)
        s.commit()


def test_random_rows_sql_equals_python(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        org = Organisation(name="Org")
        s.add(org)
        s.commit()
        org_id = org.id
    _random_rows(session_factory, random.Random(14), org_id)
    month = CallScope(
        datetime(2026, 3, 1, tzinfo=MX).astimezone(UTC),
        datetime(2026, 4, 1, tzinfo=MX).astimezone(UTC),
    )
    with session_factory() as s:
        assert per_queue_sql(s, month) == per_queue_python(s, month)
        calls = load_calls(s, month.start, month.end)
        py_agents = {k: v.as_dict() for k, v in aggregate.by_agent(calls, rules_for).items()}
        sql_agents = {k: v.as_dict() for k, v in agent_figures(s, month, rules_for).items()}
        assert sql_agents == py_agents
        # 30-minute local intervals, merged from the 15-minute UTC slots
        slots = slot_figures(s, month, rules_for, RULES)
        for minutes in (15, 30, 60):
            by_iv = merge(
                slots,
                lambda q, slot, m=minutes: (q, aggregate.interval_start(slot * 900, m, MX)),
                lambda k: rules_for(k[0]).sl_formula,
            )
            want = aggregate.by_interval(calls, rules_for, minutes, MX)
            assert {k: v.as_dict() for k, v in by_iv.items()} == {
                k: v.as_dict() for k, v in want.items()
            }
        # one organisation's callers only
        scoped = CallScope(month.start, month.end, org_id)
        got = per_queue_sql(s, scoped)
        theirs = {c.uniqueid for c in s.query(Call).filter(Call.contact_id.is_not(None)).all()}
        mine = [c for c in calls if c.callid in theirs]
        want_org = {q: f.as_dict() for q, f in aggregate.by_queue(mine, rules_for).items()}
        assert got == want_org and 0 < sum(f["offered"] for f in got.values()) < sum(
            f["offered"] for f in per_queue_python(s, month).values()
        )
