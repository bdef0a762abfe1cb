"""The demo's incident backlog, shaped like a service desk in mid-morning.

Most open tickets are on track, a few are at risk and one or two have breached,
spread over new / assigned / in progress / escalated, with some resolved and
closed history behind them. Ages are not random wall-clock offsets (which on
business-hours calendars made nearly every ticket breached): each ticket is
opened at the instant that leaves it the intended share of its SLA target
consumed *in business time* at `now`, found by bisection on the priority's own
calendar, so the intended SLA state holds whatever hour the demo starts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from servicedesk import incidents as core
from servicedesk.config import CentralitaConfig
from servicedesk.models import Contact, Incident
from servicedesk.sla import calendar_for

TITLES: list[tuple[str, str]] = [
    ("Sin acceso a internet en sucursal", "network"),
    ("VPN se desconecta cada 10 minutos", "network"),
    ("Wi-Fi de la sala de juntas no da IP", "network"),
    ("No sincroniza el correo en el celular", "email"),
    ("Buzón compartido de facturación lleno", "email"),
    ("No llegan correos de proveedores externos", "email"),
    ("Error al timbrar facturas en el ERP", "erp"),
    ("Póliza contable no cuadra al cerrar el mes", "erp"),
    ("Usuario bloqueado en módulo de compras", "erp"),
    ("Impresora del área de compras atascada", "hardware"),
    ("Laptop no enciende después de actualizar", "hardware"),
    ("Monitor parpadea en recepción", "hardware"),
    ("Solicitud de alta de usuario", "general"),
    ("Cambio de contraseña del dominio", "general"),
]


@dataclass(frozen=True)
class Ticket:
    """One ticket to seed: its status now, the SLA state it should show, its priority."""

    status: str  # new | assigned | in_progress | escalated | resolved | closed
    sla: str  # on_track | at_risk | breached | none | met
    priority: str


def backlog() -> list[Ticket]:
    """35 open tickets (28 on track, 4 at risk, 2 breached, 1 planned) and 12 done."""
    t: list[Ticket] = []
    prios = ["medium", "medium", "high", "low", "medium", "high", "low"]
    for i, status in enumerate(["new"] * 5 + ["assigned"] * 9 + ["in_progress"] * 10):
        t.append(Ticket(status, "on_track", prios[i % len(prios)]))
    t += [Ticket(s, "on_track", "critical") for s in ("assigned", "in_progress")]
    t += [Ticket("escalated", "on_track", p) for p in ("high", "medium")]
    t += [
        Ticket(s, "at_risk", p)
        for s, p in (
            ("in_progress", "high"),
            ("assigned", "medium"),
            ("in_progress", "medium"),
            ("escalated", "low"),
        )
    ]
    t += [Ticket("in_progress", "breached", "medium"), Ticket("escalated", "breached", "high")]
    t.append(Ticket("assigned", "none", "planned"))
    t += [Ticket("resolved", "met", prios[i % len(prios)]) for i in range(4)]
    t += [Ticket("closed", "met", prios[i % len(prios)]) for i in range(8)]
    return t


def opened_at(
    cfg: CentralitaConfig, priority: str, share: float, now: datetime, *, response: bool = False
) -> datetime:
    """The creation instant that leaves `share` of the priority's target used at `now`."""
    target = cfg.sla.priorities[priority]  # type: ignore[index]
    minutes = target.response_minutes if response else target.resolution_minutes
    if target.calendar is None or not minutes:
        return now - timedelta(hours=share * 24)
    cal = calendar_for(cfg, target.calendar)
    want = timedelta(minutes=minutes * share)
    lo, hi = now - timedelta(days=30), now  # elapsed(lo, now) >= want >= elapsed(hi, now)
    for _ in range(40):
        mid = lo + (hi - lo) / 2
        if cal.elapsed(mid, now) >= want:
            lo = mid
        else:
            hi = mid
    return hi


def _share(rng: random.Random, ticket: Ticket) -> float:
    return {
        "on_track": rng.uniform(0.08, 0.6),
        "at_risk": rng.uniform(0.8, 0.93),
        "breached": rng.uniform(1.1, 1.35),
        "none": rng.uniform(0.5, 3.0),
        "met": rng.uniform(1.5, 12.0),  # days back, see below
    }[ticket.sla]


def seed_incidents(
    session: Session,
    cfg: CentralitaConfig,
    contacts: list[Contact],
    contract_of: dict[int, int | None],
    rng: random.Random,
    now: datetime,
) -> list[Incident]:
    agents = [a.login for a in cfg.agents]
    out: list[Incident] = []
    for ticket in backlog():
        contact = rng.choice(contacts) if contacts else None
        title, category = rng.choice(TITLES)
        share = _share(rng, ticket)
        if ticket.sla == "met":
            created = now - timedelta(days=share, minutes=rng.randint(0, 300))
        elif ticket.status == "new":  # nobody has answered: keep the response clock on track too
            created = opened_at(cfg, ticket.priority, min(share, 0.5), now, response=True)
        else:
            created = opened_at(cfg, ticket.priority, share, now)
        agent = rng.choice(agents)
        # a ticket still `new` came in by e-mail and nobody has answered it; the others were
        # opened by the agent who took the call, which is their first response
        by_phone = ticket.status != "new"
        inc = core.create_incident(
            session,
            cfg,
            title=title,
            actor=agent if by_phone else "system",
            category=category,
            priority=ticket.priority,
            channel="phone" if by_phone else "email",
            reporter_id=contact.id if contact else None,
            organisation_id=contact.organisation_id if contact else None,
            contract_id=contract_of.get(contact.organisation_id) if contact else None,
            now=created,
        )
        out.append(inc)
        if ticket.status == "new":
            continue
        # the next steps come minutes apart, never after `now`
        step = min(timedelta(minutes=rng.randint(2, 9)), (now - created) / 4)
        at = created + step
        core.assign(session, inc, assignee=agent, actor=agent, now=at)
        if ticket.status == "assigned":
            continue
        at += step
        core.start_work(session, inc, actor=agent, now=at)
        if ticket.status == "escalated":
            core.escalate(session, inc, 2, actor=agent, now=at + step)
        elif ticket.status in ("resolved", "closed"):
            target = cfg.sla.priorities[ticket.priority]  # type: ignore[index]
            done = at + timedelta(minutes=rng.randint(20, 90))
            if target.calendar is not None and target.resolution_minutes:
                cal = calendar_for(cfg, target.calendar)
                done = cal.add(created, timedelta(minutes=target.resolution_minutes * 0.6))
            done = max(at + timedelta(minutes=5), min(done, now - timedelta(hours=3)))
            core.resolve(session, inc, actor=agent, resolution="Se reinició el servicio", now=done)
            if ticket.status == "closed":
                core.verify(session, inc, accepted=True, actor=agent, now=done + timedelta(hours=2))
    session.flush()
    return out
