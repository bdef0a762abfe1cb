"""Incident list (search, filters, pages) and detail (timeline, linked calls, workflow forms)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from cti_panel import incident_ops, policy
from cti_panel.context import ctx, db
from cti_panel.params import page_number, parse_id
from cti_panel.security import ALL_ROLES, roles_required
from cti_panel.wallboard import _worst_state
from servicedesk import incidents as core_incidents
from servicedesk.models import (
    INCIDENT_STATUSES,
    PRIORITIES,
    Contact,
    Incident,
    IncidentCall,
    Organisation,
)

bp = Blueprint("incidents", __name__, url_prefix="/incidents")
PAGE_SIZE = 25
SLA_STATES = ("on_track", "at_risk", "breached", "met", "none")
ACTIONS = ("update", "comment", "assign", "start", "escalate", "resolve", "verify")


def current_actor() -> policy.Actor:
    return policy.Actor(current_user.username, current_user.role, current_user.agent_login)


def _sla_state(inc: Incident, now: datetime) -> str:
    from servicedesk.incidents import sla_status

    return _worst_state(sla_status(ctx().cfg, inc, now))


@bp.route("/")
@roles_required(*ALL_ROLES)
def index():  # type: ignore[no-untyped-def]
    args = request.args
    stmt = select(Incident).options(
        selectinload(Incident.organisation), selectinload(Incident.reporter)
    )
    q = (args.get("q") or "").strip()[:100]
    if q:
        like = f"%{q}%"
        conds = [Incident.title.ilike(like), Incident.description.ilike(like)]
        number = core_incidents.parse_display_number(q) if q.isascii() else None
        if number is not None:
            conds.append(Incident.number == number)
        conds.append(Incident.reporter_id.in_(select(Contact.id).where(Contact.name.ilike(like))))
        stmt = stmt.where(or_(*conds))
    status = args.get("status") or ""
    if status in INCIDENT_STATUSES:
        stmt = stmt.where(Incident.status == status)
    elif status == "open":
        stmt = stmt.where(Incident.status.in_(("new", "assigned", "in_progress", "escalated")))
    priority = args.get("priority") or ""
    if priority in PRIORITIES:
        stmt = stmt.where(Incident.priority == priority)
    org = parse_id(args.get("organisation"), "organisation")
    if org is not None:
        stmt = stmt.where(Incident.organisation_id == org)
    agent = args.get("agent") or ""
    if agent:
        stmt = stmt.where(Incident.assignee_login == agent[:32])
    stmt = stmt.order_by(Incident.created_at.desc(), Incident.id.desc())
    page = page_number(args.get("page"))
    now = datetime.now(UTC)
    sla = args.get("sla") or ""
    if sla in SLA_STATES:
        # The SLA state is computed on business calendars, not stored: filter in Python.
        rows = [(i, _sla_state(i, now)) for i in db().scalars(stmt.limit(5000))]
        rows = [r for r in rows if r[1] == sla]
        total = len(rows)
        rows = rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    else:
        from sqlalchemy import func

        total = db().scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
        items = db().scalars(stmt.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
        rows = [(i, _sla_state(i, now)) for i in items]
    orgs = (
        db().execute(select(Organisation.id, Organisation.name).order_by(Organisation.name)).all()
    )
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    filters = {k: v for k, v in args.items() if k != "page" and v}
    return render_template(
        "incidents.html",
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        statuses=INCIDENT_STATUSES,
        priorities=PRIORITIES,
        sla_states=SLA_STATES,
        organisations=orgs,
        agents=ctx().cfg.agents,
    )


@bp.route("/<int:number>")
@roles_required(*ALL_ROLES)
def detail(number: int):  # type: ignore[no-untyped-def]
    inc = db().scalar(
        select(Incident)
        .where(Incident.number == number)
        .options(
            selectinload(Incident.events),
            selectinload(Incident.calls).selectinload(IncidentCall.call),
            selectinload(Incident.reporter),
            selectinload(Incident.organisation),
        )
    )
    if inc is None:
        abort(404)
    cfg = ctx().cfg
    who = current_actor()
    next_level = min(3, inc.level + 1)
    from servicedesk.incidents import sla_status

    return render_template(
        "incident.html",
        inc=inc,
        sla=_sla_state(inc, datetime.now(UTC)),
        clocks=sla_status(cfg, inc, datetime.now(UTC)),
        actions=policy.allowed_actions(db(), cfg, who, inc),
        may_work=policy.may_work(db(), cfg, who, inc),
        assignable=policy.assignable_agents(cfg, who, inc),
        escalation_targets=policy.escalation_targets(cfg, next_level),
        owners=policy.owner_history(inc),
        skills=cfg.skills,
        escalation=cfg.escalation.levels,
        calendars=cfg.calendars,
        next_level=next_level,
        calls=sorted(inc.calls, key=lambda ic: ic.linked_at),
    )


@bp.route("/<int:number>/<action>", methods=["POST"])
@roles_required(*ALL_ROLES)
def act(number: int, action: str):  # type: ignore[no-untyped-def]
    if action not in ACTIONS:
        abort(404)
    body: dict[str, Any] = dict(request.form)
    try:
        incident_ops.apply_action(
            db(),
            ctx().cfg,
            number,
            action,
            body,
            current_actor(),
        )
        db().commit()
        flash(_("Saved."), "ok")
    except incident_ops.FormError as exc:
        db().rollback()
        flash(str(exc), f"error action-{action}")
    return redirect(url_for("incidents.detail", number=number, _anchor=f"form-{action}"))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*ALL_ROLES)
def new():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        try:
            inc = incident_ops.create_from_form(
                db(),
                ctx().cfg,
                dict(request.form),
                incident_ops.actor_of(current_user.username, current_user.agent_login),
            )
            db().commit()
            return redirect(url_for("incidents.detail", number=inc.number))
        except incident_ops.FormError as exc:
            db().rollback()
            flash(str(exc), "error")
    return render_template("incident_new.html", skills=ctx().cfg.skills)
