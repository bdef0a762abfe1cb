"""JSON API used by the console's scripts; every call is role-checked and CSRF-checked."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from cti_panel import incident_ops, policy
from cti_panel.caller import caller_card, incident_summary
from cti_panel.context import ctx, db
from cti_panel.membership import agent_config, command, memberships, send_and_wait
from cti_panel.params import parse_id
from cti_panel.security import ALL_ROLES, STAFF, roles_required
from cti_panel.views_agent import AGENT_ROLES
from cti_panel.views_incidents import current_actor
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


def _no_agent():  # type: ignore[no-untyped-def]
    return _err(_("This account has no agent login; ask an administrator."), 404)


def _worded(results: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each command result as a sentence: 'Entrar a la cola Red e internet (español): ...'."""
    from flask_babel import get_locale

    from cti_panel.labels import AMI_MESSAGE, COMMAND, Names, label

    names = Names(ctx().cfg, str(get_locale() or "es"))
    out = []
    for r in results:
        what = label(COMMAND, r.get("action"))
        if r.get("queue"):
            what = f"{what}: {names.queue(r['queue'])}"
        if r.get("response") == "Pending":
            outcome = _("waiting for the PBX…")
        elif r.get("response") == "Success":
            outcome = (
                label(AMI_MESSAGE, r.get("message"))
                if r.get("message") in AMI_MESSAGE
                else _("done")
            )
        else:
            known = r.get("message") in AMI_MESSAGE
            outcome = _(
                "not done: %(why)s",
                why=label(AMI_MESSAGE, r.get("message")) if known else _("the PBX refused it"),
            )
        out.append({**r, "text": f"{what} — {outcome}"})
    return out


@bp.route("/agent/state")
@roles_required(*AGENT_ROLES)
def agent_state():  # type: ignore[no-untyped-def]
    me = _me()
    if me is None:
        return _no_agent()
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
        return _no_agent()
    c = ctx()
    cmds = [
        command("QueueAdd", me, current_user.username, queue=q, penalty=p)
        for q, p in memberships(c.cfg, me).items()
    ]
    return jsonify(results=_worded(send_and_wait(c.bus, cmds, c.command_timeout_s)))


@bp.route("/agent/queues/leave", methods=["POST"])
@roles_required(*AGENT_ROLES)
def leave_queues():  # type: ignore[no-untyped-def]
    import json

    me = _me()
    if me is None:
        return _no_agent()
    c = ctx()
    state = c.bus.get_state(c.bus.keys.agent_state(me.login))
    try:
        current = list(json.loads(state.get("queues") or "{}"))
    except ValueError:
        current = []
    queues = current or list(memberships(c.cfg, me))
    cmds = [command("QueueRemove", me, current_user.username, queue=q) for q in queues]
    return jsonify(results=_worded(send_and_wait(c.bus, cmds, c.command_timeout_s)))


@bp.route("/agent/pause", methods=["POST"])
@roles_required(*AGENT_ROLES)
def pause():  # type: ignore[no-untyped-def]
    me = _me()
    if me is None:
        return _no_agent()
    c = ctx()
    body = _body()
    paused = bool(body.get("paused", True)) and body.get("paused") not in ("false", "0")
    reason = str(body.get("reason") or "")
    if paused and reason not in c.cfg.panel.pause_reasons:
        return _err(_("Choose a pause reason from the list."))
    cmd = command(
        "QueuePause", me, current_user.username, paused=paused, reason=reason if paused else ""
    )
    return jsonify(results=_worded(send_and_wait(c.bus, [cmd], c.command_timeout_s)))


@bp.route("/caller")
@roles_required(*ALL_ROLES)
def caller():  # type: ignore[no-untyped-def]
    contact_id = parse_id(request.args.get("contact_id"), "contact_id")
    incident = parse_id(request.args.get("incident"), "incident")
    if contact_id is not None and not policy.may_see_contact(
        db(), ctx().bus, current_actor(), contact_id
    ):
        return _err(_("You can open a contact's card only from one of your calls."), 403)
    card = caller_card(db(), ctx().cfg, contact_id=contact_id, incident_number=incident)
    from flask_babel import get_locale

    from cti_panel.labels import Names

    names = Names(ctx().cfg, str(get_locale() or "es"))
    if card.get("contract"):
        card["contract"]["plan_label"] = names.plan(card["contract"]["plan"])
    return jsonify(card)


def _call_by_linkedid(linkedid: str) -> Call | None:
    """The recorded call, or (for the agent it popped to) a stub the listener completes."""
    c = ctx()
    call = db().scalar(
        select(Call).where(Call.pbx_id == c.cfg.connections.pbx_id, Call.linkedid == linkedid[:64])
    )
    if call is None and current_user.agent_login and linkedid:
        from cti_panel.call_stub import call_from_pop

        call = call_from_pop(
            db(), c.bus, c.cfg.connections.pbx_id, current_user.agent_login, linkedid
        )
    return call


@bp.route("/calls/<linkedid>/wrapup", methods=["POST"])
@roles_required(*AGENT_ROLES)
def wrapup(linkedid: str):  # type: ignore[no-untyped-def]
    code = str(_body().get("code") or "")
    if code not in ctx().cfg.panel.wrapup_codes:
        return _err(_("Choose a wrap-up code from the list."))
    call = _call_by_linkedid(linkedid)
    if call is None:
        return _err(_("The call is not recorded yet; try again in a moment."), 404)
    if not policy.may_use_call(ctx().bus, current_actor(), call):
        return _err(_("This is not one of your calls."), 403)
    call.wrapup_code = code
    db().commit()
    return jsonify(ok=True, call=linkedid, wrapup_code=code)


@bp.route("/incidents", methods=["POST"])
@roles_required(*ALL_ROLES)
def create_incident():  # type: ignore[no-untyped-def]
    body = _body()
    linkedid = str(body.get("call_id") or "")
    call = _call_by_linkedid(linkedid) if linkedid else None
    if linkedid and call is None:
        return _err(_("The call is not recorded yet; try again in a moment."), 404)
    if call is not None and not policy.may_use_call(ctx().bus, current_actor(), call):
        return _err(_("This is not one of your calls."), 403)
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
    return jsonify(
        number=inc.number,
        display=inc.display_number,
        priority=inc.priority,
        url=url_for("incidents.detail", number=inc.number),
        linked_call=call.linkedid if call is not None else None,
        incident=incident_summary(inc),
    ), 201


@bp.route("/incidents/<int:number>/link-call", methods=["POST"])
@roles_required(*ALL_ROLES)
def link_call(number: int):  # type: ignore[no-untyped-def]
    linkedid = str(_body().get("call_id") or "")
    call = _call_by_linkedid(linkedid)
    if call is None:
        return _err(_("The call is not recorded yet; try again in a moment."), 404)
    if not policy.may_use_call(ctx().bus, current_actor(), call):
        return _err(_("This is not one of your calls."), 403)
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
    return jsonify(
        number=inc.number,
        display=inc.display_number,
        url=url_for("incidents.detail", number=inc.number),
    )


@bp.route("/wallboard")
@roles_required(*STAFF)
def wallboard():  # type: ignore[no-untyped-def]
    c = ctx()
    return jsonify(snapshot(c.cfg, c.bus, c.sessions, c.risk))


@bp.route("/contacts")
@roles_required(*ALL_ROLES)
def contacts():  # type: ignore[no-untyped-def]
    """The contact picker's search: names, organisations and phones only (no contract or
    incidents: the full card needs a call, see /api/caller)."""
    from cti_panel.contact_search import search_contacts

    q = str(request.args.get("q") or "")
    return jsonify(results=search_contacts(db(), q, ctx().cfg.service.default_region))
