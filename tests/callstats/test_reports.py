"""Interval and monthly reports on both engines, over seeded data whose expected
figures are computed here by plain arithmetic over the seed (not by callstats)."""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from callstats import erlang, reports
from centralita.cli import main as centralita_main
from servicedesk.config import CentralitaConfig
from servicedesk.db import make_engine, make_sessionmaker
from servicedesk.models import (
    AgentSession,
    Call,
    Contract,
    Incident,
    Organisation,
    RingAttempt,
)
from servicedesk.sla import due_times
from tests.callstats.test_traces import store_queue_log

MX = ZoneInfo("America/Mexico_City")  # the example config's service zone (UTC-6)
MONTH_START = datetime(2026, 3, 1, tzinfo=MX)
MONTH_END = datetime(2026, 4, 1, tzinfo=MX)
AS_OF = datetime(2026, 4, 3, 12, 0, tzinfo=UTC)
# the example config: general_es has servicelevel 30 and offered_minus_short; others 20/answered
SL = {"general_es": 30, "network_es": 20, "email_en": 20}
FORMULA = {"general_es": "offered_minus_short", "network_es": "answered", "email_en": "answered"}


@dataclass
class Seed:
    queue: str
    entered: datetime
    outcome: str
    hold: int
    talk: int | None
    agent: str | None
    satisfaction: int | None
    rna: int


def make_seed(rng: random.Random) -> list[Seed]:
    out: list[Seed] = []
    outcomes = ["answered"] * 6 + ["abandoned"] * 3 + ["timeout", "exit_empty", "join_empty"]
    for _ in range(90):
        queue = rng.choice(list(SL))
        # spread over the month and its edges (local Feb 28 and Apr 1 must be excluded)
        entered = MONTH_START + timedelta(minutes=rng.randrange(-600, 31 * 24 * 60 + 600))
        outcome = rng.choice(outcomes)
        hold = rng.randrange(0, 60)
        answered = outcome == "answered"
        out.append(
            Seed(
                queue,
                entered,
                outcome,
                hold,
                rng.randrange(30, 900) if answered else None,
                rng.choice(["1001", "1003", "1005"]) if answered else None,
                rng.choice([None, 1, 2, 3, 4, 5, 5, 4]),
                rng.randrange(0, 3) if outcome != "join_empty" else 0,
            )
        )
    # a local-month edge case: 23:30 on 31 March local is already April in UTC
    out.append(
        Seed(
            "network_es", datetime(2026, 3, 31, 23, 30, tzinfo=MX), "answered", 3, 60, "1001", 5, 0
        )
    )
    out.append(
        Seed(
            "network_es", datetime(2026, 2, 28, 23, 30, tzinfo=MX), "answered", 3, 60, "1001", 1, 0
        )
    )
    return out


def store_calls(factory: sessionmaker[Session], seed: list[Seed]) -> None:
    with factory() as s:
        for i, c in enumerate(seed):
            joined = c.outcome != "join_empty"
            entered = c.entered.astimezone(UTC)
            row = Call(
                pbx_id="pbx1",
                linkedid=f"{1795000000 + i}.{i}",
                uniqueid=f"{1795000000 + i}.{i}",
                queue=c.queue,
                started_at=entered - timedelta(seconds=20),
                entered_queue_at=entered if joined else None,
                answered_at=entered + timedelta(seconds=c.hold)
                if c.outcome == "answered"
                else None,
                ended_at=entered + timedelta(seconds=c.hold + (c.talk or 0)),
                hold_seconds=c.hold if joined else None,
                talk_seconds=c.talk,
                agent_login=c.agent,
                outcome=c.outcome,
                satisfaction=c.satisfaction,
            )
            for k in range(c.rna):
                row.rings.append(
                    RingAttempt(
                        agent_login="1004",
                        member="PJSIP/1004",
                        started_at=entered + timedelta(seconds=k),
                        result="noanswer",
                        ring_ms=15000,
                    )
                )
            s.add(row)
        s.commit()


def in_month(c: Seed) -> bool:
    at = c.entered if c.outcome != "join_empty" else c.entered - timedelta(seconds=20)
    return MONTH_START <= at < MONTH_END


def expected_queue_rows(seed: list[Seed]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    month = [c for c in seed if in_month(c)]
    for queue in sorted({c.queue for c in month}):
        q = [c for c in month if c.queue == queue]
        offered = [c for c in q if c.outcome != "join_empty"]
        ans = [c for c in q if c.outcome == "answered"]
        ab = [c for c in q if c.outcome == "abandoned"]
        within = sum(c.hold <= SL[queue] for c in ans)
        short = sum(c.hold < 5 for c in ab)
        den = {"answered": len(ans), "offered_minus_short": len(offered) - short}[FORMULA[queue]]
        out[queue] = {
            "offered": len(offered),
            "answered": len(ans),
            "answered_within_sl": within,
            "abandoned": len(ab),
            "short_abandoned": short,
            "timeout": sum(c.outcome == "timeout" for c in q),
            "exit_empty": sum(c.outcome == "exit_empty" for c in q),
            "join_empty": sum(c.outcome == "join_empty" for c in q),
            "sl_percent": round(100 * within / den, 1),
            "sl_formula": FORMULA[queue],
            "asa_s": round(sum(c.hold for c in ans) / len(ans), 1),
            "aht_s": round(sum(c.talk or 0 for c in ans) / len(ans), 1),
            "longest_wait_s": max(c.hold for c in offered),
            "abandon_percent": round(100 * len(ab) / len(offered), 1),
        }
    return out


def seed_incidents(
    factory: sessionmaker[Session], cfg: CentralitaConfig, rng: random.Random
) -> list[dict[str, object]]:
    """Incidents with known due times; returns what the test needs to judge them."""
    facts: list[dict[str, object]] = []
    with factory() as s:
        org = Organisation(name="Acme")
        s.add(org)
        s.flush()
        contract = Contract(
            number="C-1",
            organisation_id=org.id,
            plan="basic",
            starts_on=datetime(2025, 1, 1, tzinfo=UTC),
        )
        other = Contract(
            number="C-2",
            organisation_id=org.id,
            plan="intermediate",
            starts_on=datetime(2026, 3, 10, tzinfo=UTC),
        )
        gone = Contract(
            number="C-0",
            organisation_id=org.id,
            plan="basic",
            starts_on=datetime(2024, 1, 1, tzinfo=UTC),
            ends_on=datetime(2025, 12, 31, tzinfo=UTC),
        )
        s.add_all([contract, other, gone])
        s.flush()
        n = 0

        def add(
            priority: str,
            created: datetime,
            contract_id: int | None,
            respond: float | None,
            resolve: float | None,
        ) -> None:
            nonlocal n
            n += 1
            resp_due, res_due = due_times(cfg, priority, created)
            first = created + timedelta(minutes=respond) if respond is not None else None
            resolved = created + timedelta(minutes=resolve) if resolve is not None else None
            s.add(
                Incident(
                    number=n,
                    title=f"t{n}",
                    priority=priority,
                    created_by="test",
                    created_at=created,
                    contract_id=contract_id,
                    first_response_at=first,
                    resolved_at=resolved,
                    response_due_at=resp_due,
                    resolution_due_at=res_due,
                    status="resolved" if resolved else "assigned",
                )
            )
            facts.append(
                {
                    "priority": priority,
                    "created": created,
                    "first": first,
                    "resolved": resolved,
                    "resp_due": resp_due,
                    "res_due": res_due,
                    "contract": contract_id,
                }
            )

        # 9 high tickets per month for C-1 in Jan, Feb and Mar: > 8 × 1.05 three months running
        for ym in ((2026, 1), (2026, 2), (2026, 3)):
            for k in range(9):
                created = datetime(ym[0], ym[1], 2 + k, 10, 0, tzinfo=MX).astimezone(UTC)
                add(
                    "high",
                    created,
                    contract.id,
                    rng.choice([5, 50, 90, None]),
                    rng.choice([100, 300, None]),
                )
        for k in range(8):  # exactly at the allotment: not over
            add(
                "medium",
                datetime(2026, 3, 3 + k, 9, 0, tzinfo=MX).astimezone(UTC),
                contract.id,
                30,
                200,
            )
        for k in range(12):
            pr = rng.choice(["critical", "low", "planned"])
            created = datetime(2026, 3, 1, tzinfo=MX) + timedelta(hours=rng.randrange(0, 30 * 24))
            add(
                pr,
                created.astimezone(UTC),
                other.id if k % 2 else None,
                rng.choice([0, 100, None]),
                rng.choice([200, 3000, None]),
            )
        # the local-month edges: 31 March 23:30 local counts for March, 28 Feb 23:30 does not
        add(
            "low", datetime(2026, 3, 31, 23, 30, tzinfo=MX).astimezone(UTC), contract.id, None, None
        )
        add(
            "low", datetime(2026, 2, 28, 23, 30, tzinfo=MX).astimezone(UTC), contract.id, None, None
        )
        s.commit()
    return facts


def judge(done: datetime | None, due: datetime | None, as_of: datetime) -> str:
    if due is None:
        return "none"
    if done is not None:
        return "met" if done <= due else "breached"
    return "breached" if due < as_of else "pending"


@pytest.fixture()
def seeded(session_factory: sessionmaker[Session], example_config: CentralitaConfig):  # type: ignore[no-untyped-def]
    rng = random.Random(20260301)
    seed = make_seed(rng)
    store_calls(session_factory, seed)
    facts = seed_incidents(session_factory, example_config, rng)
    with session_factory() as s:  # one 8-hour shift for agent 1001
        s.add(
            AgentSession(
                agent_login="1001",
                interface="PJSIP/1001",
                queue="network_es",
                login_at=datetime(2026, 3, 2, 8, 0, tzinfo=MX),
                logout_at=datetime(2026, 3, 2, 16, 0, tzinfo=MX),
            )
        )
        s.commit()
    return seed, facts


def test_monthly_report(
    seeded, session_factory: sessionmaker[Session], example_config: CentralitaConfig
) -> None:  # type: ignore[no-untyped-def]
    seed, facts = seeded
    with session_factory() as s:
        report = reports.monthly_report(s, example_config, 2026, 3, as_of=AS_OF)
        # judged on the last afternoon of the month, some clocks are still running
        early_as_of = datetime(2026, 3, 31, 23, 50, tzinfo=MX).astimezone(UTC)
        early = reports.monthly_report(s, example_config, 2026, 3, as_of=early_as_of)

    # calls
    calls = {r["queue"]: r for r in report.table("calls").records()}
    expected = expected_queue_rows(seed)
    for queue, exp in expected.items():
        assert {k: calls[queue][k] for k in exp} == exp, queue
    month = [c for c in seed if in_month(c)]
    assert calls["TOTAL"]["offered"] == sum(c.outcome != "join_empty" for c in month)
    assert calls["TOTAL"]["sl_formula"] == "answered"  # mixed formulas
    agents = {r["agent"]: r for r in report.table("agents").records()}
    for login in ("1001", "1003", "1005"):
        mine = [c for c in month if c.agent == login]
        assert agents[login]["answered"] == len(mine)
    talk_1001 = sum(c.talk or 0 for c in month if c.agent == "1001")
    assert agents["1001"]["logged_in_h"] == 8.0 and agents["1001"]["paused_h"] == 0.0
    assert agents["1001"]["occupancy_percent"] == round(100 * talk_1001 / (8 * 3600), 1)
    assert agents["1003"]["occupancy_percent"] is None  # no session: no available time
    assert agents["1004"]["ring_noanswer"] == sum(c.rna for c in month)

    # SLA compliance per priority
    march = [f for f in facts if MONTH_START <= f["created"] < MONTH_END]  # type: ignore[operator]
    pending_seen = 0
    for rep, as_of in ((report, AS_OF), (early, early_as_of)):
        sla = {r["priority"]: r for r in rep.table("sla").records()}
        for p in ("critical", "high", "medium", "low", "planned"):
            mine = [f for f in march if f["priority"] == p]
            assert sla[p]["incidents"] == len(mine)
            for clock, done, due in (
                ("response", "first", "resp_due"),
                ("resolution", "resolved", "res_due"),
            ):
                states = [judge(f[done], f[due], as_of) for f in mine]  # type: ignore[arg-type]
                for st in ("met", "breached", "pending", "none"):
                    assert sla[p][f"{clock}_{st}"] == states.count(st), (p, clock, st)
                judged = states.count("met") + states.count("breached")
                want = None if judged == 0 else round(100 * states.count("met") / judged, 1)
                assert sla[p][f"{clock}_compliance_percent"] == want
                pending_seen += states.count("pending")
        assert sla["planned"]["response_none"] == sla["planned"]["incidents"]
        assert sla["TOTAL"]["incidents"] == len(march)
    assert pending_seen > 0  # the seed exercises running clocks too

    # satisfaction: calls started in the month
    scores = [
        c.satisfaction
        for c in seed
        if c.satisfaction and MONTH_START <= c.entered - timedelta(seconds=20) < MONTH_END
    ]
    sat = {r["queue"]: r for r in report.table("satisfaction").records()}
    assert sat["TOTAL"]["responses"] == len(scores)
    assert sat["TOTAL"]["mean"] == round(sum(scores) / len(scores), 2)
    assert sat["TOTAL"]["csat_percent"] == round(100 * sum(s >= 4 for s in scores) / len(scores), 1)
    assert [sat["TOTAL"][f"s{k}"] for k in range(1, 6)] == [scores.count(k) for k in range(1, 6)]

    # contracts: C-1 high is flagged (3 months over), medium at the allotment is not; C-0 ended
    rows = {(r["contract"], r["priority"]): r for r in report.table("contracts").records()}
    assert {c for c, _ in rows} == {"C-1", "C-2"}
    c1_ids = {f["contract"] for f in facts if f["priority"] == "medium"}
    c1 = [f for f in march if f["contract"] in c1_ids]
    assert rows[("C-1", "high")]["used"] == 9 and rows[("C-1", "high")]["allotted"] == 8
    assert (
        rows[("C-1", "high")]["over"],
        rows[("C-1", "high")]["streak"],
        rows[("C-1", "high")]["flagged"],
    ) == ("yes", 3, "yes")
    assert (rows[("C-1", "medium")]["used"], rows[("C-1", "medium")]["over"]) == (8, "no")
    assert rows[("C-1", "low")]["used"] == sum(1 for f in c1 if f["priority"] == "low")
    assert rows[("C-1", "high")]["percent"] == round(100 * 9 / 8, 1)

    # the renderings carry the same figures
    data = json.loads(reports.to_json(report))
    assert data["tables"]["calls"] == report.table("calls").records()
    parsed = list(csv.reader(io.StringIO(reports.to_csv(report))))
    calls_rows = [r for r in parsed if r and r[0] == "calls"]
    assert len(calls_rows) == len(report.table("calls").rows)
    text = reports.to_text(report)
    assert "SLA compliance" in text and "TOTAL" in text


def test_interval_report(
    seeded, session_factory: sessionmaker[Session], example_config: CentralitaConfig
) -> None:  # type: ignore[no-untyped-def]
    seed, _facts = seeded
    day = datetime(2026, 3, 10, tzinfo=MX)
    from callstats.records import load_calls

    with session_factory() as s:
        calls = load_calls(s, day - timedelta(days=3), day + timedelta(days=3))
    report = reports.interval_report(
        example_config, calls, day - timedelta(days=3), day + timedelta(days=3), 15
    )
    rows = report.table("intervals").records()
    expected: dict[tuple[str, str], int] = {}
    for c in seed:
        if c.outcome == "join_empty" or not (
            day - timedelta(days=3) <= c.entered < day + timedelta(days=3)
        ):
            continue
        local = c.entered.astimezone(MX)
        start = local.replace(minute=local.minute // 15 * 15, second=0, microsecond=0)
        key = (start.isoformat(), c.queue)
        expected[key] = expected.get(key, 0) + 1
    got = {(r["interval"], r["queue"]): r["offered"] for r in rows if r["offered"]}
    assert got == expected
    # staffing per interval: Erlang C on the interval's arrivals, AHT + wrapuptime (10 s
    # in the example config) and the wallboard warning level (80 %) within the SL seconds
    checked = 0
    for r in rows:
        local = [
            c
            for c in seed
            if c.outcome == "answered"
            and c.queue == r["queue"]
            and c.entered.astimezone(MX)
            .replace(minute=c.entered.astimezone(MX).minute // 15 * 15, second=0, microsecond=0)
            .isoformat()
            == r["interval"]
        ]
        if not local:
            assert r["erlang_agents"] is None
            continue
        aht = sum(c.talk or 0 for c in local) / len(local)
        want = erlang.agents_needed(
            r["offered"] * 4, aht + 10, target_sl=0.8, target_seconds=SL[r["queue"]]
        ).agents
        assert r["erlang_agents"] == want
        checked += 1
    assert checked > 0


def test_cli_monthly_and_interval(
    seeded,  # type: ignore[no-untyped-def]
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    traces_dir: Path,
    tmp_path: Path,
) -> None:
    seed, _facts = seeded
    monkeypatch.setenv("CENTRALITA_DATABASE_URL", db_url)
    cfg = str(Path(__file__).resolve().parents[2] / "centralita.example.toml")
    assert (
        centralita_main(
            ["stats", "monthly", "--config", cfg, "--month", "2026-03", "--format", "json"]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    month = [c for c in seed if in_month(c)]
    total = next(r for r in data["tables"]["calls"] if r["queue"] == "TOTAL")
    assert total["offered"] == sum(c.outcome != "join_empty" for c in month)
    # calls from a queue_log file instead (load_mix was recorded on 2026-11-22)
    out = tmp_path / "r.csv"
    qlog = str(traces_dir / "load_mix" / "queue_log")
    args = ["stats", "monthly", "--config", cfg, "--month", "2026-11", "--queue-log", qlog]
    assert centralita_main([*args, "--format", "csv", "-o", str(out)]) == 0
    rows = [r for r in csv.reader(out.open()) if r and r[0] == "calls"]
    support = next(r for r in rows if r[1] == "support")
    assert support[2:6] == ["40", "24", "8", "16"]
    assert (
        centralita_main(
            [
                "stats",
                "interval",
                "--config",
                cfg,
                "--from",
                "2026-11-22",
                "--minutes",
                "60",
                "--queue-log",
                qlog,
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "2026-11-22T03:00:00-06:00  support" in text  # 09:29 UTC is 03:29 in Mexico City
    # and from Asterisk's realtime queue_log table in the same database
    eng = make_engine(db_url)
    with make_sessionmaker(eng)() as session:
        store_queue_log(session, traces_dir / "load_mix" / "queue_log")
    eng.dispose()
    args = ["stats", "monthly", "--config", cfg, "--month", "2026-11", "--queue-log-table"]
    assert centralita_main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    support = next(r for r in data["tables"]["calls"] if r["queue"] == "support")
    assert (support["offered"], support["answered"], support["abandoned"]) == (40, 24, 16)
    assert data["period"]["calls_source"] == "queue_log table"
    assert centralita_main(["stats", "monthly", "--config", cfg, "--month", "2026-13"]) == 2
    assert "YYYY-MM" in capsys.readouterr().err


def test_hostile_names_are_neutralised() -> None:
    t = reports.Table(
        "x", "X", ["name", "n"], [['=HYPERLINK("http://evil")', -3], ["ok\x1b[2J", 1.5]]
    )
    report = reports.Report("k", "T", {}, [t])
    rows = list(csv.reader(io.StringIO(reports.to_csv(report))))
    assert rows[1] == ["x", '\'=HYPERLINK("http://evil")', "-3"]  # numbers stay numbers
    text = reports.to_text(report)
    assert "\x1b" not in text and "ok?[2J" in text
