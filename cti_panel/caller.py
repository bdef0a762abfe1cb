"""The caller card shown with a pop: contact, organisation, contract usage, open incidents."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from servicedesk.config import CentralitaConfig
from servicedesk.models import Contact, Contract, Incident, Organisation

OPEN_STATUSES = ("new", "assigned", "in_progress", "escalated")


def active_contract(
    session: Session, organisation_id: int | None, now: datetime
) -> Contract | None:
    if organisation_id is None:
        return None
    return session.scalar(
        select(Contract)
        .where(
            Contract.organisation_id == organisation_id,
            Contract.starts_on <= now,
            or_(Contract.ends_on.is_(None), Contract.ends_on > now),
        )
        .order_by(Contract.starts_on.desc())
        .limit(1)
    )


def allotment_usage(
    session: Session, cfg: CentralitaConfig, contract: Contract, now: datetime
) -> dict[str, dict[str, int]]:
    """This local month's incidents against the plan's allotment (servicedesk.contracts rules)."""
    from servicedesk.contracts import usage_for_contract

    local = now.astimezone(ZoneInfo(cfg.service.timezone))
    try:
        usage = usage_for_contract(session, cfg, contract.id, local.year, local.month)
    except LookupError:  # a plan no longer in the configuration: show the contract without usage
        return {}
    return {p: {"used": u.used, "allowed": u.allotted} for p, u in usage.items()}


def incident_summary(inc: Incident) -> dict[str, Any]:
    return {
        "number": inc.number,
        "display": inc.display_number,
        "title": inc.title,
        "status": inc.status,
        "priority": inc.priority,
        "level": inc.level,
        "created_at": inc.created_at.isoformat(),
    }


def caller_card(
    session: Session,
    cfg: CentralitaConfig,
    *,
    contact_id: int | None,
    incident_number: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    card: dict[str, Any] = {
        "contact": None,
        "organisation": None,
        "contract": None,
        "vip": False,
        "open_incidents": [],
        "keyed_incident": None,
    }
    contact = session.get(Contact, contact_id) if contact_id else None
    org: Organisation | None = None
    if contact is not None:
        org = contact.organisation
        card["contact"] = {
            "id": contact.id,
            "name": contact.name or "",
            "email": contact.email or "",
            "language": contact.language,
            "phones": [p.e164 for p in contact.phones],
        }
        card["vip"] = bool(contact.vip or (org is not None and org.vip))
    if org is not None:
        card["organisation"] = {
            "id": org.id,
            "name": org.name,
            "customer_number": org.customer_number or "",
            "vip": org.vip,
        }
        contract = active_contract(session, org.id, now)
        if contract is not None:
            card["contract"] = {
                "id": contract.id,
                "number": contract.number,
                "plan": contract.plan,
                "critical_24x7": contract.critical_24x7,
                "usage": allotment_usage(session, cfg, contract, now),
            }
    if contact is not None:
        conds = [Incident.reporter_id == contact.id]
        if org is not None:
            conds.append(Incident.organisation_id == org.id)
        incs = session.scalars(
            select(Incident)
            .where(or_(*conds), Incident.status.in_(OPEN_STATUSES))
            .order_by(Incident.created_at.desc())
            .limit(10)
        ).all()
        card["open_incidents"] = [incident_summary(i) for i in incs]
    if incident_number:
        inc = session.scalar(select(Incident).where(Incident.number == incident_number))
        if inc is not None:
            card["keyed_incident"] = incident_summary(inc)
    return card
