"""Validates panel input, applies the panel's policy and calls the core incident workflow.

The core (servicedesk.incidents) owns the lifecycle rules, SLA clocks and audit
events; cti_panel.policy says who may act; this module turns untrusted form
fields into typed arguments and every refusal into a sentence in the user's
language (no code or English domain message reaches a person).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from cti_panel import policy
from cti_panel.caller import active_contract
from cti_panel.labels import STATUS, label
from cti_panel.params import BadNumber, parse_id
from servicedesk import incidents as core
from servicedesk.config import CentralitaConfig
from servicedesk.models import Call, Contact, Incident

LEVELS = ("high", "medium", "low")
MIN_SOLUTION_CHARS = 15
MIN_SOLUTION_WORDS = 3
_WORD = re.compile(r"[^\W\d_]{2,}")


class FormError(ValueError):
    """A refusal already worded for the person who asked."""


def actor_of(username: str, agent_login: str | None) -> str:
    """Agents act under their agent login, so `start_work` assigns the right person."""
    return agent_login or username


def _field_name(key: str) -> str:
    return {
        "title": _("Title"),
        "description": _("Description"),
        "note": _("Note"),
        "solution": _("Solution"),
    }.get(key, key)


def _text(body: Mapping[str, Any], key: str, limit: int, *, required: bool = False) -> str:
    value = str(body.get(key) or "").strip()
    if required and not value:
        raise FormError(_("%(field)s is required.", field=_field_name(key)))
    if len(value) > limit:
        raise FormError(
            _("%(field)s is longer than %(limit)s characters.", field=_field_name(key), limit=limit)
        )
    return value


def _choice(body: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(body.get(key) or default)
    if value not in allowed:
        raise FormError(_("Choose a value from the list."))
    return value


def _id(value: Any, name: str) -> int | None:
    try:
        return parse_id(value, name)
    except BadNumber as exc:
        raise FormError(_("“%(name)s” must be a whole number.", name=name)) from exc


def explain(exc: core.IncidentError, inc: Incident | None = None) -> str:
    """A core refusal as a sentence in the user's language."""
    if isinstance(exc, core.IllegalTransition):
        if exc.from_status == "closed":
            return _("This incident is closed; open a new one instead.")
        if exc.from_status == "resolved":
            return _("This incident is resolved and waits for the caller's verification.")
        if exc.to_status == "escalated":
            return _("This incident is already at the highest support level.")
        return _(
            "An incident that is %(now)s cannot become %(next)s.",
            now=label(STATUS, exc.from_status),
            next=label(STATUS, exc.to_status),
        )
    text = str(exc)
    if "is closed" in text:
        return _("This incident is closed; open a new one instead.")
    if "unknown category" in text:
        return _("Choose a category from the list.")
    if "title is required" in text:
        return _("%(field)s is required.", field=_("Title"))
    if "only the reporter" in text:
        return _("Only the person who reported it may verify this incident.")
    return _("The incident could not be changed.")


def get(session: Session, number: int) -> Incident:
    inc = session.scalar(select(Incident).where(Incident.number == number))
    if inc is None:
        raise FormError(_("There is no incident %(number)s.", number=core.display_number(number)))
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
        raise FormError(_("Choose a category from the list."))
    impact = _choice(body, "impact", LEVELS, "medium")
    urgency = _choice(body, "urgency", LEVELS, "medium")
    contact_id = _id(body.get("contact_id"), "contact_id")
    if contact_id is None and call is not None:
        contact_id = call.contact_id
    contact = session.get(Contact, contact_id) if contact_id else None
    if contact_id and contact is None:
        raise FormError(_("That contact does not exist (any more); search for it again."))
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
        raise FormError(explain(exc)) from exc


def link(session: Session, cfg: CentralitaConfig, number: int, call: Call, actor: str) -> Incident:
    inc = get(session, number)
    try:
        core.link_call(session, inc, call.id, actor=actor)
    except core.IncidentError as exc:
        raise FormError(explain(exc, inc)) from exc
    return inc


def check_solution(text: str) -> str:
    """A solution someone else can act on: not 'x', not 'ok' — a few real words."""
    if len(text) < MIN_SOLUTION_CHARS or len(_WORD.findall(text)) < MIN_SOLUTION_WORDS:
        raise FormError(
            _(
                "Describe the solution in a sentence (at least %(words)s words): "
                "what was wrong and what fixed it.",
                words=MIN_SOLUTION_WORDS,
            )
        )
    return text


def apply_action(
    session: Session,
    cfg: CentralitaConfig,
    number: int,
    action: str,
    body: Mapping[str, Any],
    who: policy.Actor,
) -> Incident:
    """One workflow step from the detail page, refused unless the lifecycle and the
    policy both allow it (the page offers the same set)."""
    inc = get(session, number)
    actor = actor_of(who.username, who.agent_login)
    allowed = policy.allowed_actions(session, cfg, who, inc)
    if action not in allowed:
        if not policy.may_work(session, cfg, who, inc):
            raise FormError(
                _(
                    "You may not change this incident: it is not yours and not waiting in your skills."
                )
            )
        raise FormError(
            _(
                "This step is not possible while the incident is %(status)s.",
                status=label(STATUS, inc.status),
            )
        )
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
                    raise FormError(_("Choose a category from the list."))
                changes["category"] = body["category"]
            core.update(session, cfg, inc, actor=actor, note=note, **changes)
        elif action == "comment":
            if not note:
                raise FormError(_("%(field)s is required.", field=_("Note")))
            core.add_note(session, inc, actor=actor, note=note)
        elif action == "assign":
            login = str(body.get("assignee") or "")
            if login not in {a.login for a in policy.assignable_agents(cfg, who, inc)}:
                raise FormError(_("Choose a person from the list."))
            core.assign(session, inc, assignee=login, actor=actor, note=note)
        elif action == "start":
            core.start_work(session, inc, actor=actor, note=note)
        elif action == "escalate":
            _escalate(session, cfg, inc, body, actor, note)
        elif action == "resolve":
            solution = check_solution(_text(body, "solution", 10_000, required=True))
            if inc.assignee_login is None:
                if not who.agent_login:
                    raise FormError(
                        _("Assign this incident to the person who solved it, then resolve it.")
                    )
                core.assign(session, inc, assignee=who.agent_login, actor=actor)
            core.resolve(session, inc, actor=actor, resolution=solution)
        elif action == "verify":
            accepted = str(body.get("accepted")) == "1"
            core.verify(session, inc, accepted=accepted, actor=actor, note=note)
        else:
            raise FormError(_("Unknown step."))
    except core.IncidentError as exc:
        raise FormError(explain(exc, inc)) from exc
    return inc


def _escalate(
    session: Session,
    cfg: CentralitaConfig,
    inc: Incident,
    body: Mapping[str, Any],
    actor: str,
    note: str,
) -> None:
    level = _id(body.get("level"), "level")
    if level not in (2, 3) or level <= inc.level:
        raise FormError(_("Escalate to a higher support level."))
    target = str(body.get("target") or "")
    if target == "group":
        assignee = None
    elif target in {a.login for a in policy.escalation_targets(cfg, level)}:
        assignee = target
    else:
        raise FormError(_("Choose who takes the incident at level %(level)s.", level=level))
    core.escalate(session, inc, level, actor=actor, assignee=assignee, note=note)
