"""Months of plausible desk history: calls, incidents, agent sessions and pauses.

Used by `bench.monthly_report` (a million calls) and to give the demo database a
month worth reporting on:

    python -m bench.history --config centralita.example.toml --url sqlite:///demo.db \\
        --month 2026-11 --months 3 --calls 20000 --incidents 2000

Rows are generated in Python from a seeded RNG and written with the engine's
fastest bulk path (SQLite executemany, PostgreSQL COPY), so a million calls take
seconds, not minutes. Traffic follows office hours (Mexico City), weekdays
busier than weekends, mid-morning and mid-afternoon peaks.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from servicedesk.config import PRIORITIES, CentralitaConfig, load_config
from servicedesk.contracts import month_bounds
from servicedesk.db import make_engine
from servicedesk.models import Base, Contact, Contract, Incident, Organisation
from servicedesk.sla import due_times

HOURLY = [
    0.2,
    0.1,
    0.1,
    0.1,
    0.1,
    0.3,
    0.8,
    2.5,
    6,
    9,
    10,
    9,
    7,
    6,
    7,
    8,
    7,
    5,
    3,
    1.5,
    1,
    0.6,
    0.4,
    0.3,
]
WEEKDAY = [1.0, 1.05, 1.0, 0.95, 0.9, 0.3, 0.15]
CALL_COLUMNS = (
    "pbx_id",
    "linkedid",
    "uniqueid",
    "caller_num",
    "contact_id",
    "language",
    "ivr_choices",
    "vip",
    "queue",
    "queue_position",
    "started_at",
    "entered_queue_at",
    "answered_at",
    "ended_at",
    "hold_seconds",
    "talk_seconds",
    "agent_login",
    "agent_member",
    "hung_up_by",
    "outcome",
    "satisfaction",
    "source",
    "updated_at",
)
INCIDENT_COLUMNS = (
    "number",
    "title",
    "description",
    "category",
    "impact",
    "urgency",
    "priority",
    "priority_overridden",
    "status",
    "level",
    "channel",
    "organisation_id",
    "contract_id",
    "reporter_id",
    "created_at",
    "created_by",
    "first_response_at",
    "response_due_at",
    "resolution_due_at",
    "resolved_at",
    "closed_at",
    "updated_at",
)
TITLES = [
    "Sin acceso a internet en sucursal",
    "No sincroniza el correo en el celular",
    "Error al timbrar facturas en el ERP",
    "Impresora del área de compras atascada",
    "Solicitud de alta de usuario",
    "VPN se desconecta cada 10 minutos",
    "Equipo no enciende",
    "Restablecer contraseña de dominio",
]


def _sqlite_time(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def bulk_insert(
    engine: Engine, table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]
) -> int:
    """Write rows with the engine's fastest path; datetimes are aware UTC."""
    n = 0
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            cols = ", ".join(columns)
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
                    n += 1
        else:
            marks = ", ".join("?" for _ in columns)
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(tuple(_sqlite_time(v) if isinstance(v, datetime) else v for v in row))
                if len(batch) >= 20_000:
                    cur.executemany(sql, batch)
                    n += len(batch)
                    batch.clear()
            if batch:
                cur.executemany(sql, batch)
                n += len(batch)
        raw.commit()
    finally:
        raw.close()
    return n


def ensure_directory(
    session: Session, cfg: CentralitaConfig, orgs: int, rng: random.Random
) -> None:
    """Organisations with contacts and one contract each, unless some already exist."""
    if session.scalar(select(func.count()).select_from(Organisation)):
        return
    plans = list(cfg.contracts.plans)
    for i in range(orgs):
        org = Organisation(
            name=f"Organización de prueba {i + 1:02d} S.A. de C.V.", customer_number=f"9{i:04d}"
        )
        session.add(org)
        session.flush()
        session.add(
            Contract(
                number=f"CT-9{i:04d}",
                organisation_id=org.id,
                plan=plans[i % len(plans)],
                starts_on=datetime(2020, 1, 1, tzinfo=UTC),
            )
        )
        for k in range(rng.randint(4, 8)):
            session.add(
                Contact(organisation_id=org.id, name=f"Contacto {i + 1}-{k + 1}", language="es")
            )
    session.commit()


def _instants(
    rng: random.Random, start: datetime, end: datetime, n: int, tz: ZoneInfo
) -> list[datetime]:
    """`n` instants in [start, end) shaped by weekday and hour of day (local)."""
    days = []
    d = start.astimezone(tz).date()
    last = (end - timedelta(seconds=1)).astimezone(tz).date()
    while d <= last:
        days.append(d)
        d += timedelta(days=1)
    weights = [WEEKDAY[day.weekday()] for day in days]
    hours = list(range(24))
    out = []
    picked_days = rng.choices(days, weights, k=n)
    picked_hours = rng.choices(hours, HOURLY, k=n)
    for day, hour in zip(picked_days, picked_hours, strict=True):
        local = datetime(day.year, day.month, day.day, hour, tzinfo=tz) + timedelta(
            seconds=rng.random() * 3600
        )
        at = local.astimezone(UTC)
        if start <= at < end:
            out.append(at)
    out.sort()
    return out


def calls_rows(
    cfg: CentralitaConfig,
    rng: random.Random,
    instants: list[datetime],
    contacts: list[int],
    prefix: str,
) -> Iterator[tuple[Any, ...]]:
    queues = sorted(cfg.queue_definitions())
    queue_weights = [
        5 if q.startswith("general") else 2 if q.endswith("_es") else 1 for q in queues
    ]
    agents = [a.login for a in cfg.agents] or ["1001"]
    for i, entered_at in enumerate(instants):
        queue = rng.choices(queues, queue_weights)[0]
        started = entered_at - timedelta(seconds=rng.randint(15, 60))
        r = rng.random()
        answered_at = ended = None
        hold = talk = satisfaction = None
        agent = member = hung = None
        if r < 0.86:
            outcome = "answered" if rng.random() > 0.03 else "transferred"
            hold = int(rng.expovariate(1 / 14))
            talk = int(rng.lognormvariate(5.2, 0.6))
            answered_at = entered_at + timedelta(seconds=hold)
            ended = answered_at + timedelta(seconds=talk)
            agent = rng.choice(agents)
            member = f"PJSIP/{agent}"
            hung = rng.choice(("caller", "agent"))
            if rng.random() < 0.35:
                satisfaction = rng.choices([1, 2, 3, 4, 5], [3, 4, 10, 35, 48])[0]
        elif r < 0.95:
            outcome = "abandoned"
            hold = int(rng.expovariate(1 / 25))
            ended = entered_at + timedelta(seconds=hold)
            hung = "caller"
        elif r < 0.97:
            outcome = "timeout"
            hold = 600
            ended = entered_at + timedelta(seconds=hold)
            hung = "system"
        elif r < 0.98:
            outcome = "exit_empty"
            hold = rng.randint(0, 40)
            ended = entered_at + timedelta(seconds=hold)
            hung = "system"
        elif r < 0.99:
            outcome = "callback_requested"
            hold = rng.randint(20, 120)
            ended = entered_at + timedelta(seconds=hold)
        else:
            outcome = "join_empty"
            ended = started + timedelta(seconds=20)
        joined = outcome != "join_empty"
        uid = f"{prefix}{i}"
        contact = rng.choice(contacts) if contacts and rng.random() < 0.85 else None
        yield (
            "pbx1",
            uid,
            uid,
            f"+5255{rng.randint(10000000, 99999999)}",
            contact,
            "es",
            "{}",
            False,
            queue,
            rng.randint(1, 5) if joined else None,
            started,
            entered_at if joined else None,
            answered_at,
            ended,
            hold if joined else None,
            talk,
            agent,
            member,
            hung,
            outcome,
            satisfaction,
            "ami",
            ended or started,
        )


def incidents_rows(
    cfg: CentralitaConfig,
    rng: random.Random,
    instants: list[datetime],
    reporters: list[tuple[int, int, int | None]],
    first_number: int,
    exact_due: bool,
) -> Iterator[tuple[Any, ...]]:
    clocked = [p for p in PRIORITIES]
    pweights = [3, 15, 45, 30, 7]
    channels = ["phone", "email", "web", "monitoring"]
    cweights = [60, 20, 15, 5]
    for i, created in enumerate(instants):
        priority = rng.choices(clocked, pweights)[0]
        contact, org, contract = rng.choice(reporters)
        if exact_due:
            resp_due, res_due = due_times(cfg, priority, created)
        else:  # the bench: targets as elapsed time (24x7), computing business time is not its subject
            target = cfg.sla.priorities[priority]
            resp_due = (
                None
                if target.response_minutes is None
                else created + timedelta(minutes=target.response_minutes)
            )
            res_due = (
                None
                if target.resolution_minutes is None
                else created + timedelta(minutes=target.resolution_minutes)
            )
        first = (
            created + timedelta(minutes=rng.expovariate(1 / 35)) if rng.random() < 0.97 else None
        )
        resolved = None
        if first is not None and rng.random() < 0.9:
            resolved = first + timedelta(minutes=rng.expovariate(1 / 160))
        closed = (
            resolved + timedelta(hours=rng.uniform(2, 48))
            if resolved and rng.random() < 0.7
            else None
        )
        status = (
            "closed" if closed else "resolved" if resolved else "in_progress" if first else "new"
        )
        yield (
            first_number + i,
            rng.choice(TITLES),
            "",
            None,
            "medium",
            "medium",
            priority,
            False,
            status,
            1,
            rng.choices(channels, cweights)[0],
            org,
            contract,
            contact,
            created,
            "bench",
            first,
            resp_due,
            res_due,
            resolved,
            closed,
            closed or resolved or first or created,
        )


def agent_rows(
    cfg: CentralitaConfig, rng: random.Random, start: datetime, end: datetime, tz: ZoneInfo
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Weekday shifts per agent in each of their queues, and pauses with reasons."""
    sessions: list[tuple[Any, ...]] = []
    pauses: list[tuple[Any, ...]] = []
    queues = cfg.queue_definitions()
    reasons = cfg.panel.pause_reasons
    d = start.astimezone(tz).date()
    last = (end - timedelta(seconds=1)).astimezone(tz).date()
    while d <= last:
        for n, agent in enumerate(cfg.agents):
            if d.weekday() >= 5 and n % 4:
                continue
            early = n % 2 == 0
            login = datetime(d.year, d.month, d.day, 8 if early else 12, tzinfo=tz) + timedelta(
                minutes=rng.randint(-10, 15)
            )
            logout = login + timedelta(hours=8, minutes=rng.randint(-10, 20))
            mine = [
                q
                for q, qd in queues.items()
                if qd.skill in agent.skills and qd.language in agent.languages
            ]
            for q in mine:
                sessions.append(
                    (
                        "pbx1",
                        agent.login,
                        agent.interface,
                        q,
                        0,
                        login.astimezone(UTC),
                        logout.astimezone(UTC),
                    )
                )
            for k in range(rng.randint(1, 3)):
                at = login + timedelta(
                    minutes=60 + 130 * k + rng.randint(0, 60), seconds=rng.randint(0, 59)
                )
                reason = "lunch" if k == 0 and "lunch" in reasons else rng.choice(reasons)
                length = timedelta(minutes=45 if reason == "lunch" else rng.randint(5, 20))
                pauses.append(("pbx1", agent.login, at.astimezone(UTC), "pause", reason, ""))
                pauses.append(
                    ("pbx1", agent.login, (at + length).astimezone(UTC), "unpause", None, "")
                )
        d += timedelta(days=1)
    return sessions, pauses


def populate(
    engine: Engine,
    cfg: CentralitaConfig,
    year: int,
    month: int,
    *,
    months: int = 1,
    calls: int = 10_000,
    incidents: int = 1_000,
    orgs: int = 12,
    seed: int = 14,
    exact_due: bool = True,
    agents: bool = True,
) -> dict[str, int]:
    """`calls` and `incidents` per month for `months` months ending with (year, month)."""
    rng = random.Random(seed)
    tz = ZoneInfo(cfg.service.timezone)
    with Session(engine) as s:
        ensure_directory(s, cfg, orgs, rng)
        contacts = [
            cid
            for (cid,) in s.execute(select(Contact.id).where(Contact.organisation_id.is_not(None)))
        ]
        reporters = [
            (cid, oid, ctr)
            for cid, oid, ctr in s.execute(
                select(Contact.id, Contact.organisation_id, func.min(Contract.id))
                .join(Contract, Contract.organisation_id == Contact.organisation_id, isouter=True)
                .where(Contact.organisation_id.is_not(None))
                .group_by(Contact.id, Contact.organisation_id)
            )
        ]
        number = (s.scalar(select(func.max(Incident.number))) or 0) + 1
    counts = {"calls": 0, "incidents": 0, "agent_sessions": 0}
    for k in range(months - 1, -1, -1):
        m = year * 12 + month - 1 - k
        y, mo = m // 12, m % 12 + 1
        start, end = month_bounds(y, mo, tz)
        call_at = _instants(rng, start, end, calls, tz)
        counts["calls"] += bulk_insert(
            engine, "call", CALL_COLUMNS, calls_rows(cfg, rng, call_at, contacts, f"{y}{mo:02d}.")
        )
        inc_at = _instants(rng, start, end, incidents, tz)
        counts["incidents"] += bulk_insert(
            engine,
            "incident",
            INCIDENT_COLUMNS,
            incidents_rows(cfg, rng, inc_at, reporters, number, exact_due),
        )
        number += len(inc_at)
        if agents:
            sessions, pauses = agent_rows(cfg, rng, start, end, tz)
            counts["agent_sessions"] += bulk_insert(
                engine,
                "agent_session",
                ("pbx_id", "agent_login", "interface", "queue", "penalty", "login_at", "logout_at"),
                iter(sessions),
            )
            bulk_insert(
                engine,
                "agent_state_change",
                ("pbx_id", "agent_login", "at", "kind", "reason", "queue"),
                iter(pauses),
            )
    with engine.begin() as conn:  # some reopened incidents (their audit event)
        rows = conn.execute(
            select(Incident.id, Incident.resolved_at)
            .where(Incident.resolved_at.is_not(None))
            .limit(max(1, incidents * months // 40))
        ).all()
        if rows:
            conn.execute(
                text(
                    "INSERT INTO incident_event (incident_id, at, actor, kind, from_status, to_status, data, note) "
                    "VALUES (:i, :at, 'bench', 'reopened', 'resolved', 'in_progress', '{}', '')"
                ),
                [{"i": i, "at": at + timedelta(hours=3)} for i, at in rows],
            )
    # statistics for the planner, and (SQLite) the bulk load folded into the main file as a
    # database at rest would be, rather than half a gigabyte of write-ahead log
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True)
    p.add_argument("--url", required=True, help="database URL (tables are created if missing)")
    p.add_argument("--month", required=True, help="YYYY-MM: the last month generated")
    p.add_argument("--months", type=int, default=3)
    p.add_argument("--calls", type=int, default=20_000, help="per month")
    p.add_argument("--incidents", type=int, default=2_000, help="per month")
    p.add_argument("--orgs", type=int, default=12)
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    year, month = (int(x) for x in args.month.split("-"))
    engine = make_engine(args.url)
    Base.metadata.create_all(engine)
    counts = populate(
        engine,
        cfg,
        year,
        month,
        months=args.months,
        calls=args.calls,
        incidents=args.incidents,
        orgs=args.orgs,
    )
    engine.dispose()
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
