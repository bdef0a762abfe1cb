"""Incident lifecycle, numbering, priority, SLA due times and audit trail, on both engines."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicedesk import incidents as inc
from servicedesk.config import CentralitaConfig
from servicedesk.db import session_scope
from servicedesk.models import Call, Contact, Incident, IncidentEvent, Organisation

MX = ZoneInfo("America/Mexico_City")
# Monday 2 March 2026, 10:00 in Mexico City: a working day, inside the morning shift.
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=MX)


def _at(minutes: int) -> datetime:
    return MONDAY_10 + timedelta(minutes=minutes)


def _new(session: Session, cfg: CentralitaConfig, **kw: object) -> Incident:
    args: dict[str, object] = {"title": "VPN caída", "actor": "ivr", "now": MONDAY_10}
    args.update(kw)
    return inc.create_incident(session, cfg, **args)  # type: ignore[arg-type]


# --- numbering -----------------------------------------------------------


def test_numbers_are_dense_and_keyed_by_digits(session: Session, example_config) -> None:
    made = [_new(session, example_config) for _ in range(3)]
    session.commit()
    assert [i.number for i in made] == [1, 2, 3]
    assert made[1].display_number == "INC-000002"
    for keyed in ("2", "0002", "000002", " 2 ", 2):
        found = inc.find_by_keyed_number(session, keyed)
        assert found is not None and found.id == made[1].id
    assert inc.find_by_keyed_number(session, "4") is None
    assert inc.find_by_keyed_number(session, "0") is None
    assert inc.find_by_keyed_number(session, "0000") is None
    assert inc.find_by_keyed_number(session, "12345678901234567890") is None


@pytest.mark.parametrize("bad", ["", "   ", "12a", "INC-000002", "-2", "2.0", "٣", "1 2", "#"])
def test_keyed_number_refuses_non_digits(session: Session, bad: str) -> None:
    with pytest.raises(inc.InvalidIncidentNumber, match="digits only"):
        inc.find_by_keyed_number(session, bad)


def test_display_number_parsing() -> None:
    assert inc.parse_display_number("INC-004217") == 4217
    assert inc.parse_display_number("inc4217") == 4217
    assert inc.parse_display_number("004217") == 4217
    assert inc.parse_display_number("ticket 4217") is None


def test_rolled_back_creation_gives_its_number_back(session: Session, example_config) -> None:
    _new(session, example_config)
    session.commit()
    _new(session, example_config)
    session.rollback()
    again = _new(session, example_config)
    session.commit()
    assert again.number == 2


def test_concurrent_creation_gives_unique_dense_numbers(
    session_factory: sessionmaker[Session], example_config: CentralitaConfig
) -> None:
    threads, per_thread = 8, 25
    numbers: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker(k: int) -> None:
        try:
            start.wait()
            for j in range(per_thread):
                with session_scope(session_factory) as s:
                    n = inc.create_incident(
                        s, example_config, title=f"t{k}-{j}", actor=f"agent:{k}"
                    ).number
                with lock:
                    numbers.append(n)
        except BaseException as exc:  # reported below, not swallowed
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    assert not errors, errors
    total = threads * per_thread
    assert sorted(numbers) == list(range(1, total + 1))
    with session_factory() as s:
        stored = s.scalars(select(Incident.number)).all()
        assert sorted(stored) == list(range(1, total + 1))


# --- priority ------------------------------------------------------------

MATRIX = {
    ("high", "high"): "critical",
    ("high", "medium"): "high",
    ("high", "low"): "medium",
    ("medium", "high"): "high",
    ("medium", "medium"): "medium",
    ("medium", "low"): "low",
    ("low", "high"): "medium",
    ("low", "medium"): "low",
    ("low", "low"): "planned",
}


@pytest.mark.parametrize(("impact", "urgency"), sorted(MATRIX))
def test_priority_from_matrix(session: Session, example_config, impact, urgency) -> None:
    i = _new(session, example_config, impact=impact, urgency=urgency)
    assert i.priority == MATRIX[(impact, urgency)]
    assert i.priority_overridden is False


def test_priority_matrix_comes_from_config(session: Session, example_config) -> None:
    matrix = {k: dict(v) for k, v in example_config.priority.matrix.items()}
    matrix["low"]["low"] = "high"
    cfg = example_config.model_copy(
        update={"priority": example_config.priority.model_copy(update={"matrix": matrix})}
    )
    assert _new(session, cfg, impact="low", urgency="low").priority == "high"


def test_priority_override_is_recorded(session: Session, example_config) -> None:
    i = _new(session, example_config, impact="low", urgency="low", priority="critical")
    assert i.priority == "critical" and i.priority_overridden is True
    created = i.events[0]
    assert created.kind == "created"
    assert created.data["computed_priority"] == "planned"
    assert created.data["priority"] == "critical"
    same = _new(session, example_config, impact="low", urgency="low", priority="planned")
    assert same.priority_overridden is False


def test_update_recomputes_priority_and_due_times(session: Session, example_config) -> None:
    i = _new(session, example_config)  # medium: 120 min response on office hours
    assert i.response_due_at == _at(120)
    inc.update(session, example_config, i, actor="1001", urgency="high", now=_at(5))
    assert i.priority == "high"
    assert i.response_due_at == _at(60)  # re-derived from created_at, not from the update
    ev = i.events[-1]
    assert ev.kind == "updated" and ev.data["changes"]["priority"] == ["medium", "high"]
    inc.update(session, example_config, i, actor="1001", priority="low", now=_at(6))
    assert i.priority == "low" and i.priority_overridden
    inc.update(session, example_config, i, actor="1001", impact="high", now=_at(7))
    assert i.priority == "low"  # an override survives impact/urgency changes
    inc.update(session, example_config, i, actor="1001", priority=None, now=_at(8))
    assert i.priority == "critical" and not i.priority_overridden
    n = len(i.events)
    inc.update(session, example_config, i, actor="1001", title="VPN caída")  # no change
    assert len(i.events) == n


# --- SLA -----------------------------------------------------------------


def test_due_times_follow_policy_calendar(session: Session, example_config) -> None:
    medium = _new(session, example_config)
    # 120 business minutes from 10:00 Monday on 09-13 + 15-18 is 12:00.
    assert medium.response_due_at == _at(120)
    # 240 minutes: 10-13 (180) then 15:00-16:00.
    assert medium.resolution_due_at == MONDAY_10.replace(hour=16)
    late = _new(session, example_config, now=MONDAY_10.replace(hour=17, minute=30))
    # 30 min left on Monday; the remaining 90 run from 09:00 Tuesday.
    assert late.response_due_at == datetime(2026, 3, 3, 10, 30, tzinfo=MX)
    critical = _new(session, example_config, impact="high", urgency="high")
    assert critical.response_due_at == MONDAY_10
    assert critical.resolution_due_at == _at(240)
    planned = _new(session, example_config, impact="low", urgency="low")
    assert planned.response_due_at is None and planned.resolution_due_at is None


def test_first_agent_action_meets_response(session: Session, example_config) -> None:
    i = _new(session, example_config, actor="ivr")
    assert i.first_response_at is None
    inc.add_note(session, i, actor="system", note="auto-ack e-mail sent", now=_at(1))
    inc.link_call(session, i, _call(session).id, actor="ivr", now=_at(2))
    assert i.first_response_at is None
    inc.assign(session, i, assignee="1001", actor="1005", now=_at(3))
    assert i.first_response_at == _at(3)
    inc.start_work(session, i, actor="1001", now=_at(9))
    assert i.first_response_at == _at(3)  # set once
    by_agent = _new(session, example_config, actor="agent:1001")
    assert by_agent.first_response_at == MONDAY_10


def test_sla_status_reports_both_clocks(session: Session, example_config) -> None:
    i = _new(session, example_config, actor="ivr")  # medium: 120/240 on office
    st = inc.sla_status(example_config, i, _at(10))
    assert (st.response_state, st.resolution_state) == ("on_track", "on_track")
    assert st.response_due == _at(120)
    st = inc.sla_status(example_config, i, _at(100))  # 83 % of the response target
    assert st.response_state == "at_risk"
    st = inc.sla_status(example_config, i, _at(125))
    assert st.response_state == "breached"
    inc.assign(session, i, assignee="1001", actor="1001", now=_at(30))
    st = inc.sla_status(example_config, i, _at(125))
    assert st.response_state == "met"
    planned = _new(session, example_config, impact="low", urgency="low")
    st = inc.sla_status(example_config, planned, _at(10))
    assert (st.response_state, st.resolution_state) == ("none", "none")


# --- lifecycle -----------------------------------------------------------


def _call(session: Session, linkedid: str = "1700000000.1") -> Call:
    call = Call(pbx_id="pbx1", linkedid=linkedid, uniqueid=linkedid, started_at=MONDAY_10)
    session.add(call)
    session.flush()
    return call


def test_full_lifecycle_and_audit_trail(session: Session, example_config) -> None:
    reporter = Contact(name="Lucía Pérez")
    session.add(reporter)
    session.flush()
    call = _call(session)
    i = _new(session, example_config, actor="ivr", reporter_id=reporter.id, call_id=call.id)
    inc.assign(session, i, assignee="1001", actor="1005", now=_at(1))
    inc.start_work(session, i, actor="1001", now=_at(2))
    inc.escalate(session, i, 2, actor="1001", assignee="gsoto", note="router core", now=_at(3))
    assert (i.status, i.level, i.assignee_login) == ("escalated", 2, "gsoto")
    inc.start_work(session, i, actor="gsoto", now=_at(4))
    inc.escalate(session, i, 3, actor="gsoto", now=_at(5))
    assert (i.status, i.level, i.assignee_login) == ("escalated", 3, None)
    inc.assign(session, i, assignee="guardia", actor="gsoto", now=_at(6))
    inc.start_work(session, i, actor="guardia", now=_at(7))
    inc.resolve(session, i, actor="guardia", resolution="replaced line card", now=_at(8))
    assert i.resolved_at == _at(8)
    inc.verify(session, i, accepted=True, actor=f"contact:{reporter.id}", now=_at(9))
    assert i.status == "closed" and i.closed_at == _at(9)
    session.commit()

    events = session.scalars(
        select(IncidentEvent).where(IncidentEvent.incident_id == i.id).order_by(IncidentEvent.id)
    ).all()
    trail = [(e.kind, e.from_status, e.to_status, e.actor) for e in events]
    assert trail == [
        ("created", None, "new", "ivr"),
        ("call_linked", "new", "new", "ivr"),
        ("assigned", "new", "assigned", "1005"),
        ("started", "assigned", "in_progress", "1001"),
        ("escalated", "in_progress", "escalated", "1001"),
        ("started", "escalated", "in_progress", "gsoto"),
        ("escalated", "in_progress", "escalated", "gsoto"),
        ("assigned", "escalated", "assigned", "gsoto"),
        ("started", "assigned", "in_progress", "guardia"),
        ("resolved", "in_progress", "resolved", "guardia"),
        ("verified", "resolved", "closed", f"contact:{reporter.id}"),
    ]
    assert [e.at for e in events] == [MONDAY_10, MONDAY_10] + [_at(k) for k in range(1, 10)]
    assert events[4].data == {
        "from_level": 1,
        "to_level": 2,
        "assignee": "gsoto",
        "previous_assignee": "1001",
    }
    assert events[4].note == "router core"
    assert events[9].data == {"resolution": "replaced line card"}
    assert [c.call_id for c in i.calls] == [call.id]


def test_rejected_verification_reopens(session: Session, example_config) -> None:
    i = _new(session, example_config)
    inc.assign(session, i, assignee="1001", actor="1001", now=_at(1))
    inc.resolve(session, i, actor="1001", now=_at(2))
    inc.verify(session, i, accepted=False, actor="1001", note="still no VPN", now=_at(3))
    assert i.status == "in_progress" and i.resolved_at is None and i.closed_at is None
    assert i.events[-1].kind == "reopened"
    assert i.events[-1].data["accepted"] is False
    assert i.events[-1].note == "still no VPN"
    inc.resolve(session, i, actor="1001", now=_at(4))
    inc.verify(session, i, accepted=True, actor="1001", now=_at(5))
    assert i.status == "closed"


def test_rejection_without_assignee_returns_to_new(session: Session, example_config) -> None:
    i = _new(session, example_config)
    inc.resolve(session, i, actor="1001", now=_at(1))  # first-call resolution
    inc.verify(session, i, accepted=False, actor="ivr", now=_at(2))
    assert i.status == "new"


def test_only_the_reporter_contact_verifies(session: Session, example_config) -> None:
    a, b = Contact(name="A"), Contact(name="B")
    session.add_all([a, b])
    session.flush()
    i = _new(session, example_config, reporter_id=a.id)
    inc.resolve(session, i, actor="1001", now=_at(1))
    with pytest.raises(inc.IncidentError, match="only the reporter"):
        inc.verify(session, i, accepted=True, actor=f"contact:{b.id}")
    assert i.status == "resolved"


# Operations and whether each status allows them, written out by hand (not
# derived from incidents.TRANSITIONS, so a wrong table fails this test).
OPS = ("assign", "start_work", "escalate", "resolve", "accept", "reject")
ALLOWED = {
    "new": {"assign", "start_work", "escalate", "resolve"},
    "assigned": {"assign", "start_work", "escalate", "resolve"},
    "in_progress": {"assign", "escalate", "resolve"},
    "escalated": {"assign", "start_work", "escalate", "resolve"},
    "resolved": {"accept", "reject"},
    "closed": set(),
}
TARGET = {
    "assign": "assigned",
    "start_work": "in_progress",
    "escalate": "escalated",
    "resolve": "resolved",
    "accept": "closed",
    "reject": "in_progress",
}


def _bring_to(session: Session, cfg: CentralitaConfig, status: str) -> Incident:
    i = _new(session, cfg)
    path = {
        "new": [],
        "assigned": ["assign"],
        "in_progress": ["assign", "start_work"],
        "escalated": ["assign", "escalate"],
        "resolved": ["assign", "resolve"],
        "closed": ["assign", "resolve", "accept"],
    }[status]
    for op in path:
        _apply(session, i, op)
    assert i.status == status
    return i


def _apply(session: Session, i: Incident, op: str) -> None:
    if op == "assign":
        inc.assign(session, i, assignee="1001", actor="1005")
    elif op == "start_work":
        inc.start_work(session, i, actor="1001")
    elif op == "escalate":
        inc.escalate(session, i, i.level + 1, actor="1001")
    elif op == "resolve":
        inc.resolve(session, i, actor="1001")
    elif op == "accept":
        inc.verify(session, i, accepted=True, actor="1001")
    elif op == "reject":
        inc.verify(session, i, accepted=False, actor="1001")


ILLEGAL = [(s, op) for s in ALLOWED for op in OPS if op not in ALLOWED[s]]
LEGAL = [(s, op) for s in ALLOWED for op in OPS if op in ALLOWED[s]]


@pytest.mark.parametrize(("status", "op"), ILLEGAL)
def test_illegal_transition_is_refused(session: Session, example_config, status, op) -> None:
    i = _bring_to(session, example_config, status)
    before = (i.status, len(i.events), i.level, i.assignee_login)
    with pytest.raises(inc.IllegalTransition) as err:
        _apply(session, i, op)
    target = TARGET[op]
    if op == "reject" and i.assignee_login is None:
        target = "new"
    assert err.value.from_status == status
    assert err.value.to_status == target
    assert f"{status} -> {target}" in str(err.value)
    assert i.display_number in str(err.value)
    assert (i.status, len(i.events), i.level, i.assignee_login) == before


@pytest.mark.parametrize(("status", "op"), LEGAL)
def test_legal_transition_is_applied(session: Session, example_config, status, op) -> None:
    i = _bring_to(session, example_config, status)
    n = len(i.events)
    _apply(session, i, op)
    assert i.status == TARGET[op]
    assert len(i.events) == n + 1
    assert (i.events[-1].from_status, i.events[-1].to_status) == (status, TARGET[op])


def test_incidents_table_matches_hand_written_table() -> None:
    assert set(ALLOWED) == set(inc.TRANSITIONS)


@pytest.mark.parametrize(("start", "to_level"), [(1, 1), (2, 2), (2, 1), (3, 3), (1, 4), (3, 2)])
def test_escalation_goes_upwards_only(session: Session, example_config, start, to_level) -> None:
    i = _new(session, example_config)
    for lvl in range(2, start + 1):
        inc.escalate(session, i, lvl, actor="1001")
    assert i.level == start
    with pytest.raises(inc.IllegalTransition, match="upwards only"):
        inc.escalate(session, i, to_level, actor="1001")
    assert i.level == start


def test_escalation_may_skip_to_level_three(session: Session, example_config) -> None:
    i = _new(session, example_config)
    inc.escalate(session, i, 3, actor="1001")
    assert i.level == 3


def test_escalation_level_must_be_an_integer(session: Session, example_config) -> None:
    i = _new(session, example_config)
    with pytest.raises(inc.IncidentError, match="integer"):
        inc.escalate(session, i, "2", actor="1001")  # type: ignore[arg-type]


# --- validation and links ------------------------------------------------


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"title": "  "}, "title is required"),
        ({"actor": ""}, "actor is required"),
        ({"impact": "huge"}, "impact must be one of"),
        ({"urgency": "now"}, "urgency must be one of"),
        ({"priority": "urgent"}, "priority must be one of"),
        ({"channel": "fax"}, "channel must be one of"),
        ({"category": "printers"}, "unknown category 'printers'"),
        ({"now": datetime(2026, 3, 2, 10, 0)}, "naive datetime"),
    ],
)
def test_creation_refuses_bad_input(session: Session, example_config, kw, message) -> None:
    with pytest.raises(inc.IncidentError, match=message):
        _new(session, example_config, **kw)
    assert session.scalars(select(Incident)).all() == []


@pytest.mark.parametrize("channel", ["phone", "email", "web", "monitoring"])
def test_channels(session: Session, example_config, channel: str) -> None:
    i = _new(session, example_config, channel=channel, category="network")
    session.commit()
    assert (i.channel, i.category) == (channel, "network")


def test_link_call_is_idempotent_and_refused_when_closed(session: Session, example_config) -> None:
    i = _new(session, example_config)
    c1, c2 = _call(session, "1.1"), _call(session, "2.2")
    first = inc.link_call(session, i, c1.id, actor="1001")
    assert inc.link_call(session, i, c1.id, actor="1001").id == first.id
    inc.link_call(session, i, c2.id, actor="1001")
    assert sorted(c.call_id for c in i.calls) == sorted([c1.id, c2.id])
    assert [e.kind for e in i.events].count("call_linked") == 2
    inc.resolve(session, i, actor="1001")
    inc.verify(session, i, accepted=True, actor="1001")
    with pytest.raises(inc.IncidentError, match="is closed"):
        inc.link_call(session, i, _call(session, "3.3").id, actor="1001")
    with pytest.raises(inc.IncidentError, match="is closed"):
        inc.update(session, example_config, i, actor="1001", title="x")


def test_open_incidents_for_screen_pop(session: Session, example_config) -> None:
    c = Contact(name="Lucía")
    session.add(c)
    session.flush()
    older = _new(session, example_config, reporter_id=c.id, now=_at(0))
    newer = _new(session, example_config, reporter_id=c.id, now=_at(1))
    done = _new(session, example_config, reporter_id=c.id, now=_at(2))
    _new(session, example_config)  # someone else's
    inc.resolve(session, done, actor="1001")
    inc.verify(session, done, accepted=True, actor="1001")
    got = inc.open_incidents(session, reporter_id=c.id)
    assert [i.number for i in got] == [newer.number, older.number]


def test_actor_kinds() -> None:
    for agent in ("1001", "agent:1001", "gsoto"):
        assert inc.is_agent_actor(agent)
    for machine in ("system", "ivr", "IVR", "monitoring", "email", "web", "contact:7"):
        assert not inc.is_agent_actor(machine)


def test_now_defaults_to_utc(session: Session, example_config) -> None:
    i = inc.create_incident(session, example_config, title="x", actor="ivr")
    assert i.created_at.tzinfo is not None
    assert abs(i.created_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_racing_agents_cannot_both_resolve(
    session_factory: sessionmaker[Session], example_config: CentralitaConfig
) -> None:
    with session_scope(session_factory) as s:
        number = _new(s, example_config).number
    first_holds_lock = threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with session_scope(session_factory) as s:
            i = inc.find_by_keyed_number(s, str(number))
            assert i is not None
            inc.resolve(s, i, actor="1001")
            first_holds_lock.set()
            threading.Event().wait(0.4)  # keep the lock while the other agent tries
        outcome["first"] = "resolved"

    def second() -> None:
        first_holds_lock.wait(10)
        with session_factory() as s:
            i = inc.find_by_keyed_number(s, str(number))
            assert i is not None
            try:
                inc.resolve(s, i, actor="1002")
                s.commit()
                outcome["second"] = "resolved"
            except inc.IllegalTransition as exc:
                outcome["second"] = exc
                s.rollback()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcome["first"] == "resolved"
    err = outcome["second"]
    assert isinstance(err, inc.IllegalTransition), err
    assert (err.from_status, err.to_status) == ("resolved", "resolved")
    with session_factory() as s:
        i = inc.find_by_keyed_number(s, number)
        assert i is not None
        assert [e.kind for e in i.events].count("resolved") == 1
        assert i.events[-1].actor == "1001"


def test_reporter_brings_their_organisation(session: Session, example_config) -> None:
    org = Organisation(name="Grupo Anáhuac")
    session.add(org)
    session.flush()
    c = Contact(name="Lucía", organisation_id=org.id)
    session.add(c)
    session.flush()
    assert _new(session, example_config, reporter_id=c.id).organisation_id == org.id
    other = Organisation(name="Otra")
    session.add(other)
    session.flush()
    explicit = _new(session, example_config, reporter_id=c.id, organisation_id=other.id)
    assert explicit.organisation_id == other.id
    with pytest.raises(inc.IncidentError, match="unknown reporter contact"):
        _new(session, example_config, reporter_id=999_999)
