"""JSON API used by the console's scripts; every call is role-checked and CSRF-checked."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from cti_panel import incident_ops
from cti_panel.caller import caller_card
from cti_panel.context import ctx, db
from cti_panel.membership import agent_config, command, memberships, send_and_wait
from cti_panel.security import ALL_ROLES, STAFF, roles_required
from cti_panel.views_agent import AGENT_ROLES
from cti_panel.wallboard import snapshot
from servicedesk.models import Call

bp = Blueprint("api", __name__, url_prefix="/api")


def _err(message: str, status: int = 400):  # type: ignore[no-untyped-def]
    return jsonify(error=message), status


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else dict(request.form)


def _me():  # type: ignore[no-untyped-def]
    return agent_config(ctx().cfg, current_user.agent_login)


@bp.route("/agent/state")
@roles_required(*AGENT_ROLES)
def agent_state():  # type: ignore[no-untyped-def]
    me = _me()
    if me is None:
        return _err("no agent login on this account", 404)
    c = ctx()
    return jsonify(
        state=c.bus.get_state(c.bus.keys.agent_state(me.login)),
        memberships=memberships(c.cfg, me),
    )


@bp.route("/agent/queues/join", methods=["POST"])
@roles_required(*AGENT_ROLES)
def join_queues():  # type: ignore[no-untyped-def]
    me = _me()
    if me is None:
        return _err("no agent login on this account", 404)
    c = ctx()
    cmds = [
        command("QueueAdd", me, current_user.username, queue=q, penalty=p)
        for q, p in memberships(c.cfg, me).items()
    ]
    return jsonify(results=send_and_wait(c.bus, cmds, c.command_timeout_s))


@bp.route("/agent/queues/leave", methods=["POST"])
@roles_required(*AGENT_ROLES)
def leave_queues():  # type: ignore[no-untyped-def]
    import json

    me = _me()
    if me is None:
        return _err("no agent login on this account", 404)
    c = ctx()
    state = c.bus.get_state(c.bus.keys.agent_state(me.login))
    try:
        current = list(json.loads(state.get("queues") or "{}"))
    except ValueError:
        current = []
    queues = current or list(memberships(c.cfg, me))
    cmds = [command("QueueRemove", me, current_user.username, queue=q) for q in queues]
    return jsonify(results=send_and_wait(c.bus, cmds, c.command_timeout_s))


@bp.route("/agent/pause", methods=["POST"])
@roles_required(*AGENT_ROLES)
def pause():  # type: ignore[no-untyped-def]
    me = _me()
    if me is None:
        return _err("no agent login on this account", 404)
    c = ctx()
    body = _body()
    paused = bool(body.get("paused", True)) and body.get("paused") not in ("false", "0")
    reason = str(body.get("reason") or "")
    if paused and reason not in c.cfg.panel.pause_reasons:
        return _err("choose a pause reason from the list")
    cmd = command(
        "QueuePause", me, current_user.username, paused=paused, reason=reason if paused else ""
    )
    return jsonify(results=send_and_wait(c.bus, [cmd], c.command_timeout_s))


@bp.route("/caller")
@roles_required(*ALL_ROLES)
def caller():  # type: ignore[no-untyped-def]
    contact = request.args.get("contact_id", "")
    incident = request.args.get("incident", "")
    card = caller_card(
        db(),
        ctx().cfg,
        contact_id=int(contact) if contact.isdigit() else None,
        incident_number=int(incident) if incident.isdigit() and len(incident) < 10 else None,
    )
    return jsonify(card)


def _call_by_linkedid(linkedid: str) -> Call | None:
    return db().scalar(
        select(Call).where(
            Call.pbx_id == ctx().cfg.connections.pbx_id, Call.linkedid == linkedid[:64]
        )
    )


@bp.route("/calls/<linkedid>/wrapup", methods=["POST"])
@roles_required(*AGENT_ROLES)
def wrapup(linkedid: str):  # type: ignore[no-untyped-def]
    code = str(_body().get("code") or "")
    if code not in ctx().cfg.panel.wrapup_codes:
        return _err("unknown wrap-up code")
    call = _call_by_linkedid(linkedid)
    if call is None:
        return _err("call not recorded yet; try again in a moment", 404)
    call.wrapup_code = code
    db().commit()
    return jsonify(ok=True, call=linkedid, wrapup_code=code)


@bp.route("/incidents", methods=["POST"])
@roles_required(*ALL_ROLES)
def create_incident():  # type: ignore[no-untyped-def]
    body = _body()
    linkedid = str(body.get("call_id") or "")
    call = _call_by_linkedid(linkedid) if linkedid else None
    try:
        inc = incident_ops.create_from_form(
            db(),
            ctx().cfg,
            body,
            incident_ops.actor_of(current_user.username, current_user.agent_login),
            call,
        )
    except incident_ops.FormError as exc:
        db().rollback()
        return _err(str(exc))
    db().commit()
    return jsonify(number=inc.number, display=inc.display_number, priority=inc.priority), 201


@bp.route("/incidents/<int:number>/link-call", methods=["POST"])
@roles_required(*ALL_ROLES)
def link_call(number: int):  # type: ignore[no-untyped-def]
    linkedid = str(_body().get("call_id") or "")
    call = _call_by_linkedid(linkedid)
    if call is None:
        return _err("call not recorded yet; try again in a moment", 404)
    try:
        inc = incident_ops.link(
            db(),
            ctx().cfg,
            number,
            call,
            incident_ops.actor_of(current_user.username, current_user.agent_login),
        )
    except incident_ops.FormError as exc:
        db().rollback()
        return _err(str(exc))
    db().commit()
    return jsonify(number=inc.number, display=inc.display_number)


@bp.route("/wallboard")
@roles_required(*STAFF)
def wallboard():  # type: ignore[no-untyped-def]
    c = ctx()
    return jsonify(snapshot(c.cfg, c.bus, c.sessions, c.risk))
