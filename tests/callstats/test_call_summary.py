"""The trigger-kept call summaries give exactly the figures counted from the call rows.

On both engines: random calls with every outcome, rings let go, surveys; then
the writes a desk really makes after a call is first stored (outcome changed,
answered then transferred, a survey arriving, a queue changed, a ring's result
set, a leg found to continue a call from another PBX, rows deleted), and the whole report (incidents reopened included) built
from the summaries equals the one counted from the rows.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from callstats import aggregate, summary_figures
from callstats.definitions import Figures, QueueRules
from callstats.service_report import build
from callstats.sql_figures import CallScope, agent_figures, slot_figures
from servicedesk import call_summary
from servicedesk.call_summary import SummaryRule
from servicedesk.config import CentralitaConfig
from servicedesk.models import Call, Contact, Incident, IncidentEvent, Organisation, RingAttempt
from tests.callstats.service_fixture import AS_OF, seed_month

MX = ZoneInfo("America/Mexico_City")
MONTH = CallScope(
    datetime(2026, 3, 1, tzinfo=MX).astimezone(UTC),
    datetime(2026, 4, 1, tzinfo=MX).astimezone(UTC),
)
RULES = {
    "a": QueueRules(servicelevel=20, short_abandon=5, sl_formula="answered"),
    "b": QueueRules(servicelevel=30, short_abandon=8, sl_formula="offered_minus_short"),
}
DEFAULT = QueueRules(servicelevel=15, short_abandon=3, sl_formula="offered")
OUTCOMES = [
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


def rules_for(queue: str) -> QueueRules:
    return RULES.get(queue, DEFAULT)


def _store_rules(factory: sessionmaker[Session]) -> None:
    rules = {q: SummaryRule(r.servicelevel, r.short_abandon) for q, r in RULES.items()}
    rules[""] = SummaryRule(DEFAULT.servicelevel, DEFAULT.short_abandon)
    with factory() as s:
        call_summary.rebuild(s.connection(), rules)
        s.commit()


def _seed(factory: sessionmaker[Session], rng: random.Random) -> None:
    base = MONTH.start
    with factory() as s:
        org = Organisation(name="Org")
        s.add(org)
        s.flush()
        contact = Contact(organisation_id=org.id, name="x")
        s.add(contact)
        s.flush()
        for i in range(300):
            started = base + timedelta(seconds=rng.randrange(-86400, 32 * 86400))
            row = Call(
                pbx_id=rng.choice(["pbx1", "pbx2"]),
                linkedid=f"L{i}",
                uniqueid=f"U{i}",
                queue=rng.choice(["a", "b", "c", None]),
                started_at=started,
                entered_queue_at=None if rng.random() < 0.15 else started + timedelta(seconds=5),
                hold_seconds=rng.choice([None, 0, 3, 5, 8, 15, 20, 21, 30, 31, 90]),
                talk_seconds=rng.choice([None, 0, 45, 300]),
                agent_login=rng.choice([None, "", "1001", "1002"]),
                agent_member=rng.choice([None, "PJSIP/1003"]),
                hung_up_by=rng.choice([None, "agent", "caller"]),
                outcome=rng.choice(OUTCOMES),
                satisfaction=rng.choice([None, None, 1, 3, 5, 9]),
                contact_id=contact.id if rng.random() < 0.5 else None,
            )
            if rng.random() < 0.1:  # a leg continuing a call transferred from another PBX
                row.origin_pbx_id, row.origin_linkedid = "pbx9", f"X{i}"
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


def _late_writes(factory: sessionmaker[Session], rng: random.Random) -> None:
    """What happens to stored calls afterwards, one kind of write at a time."""
    with factory() as s:
        ids = list(s.scalars(select(Call.id).order_by(Call.id)))
        for cid in rng.sample(ids, 60):  # the outcome changes (answered → transferred …)
            s.execute(
                update(Call)
                .where(Call.id == cid)
                .values(outcome=rng.choice(OUTCOMES), hold_seconds=rng.choice([None, 2, 19, 95]))
            )
        s.commit()
        for cid in rng.sample(ids, 30):  # a survey answered later, a queue corrected
            s.execute(
                update(Call)
                .where(Call.id == cid)
                .values(satisfaction=rng.choice([2, 4, None]), queue=rng.choice(["a", "b"]))
            )
        for cid in rng.sample(ids, 15):  # moved to another slot (and across the month's end)
            s.execute(
                update(Call)
                .where(Call.id == cid)
                .values(entered_queue_at=MONTH.end - timedelta(minutes=rng.choice([1, 20, -5])))
            )
        for cid in rng.sample(ids, 20):  # its origin learnt late, or found wrong
            origin = rng.choice([None, "pbx9"])
            s.execute(
                update(Call)
                .where(Call.id == cid)
                .values(origin_pbx_id=origin, origin_linkedid=origin and f"Y{cid}")
            )
        s.commit()
        for cid in rng.sample(ids, 20):  # the row that held a slot's longest wait shrinks
            s.execute(update(Call).where(Call.id == cid).values(hold_seconds=0))
        s.commit()
        for ring in s.scalars(select(RingAttempt).order_by(RingAttempt.id).limit(40)):
            ring.result = "answered" if ring.result in ("noanswer", "busy") else "noanswer"
        s.add(
            RingAttempt(
                call_id=ids[0], member="PJSIP/7", agent_login="1002", started_at=MONTH.start
            )
        )
        s.commit()
        for cid in rng.sample(ids, 12):  # deleted, rings with it
            s.execute(delete(RingAttempt).where(RingAttempt.call_id == cid))
            s.execute(delete(Call).where(Call.id == cid))
        s.commit()


def _from_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every reader count the call rows (the reference)."""
    monkeypatch.setattr(summary_figures, "slot_figures", lambda *a: None)
    monkeypatch.setattr(summary_figures, "agent_figures", lambda *a: None)
    monkeypatch.setattr(summary_figures, "survey_counts", lambda *a: None)


def _figures(s: Session) -> tuple[Any, ...]:
    slots = slot_figures(s, MONTH, rules_for, RULES)
    agents = {k: v.as_dict() for k, v in agent_figures(s, MONTH, rules_for, RULES).items()}
    return {k: asdict(v) for k, v in slots.items()}, agents


def _summary_rows(s: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Each summary table's rows that count something (a row may fall to zero)."""
    out = {}
    for t in (
        call_summary.call_slot_summary,
        call_summary.call_agent_summary,
        call_summary.call_survey_summary,
    ):
        keys = len(t.primary_key.columns)
        out[t.name] = sorted(
            tuple(r) for r in s.execute(t.select()).all() if any(v for v in tuple(r)[keys:])
        )
    return out


def test_summaries_equal_the_rows_after_late_writes(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _store_rules(session_factory)
    rng = random.Random(1214)
    _seed(session_factory, rng)
    _late_writes(session_factory, rng)
    with session_factory() as s:
        summed = _figures(s)
        assert summary_figures.slot_figures(s, MONTH.start, MONTH.end, rules_for) is not None
        assert summed[0] and summed[1]
        kept = _summary_rows(s)
        surveys = sorted(summary_figures.survey_counts(s, MONTH.start, MONTH.end) or [])
    with monkeypatch.context() as m:
        _from_rows(m)
        with session_factory() as s:
            assert _figures(s) == summed
            want_surveys = sorted(
                (q or "", score, n)
                for q, score, n in s.execute(
                    select(Call.queue, Call.satisfaction, func.count())
                    .where(
                        Call.started_at >= MONTH.start,
                        Call.started_at < MONTH.end,
                        Call.satisfaction.between(1, 5),
                    )
                    .group_by(Call.queue, Call.satisfaction)
                )
            )
            assert surveys == want_surveys
    # the triggers' running totals are what counting from scratch gives
    with session_factory() as s:
        call_summary.rebuild(s.connection(), None)
        assert _summary_rows(s) == kept
        s.rollback()


def test_other_thresholds_count_the_rows(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    """Summaries counted with other SL thresholds are not used, and say so."""
    rng = random.Random(7)
    _seed(session_factory, rng)  # counted with the built-in defaults (20 s / 5 s)
    with session_factory() as s:
        assert summary_figures.slot_figures(s, MONTH.start, MONTH.end, rules_for) is None
        assert "centralita db summary" in caplog.text
        rows = slot_figures(s, MONTH, rules_for, RULES)
    _store_rules(session_factory)
    with session_factory() as s:
        assert summary_figures.slot_figures(s, MONTH.start, MONTH.end, rules_for) == rows
        # a window not on a 15-minute boundary is counted from the rows
        odd = MONTH.start + timedelta(minutes=7)
        assert summary_figures.slot_figures(s, odd, MONTH.end, rules_for) is None


def test_figures_add_sums_every_count() -> None:
    names = [n for n in Figures.__dataclass_fields__ if n != "sl_formula"]
    a = Figures(**{n: i + 1 for i, n in enumerate(names)})
    b = Figures(**{n: 100 * (i + 1) for i, n in enumerate(names)})
    a.add(b)
    for i, n in enumerate(names):
        want = 100 * (i + 1) if n.startswith("longest") else 101 * (i + 1)
        assert getattr(a, n) == want, n


def _reopen_one(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        inc = s.scalars(select(Incident).order_by(Incident.id)).first()
        assert inc is not None
        inc.status, inc.resolved_at = "in_progress", None
        s.add(
            IncidentEvent(
                incident_id=inc.id, at=AS_OF - timedelta(days=20), actor="x", kind="reopened"
            )
        )
        s.execute(update(Call).where(Call.uniqueid == "U1").values(outcome="transferred"))
        s.commit()


def test_whole_report_from_summaries_equals_from_rows(
    session_factory: sessionmaker[Session],
    example_config: CentralitaConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_month(session_factory)
    with session_factory() as s:
        call_summary.recount(s.connection(), example_config)
        s.commit()
    _reopen_one(session_factory)

    def report() -> dict[str, Any]:
        with session_factory() as s:
            r = build(s, example_config, 2026, 3, edition="internal", as_of=AS_OF)
        out = asdict(r)
        out["staffing"] = None if r.staffing is None else asdict(r.staffing)
        return out

    summed = report()
    assert summed["overall"]["offered"] > 0 and summed["agents"]
    with session_factory() as s:  # the summaries answered (the thresholds are the config's)
        start, end = summed["start"], summed["end"]
        rules = aggregate.rules_from_config(example_config)
        assert summary_figures.slot_figures(s, start, end, rules) is not None
    with monkeypatch.context() as m:
        _from_rows(m)
        assert report() == summed


def test_listener_upserts_keep_the_summaries(session_factory: sessionmaker[Session]) -> None:
    """The listener writes each call several times with INSERT … ON CONFLICT DO UPDATE
    (ringing, answered, hung up; rings upserted too): UPDATE triggers, not INSERT ones."""
    from ami_listener.store import CALL_UPDATE_COLUMNS, _insert

    _store_rules(session_factory)
    start = MONTH.start + timedelta(days=3, minutes=7)
    base = {
        "pbx_id": "pbx1",
        "linkedid": "L1",
        "uniqueid": "U1",
        "queue": "a",
        "started_at": start,
        "entered_queue_at": start + timedelta(seconds=4),
        "ivr_choices": {},
    }
    stages = [
        {"outcome": None, "hold_seconds": None},
        {"outcome": "answered", "hold_seconds": 25, "agent_login": "1001"},
        {"outcome": "transferred", "hold_seconds": 25, "agent_login": "1001", "talk_seconds": 80},
    ]
    with session_factory() as s:
        engine = s.get_bind()
        for i, stage in enumerate(stages):
            stmt = _insert(engine, Call.__table__)
            stmt = stmt.on_conflict_do_update(
                index_elements=["pbx_id", "linkedid"],
                set_={c: getattr(stmt.excluded, c) for c in CALL_UPDATE_COLUMNS if c in {**stage}},
            )
            s.execute(stmt, [{**base, **stage}])
            call_id = s.scalar(select(Call.id).where(Call.linkedid == "L1"))
            ring = _insert(engine, RingAttempt.__table__)
            ring = ring.on_conflict_do_update(
                index_elements=["call_id", "member", "started_at"],
                set_={"result": ring.excluded.result},
            )
            result = [None, "noanswer", "noanswer"][i]
            s.execute(
                ring,
                [{"call_id": call_id, "member": "PJSIP/1002", "agent_login": "1002",
                  "started_at": start + timedelta(seconds=5), "result": result}],
            )  # fmt: skip
            s.commit()
        summed = _figures(s)
        slot = summed[0][("a", int((start + timedelta(seconds=4)).timestamp()) // 900)]
        assert (slot["offered"], slot["answered"], slot["transferred"]) == (1, 1, 1)
        assert (slot["answered_within_sl"], slot["talk_total"], slot["ring_noanswer"]) == (
            0,
            80,
            1,
        )
        assert summed[1]["1001"]["answered"] == 1 and summed[1]["1002"]["ring_noanswer"] == 1
        kept = _summary_rows(s)
        call_summary.rebuild(s.connection(), None)
        assert _summary_rows(s) == kept
        s.rollback()


def test_db_summary_command_recounts_with_the_config(tmp_path, example_config) -> None:  # type: ignore[no-untyped-def]
    """`centralita db upgrade` counts with the defaults; `db summary` with the config's."""
    import subprocess
    import sys
    from pathlib import Path

    from servicedesk import migrate
    from servicedesk.db import make_engine

    root = Path(__file__).resolve().parents[2]
    url = f"sqlite:///{tmp_path / 'summary.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        assert call_summary.stored_rules(conn) == {}
    proc = subprocess.run(
        [sys.executable, "-m", "centralita", "db", "summary", "--url", url,
         "--config", str(root / "centralita.example.toml")],
        capture_output=True, text=True, cwd=root, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "call summaries recounted" in proc.stdout
    with engine.begin() as conn:
        assert call_summary.stored_rules(conn) == call_summary.config_rules(example_config)
    engine.dispose()


def _snapshot_rows(rng: random.Random, n: int, stage: int) -> list[Any]:
    """The listener's batch: n calls at one stage of their life (joined, answered,
    ended), rings and all, as `ami_listener.store.CallSnapshot`s."""
    from ami_listener.store import CallSnapshot

    out = []
    for i in range(n):
        started = MONTH.start + timedelta(days=2, seconds=37 * i)
        done = stage == 2
        outcome = (
            None
            if stage == 0
            else rng.choice(["answered", "transferred", "abandoned", "timeout", "answered"])
        )
        answered = outcome in ("answered", "transferred")
        row = {
            "pbx_id": "pbx1",
            "linkedid": f"B{i}",
            "uniqueid": f"B{i}",
            "line_did": "8001",
            "caller_num": "5550100",
            "caller_name": "Caller",
            "contact_id": None,
            "language": "es",
            "ivr_choices": {"lang": "es", "step": stage},
            "category": "network",
            "priority": None,
            "vip": False,
            "incident_number": None,
            "queue": rng.choice(["a", "b"]) if stage < 2 else ["a", "b"][i % 2],
            "queue_position": 1,
            "started_at": started,
            "entered_queue_at": started + timedelta(seconds=rng.choice([4, 4, 900])),
            "answered_at": started + timedelta(seconds=30) if answered else None,
            "ended_at": started + timedelta(seconds=200) if done else None,
            "hold_seconds": rng.choice([None, 3, 18, 40, 95]) if stage else None,
            "talk_seconds": rng.choice([0, 45, 170]) if done and answered else None,
            "agent_login": rng.choice(["1001", "1002"]) if answered else None,
            "agent_member": "PJSIP/1001" if answered else None,
            "hung_up_by": rng.choice(["agent", "caller"]) if done else None,
            "outcome": outcome,
            "source": "ami",
            "updated_at": datetime.now(UTC),
            "origin_pbx_id": "pbx9" if i % 11 == 0 else None,
            "origin_linkedid": f"X{i}" if i % 11 == 0 else None,
        }
        rings = [
            {
                "agent_login": agent,
                "member": f"PJSIP/{agent}",
                "started_at": started + timedelta(seconds=5 + k),
                "result": rng.choice([None, "noanswer", "busy", "answered"]) if stage else None,
                "ring_ms": 900,
            }
            for k, agent in enumerate(["1001", "1002"][: rng.choice([0, 1, 2])])
        ]
        out.append(CallSnapshot(row, rings, done))
    return out


def test_batched_statements_keep_the_summaries(session_factory: sessionmaker[Session]) -> None:
    """Many rows per statement, as the listener writes (one upsert per batch, calls and
    rings, new and known calls mixed) and as a bulk correction would: PostgreSQL's
    statement triggers see them all at once; the summaries still equal a recount."""
    from ami_listener.store import CallStore

    _store_rules(session_factory)
    rng = random.Random(2026)
    store = CallStore(session_factory, "pbx1")
    for stage in range(3):
        batch = _snapshot_rows(rng, 120, stage)
        # a batch mixing known and new calls: the first 40 a stage ahead
        if stage == 0:
            batch[:40] = _snapshot_rows(rng, 40, 1)
        assert store.write(batch) == 0
        assert store.write(batch[::3]) == 0  # written again unchanged
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Call)) == 120
        ids = list(s.scalars(select(Call.id).order_by(Call.id)))
        # bulk corrections: many rows in one UPDATE (longest waits shrinking among them)
        s.execute(update(Call).where(Call.id.in_(ids[::2])).values(hold_seconds=1))
        s.execute(update(Call).where(Call.id.in_(ids[::5])).values(queue="b", satisfaction=4))
        s.execute(update(Call).where(Call.id.in_(ids[:30])).values(outcome="abandoned"))
        s.execute(
            update(RingAttempt)
            .where(RingAttempt.call_id.in_(ids[::3]))
            .values(result="noanswer", agent_login="1002")
        )
        s.execute(delete(Call).where(Call.id.in_(ids[-7:])))
        s.commit()
        kept = _summary_rows(s)
        assert kept["call_slot_summary"] and kept["call_agent_summary"]
        call_summary.rebuild(s.connection(), None)
        assert _summary_rows(s) == kept
        s.rollback()
