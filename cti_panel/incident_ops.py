"""Validates panel input and calls the core incident workflow (servicedesk.incidents).

The core owns the rules (legal transitions, SLA clocks, audit events); this module
only turns untrusted form fields into typed arguments and refuses bad ones clearly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cti_panel.caller import active_contract
from servicedesk import incidents as core
from servicedesk.config import CentralitaConfig
from servicedesk.models import Call, Contact, Incident

LEVELS = ("high", "medium", "low")


class FormError(ValueError):
    pass


def actor_of(username: str, agent_login: str | None) -> str:
    """Agents act under their agent login, so `start_work` assigns the right person."""
    return agent_login or username


def _text(body: Mapping[str, Any], key: str, limit: int, *, required: bool = False) -> str:
    value = str(body.get(key) or "").strip()
    if required and not value:
        raise FormError(f"{key} is required")
    if len(value) > limit:
        raise FormError(f"{key} is longer than {limit} characters")
    return value


def _choice(
    body: Mapping[str, Any], key: str, allowed: tuple[str, ...] | list[str], default: str
) -> str:
    value = str(body.get(key) or default)
    if value not in allowed:
        raise FormError(f"{key}: choose one of {', '.join(allowed)}")
    return value


def _int_or_none(value: Any) -> int | None:
    s = str(value or "").strip()
    if not s:
        return None
    if not s.isdigit() or len(s) > 9:
        raise FormError(f"not a number: {s[:20]}")
    return int(s)


def get(session: Session, number: int) -> Incident:
    inc = session.scalar(select(Incident).where(Incident.number == number))
    if inc is None:
        raise FormError(f"no incident {number}")
    return inc


def create_from_form(
    session: Session,
    cfg: CentralitaConfig,
    body: Mapping[str, Any],
    actor: str,
    call: Call | None = None,
) -> Incident:
    title = _text(body, "title", 200, required=True)
    description = _text(body, "description", 10_000)
    category = str(body.get("category") or "") or None
    if category is not None and category not in cfg.skills:
        raise FormError("unknown category")
    impact = _choice(body, "impact", LEVELS, "medium")
    urgency = _choice(body, "urgency", LEVELS, "medium")
    contact_id = _int_or_none(body.get("contact_id"))
    if contact_id is None and call is not None:
        contact_id = call.contact_id
    contact = session.get(Contact, contact_id) if contact_id else None
    if contact_id and contact is None:
        raise FormError("unknown contact")
    org_id = contact.organisation_id if contact else None
    contract = active_contract(session, org_id, datetime.now(UTC))
    try:
        return core.create_incident(
            session,
            cfg,
            title=title,
            actor=actor,
            description=description,
            category=category,
            impact=impact,
            urgency=urgency,
            channel="phone" if call is not None or body.get("channel") == "phone" else "web",
            reporter_id=contact.id if contact else None,
            organisation_id=org_id,
            contract_id=contract.id if contract else None,
            call_id=call.id if call is not None else None,
        )
    except core.IncidentError as exc:
        raise FormError(str(exc)) from exc


def link(session: Session, cfg: CentralitaConfig, number: int, call: Call, actor: str) -> Incident:
    inc = get(session, number)
    try:
        core.link_call(session, inc, call.id, actor=actor)
    except core.IncidentError as exc:
        raise FormError(str(exc)) from exc
    return inc


def apply_action(
    session: Session,
    cfg: CentralitaConfig,
    number: int,
    action: str,
    body: Mapping[str, Any],
    actor: str,
) -> Incident:
    """One workflow step from the detail page; the core raises IllegalTransition when refused."""
    inc = get(session, number)
    note = _text(body, "note", 10_000)
    try:
        if action == "update":
            changes: dict[str, Any] = {}
            for key, limit in (("title", 200), ("description", 10_000)):
                if key in body:
                    changes[key] = _text(body, key, limit, required=key == "title")
            for key in ("impact", "urgency"):
                if body.get(key):
                    changes[key] = _choice(body, key, LEVELS, "medium")
            if body.get("category"):
                if body["category"] not in cfg.skills:
                    raise FormError("unknown category")
                changes["category"] = body["category"]
            core.update(session, cfg, inc, actor=actor, note=note, **changes)
        elif action == "assign":
            login = str(body.get("assignee") or "")
            if login not in {a.login for a in cfg.agents}:
                raise FormError("unknown agent")
            core.assign(session, inc, assignee=login, actor=actor, note=note)
        elif action == "start":
            core.start_work(session, inc, actor=actor, note=note)
        elif action == "escalate":
            level = _int_or_none(body.get("level"))
            if level not in (2, 3):
                raise FormError("escalate to level 2 or 3")
            core.escalate(session, inc, level, actor=actor, note=note)
        elif action == "resolve":
            core.resolve(session, inc, actor=actor, resolution=note)
        elif action == "verify":
            accepted = str(body.get("accepted")) == "1"
            core.verify(session, inc, accepted=accepted, actor=actor, note=note)
        else:
            raise FormError("unknown action")
    except core.IncidentError as exc:
        raise FormError(str(exc)) from exc
    return inc
