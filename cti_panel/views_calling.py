"""Click-to-call and verification of closure by phone, from the panel.

POST /api/calling/dial: an agent clicks a number (an incident's reporter, a contact,
a callback). The number is checked here (dial rules, per-agent rate limit) so a
refusal is shown at once, in the agent's language; the request is then stored
(`outbound_call`, status `requested`) and handed to the dialer over Redis. The
dialer checks again before it originates. GET /api/calling/calls/<id> reports the
progress; POST /api/calling/calls/<id>/verdict records the reporter's verdict
(accept closes, reject reopens) once the customer has answered.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from cti_panel.context import ctx, db
from cti_panel.security import STAFF, roles_required
from cti_panel.views_agent import AGENT_ROLES
from servicedesk import outbound, supervision
from servicedesk.calling_models import OutboundCall
from servicedesk.dialrules import DialRefused, take_rate_slot
from servicedesk.incidents import IncidentError
from servicedesk.models import Incident

bp = Blueprint("calling", __name__, url_prefix="/api/calling")

PURPOSES = ("click_to_call", "verification")
REFUSALS = {
    "invalid": _l("That is not a phone number we can dial."),
    "not_allowed": _l("Numbers of this kind may not be dialled from the desk."),
    "rate_limited": _l("Too many calls in a short time; wait a moment and try again."),
}
STATUS = {
    "requested": _l("calling your phone…"),
    "agent_ringing": _l("calling your phone…"),
    "agent_unreachable": _l("your phone did not answer"),
    "dialling": _l("calling the customer…"),
    "answered": _l("in conversation"),
    "no_answer": _l("the customer did not answer"),
    "busy": _l("the customer's line is busy"),
    "failed": _l("the call could not be placed"),
    "ended": _l("call ended"),
}


def _err(message: Any, status: int = 400, code: str = ""):  # type: ignore[no-untyped-def]
    return jsonify(error=str(message), code=code), status


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else dict(request.form)


def _digits(value: Any, limit: int = 9) -> int | None:
    text = str(value or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > limit:
        raise ValueError(text[:20])
    return int(text)


def _view(row: OutboundCall) -> dict[str, Any]:
    return {
        "request_id": row.request_id,
        "status": row.status,
        "status_text": str(STATUS.get(row.status, row.status)),
        "number": row.number,
        "purpose": row.purpose,
        "verdict": row.verdict,
        "can_record_verdict": row.purpose == "verification"
        and row.status in outbound.TALKED_STATUSES
        and row.verdict is None,
    }


@bp.route("/dial", methods=["POST"])
@roles_required(*AGENT_ROLES)
def dial():  # type: ignore[no-untyped-def]
    c = ctx()
    login = current_user.agent_login
    if not login:
        return _err(_("This account has no agent phone."), 403, "no_agent")
    body = _body()
    purpose = str(body.get("purpose") or "click_to_call")
    if purpose not in PURPOSES:
        return _err(_("Unknown kind of call."), 400, "purpose")
    try:
        incident_number = _digits(body.get("incident"))
        contact_id = _digits(body.get("contact_id"))
    except ValueError:
        return _err(_("Not a number."), 400, "invalid")
    incident = None
    if incident_number is not None:
        incident = db().scalar(select(Incident).where(Incident.number == incident_number))
        if incident is None:
            return _err(_("No such incident."), 404, "incident")
    try:
        row = outbound.request_call(
            db(),
            c.cfg,
            purpose=purpose,
            agent_login=login,
            requested_by=current_user.username,
            raw_number=str(body.get("number") or "")[:40],
            incident=incident,
            contact_id=contact_id,
        )
        take_rate_slot(c.bus.r, c.bus.keys.prefix, login, c.cfg.calling)
    except DialRefused as exc:
        db().rollback()
        return _err(
            REFUSALS.get(exc.code, exc.code), 400 if exc.code != "rate_limited" else 429, exc.code
        )
    except outbound.OutboundError:
        db().rollback()
        return _err(_("Only a resolved incident's closure can be verified."), 409, "not_resolved")
    db().commit()
    c.bus.publish(outbound.requests_stream(c.bus.keys.prefix), {"request_id": row.request_id})
    return jsonify(_view(row)), 202


def _own(request_id: str) -> OutboundCall | None:
    if not (request_id.isascii() and request_id.isalnum() and len(request_id) <= 32):
        return None
    row = db().scalar(select(OutboundCall).where(OutboundCall.request_id == request_id))
    if row is None:
        return None
    if current_user.role in STAFF or row.agent_login == current_user.agent_login:
        return row
    return None


@bp.route("/calls/<request_id>")
@roles_required(*AGENT_ROLES, *STAFF)
def call_status(request_id: str):  # type: ignore[no-untyped-def]
    row = _own(request_id)
    if row is None:
        return _err(_("No such call."), 404, "call")
    return jsonify(_view(row))


@bp.route("/calls/<request_id>/verdict", methods=["POST"])
@roles_required(*AGENT_ROLES)
def verdict(request_id: str):  # type: ignore[no-untyped-def]
    row = _own(request_id)
    if row is None or row.agent_login != current_user.agent_login:
        return _err(_("No such call."), 404, "call")
    body = _body()
    accepted = str(body.get("accepted", "")).lower()
    if accepted not in ("1", "0", "true", "false"):
        return _err(_("Say whether the caller accepts."), 400, "accepted")
    note = str(body.get("note") or "").strip()[:2000]
    try:
        inc = outbound.record_verdict(
            db(),
            row,
            accepted=accepted in ("1", "true"),
            actor=current_user.agent_login,
            note=note,
        )
    except (outbound.OutboundError, IncidentError) as exc:
        db().rollback()
        return _err(str(exc), 409, "verdict")
    db().commit()
    return jsonify(_view(row) | {"incident_status": inc.status})


SPY_MODES = ("listen", "whisper", "barge")


@bp.route("/supervise", methods=["POST"])
@roles_required(*STAFF)
def supervise():  # type: ignore[no-untyped-def]
    """Listen to, whisper to or barge in on an agent's call from the supervisor's phone."""
    c = ctx()
    endpoint = c.cfg.calling.supervisor_phones.get(current_user.username)
    if endpoint is None:
        return _err(_("Your account has no supervisor phone."), 409, "no_phone")
    body = _body()
    mode = str(body.get("mode") or "")
    agent = str(body.get("agent") or "")[:32]
    if mode not in SPY_MODES:
        return _err(_("Choose listen, whisper or barge."), 400, "mode")
    if agent not in {a.login for a in c.cfg.agents}:
        return _err(_("No such agent."), 404, "agent")
    rid = uuid.uuid4().hex
    supervision.record(
        db(),
        kind="requested",
        mode=mode,
        actor=current_user.username,
        source="panel",
        at=datetime.now(UTC),
        agent_login=agent,
        request_id=rid,
    )
    db().commit()
    c.bus.publish(
        outbound.requests_stream(c.bus.keys.prefix),
        {
            "kind": "spy",
            "request_id": rid,
            "endpoint": endpoint,
            "agent": agent,
            "mode": mode,
            "actor": current_user.username,
        },
    )
    return jsonify(request_id=rid, status=str(_("calling your phone…"))), 202


@bp.route("/transfer", methods=["POST"])
@roles_required(*AGENT_ROLES)
def transfer():  # type: ignore[no-untyped-def]
    """Blind transfer of the agent's current queue caller to another queue (second level)."""
    c = ctx()
    login = current_user.agent_login
    if not login:
        return _err(_("This account has no agent phone."), 403, "no_agent")
    body = _body()
    queue = str(body.get("queue") or "")[:80]
    if queue not in c.cfg.queue_definitions():
        return _err(_("No such queue."), 404, "queue")
    # optional: the queue of another PBX of the desk (the caller crosses the inter-PBX trunk)
    pbx = str(body.get("pbx") or "")[:40]
    if pbx and pbx not in c.cfg.connections.pbx_ids():
        return _err(_("No such queue."), 404, "pbx")
    rid = uuid.uuid4().hex
    request = {"kind": "transfer", "request_id": rid, "agent": login, "queue": queue}
    if pbx:
        request["pbx"] = pbx
    c.bus.publish(outbound.requests_stream(c.bus.keys.prefix), request)
    return jsonify(request_id=rid), 202


ATXFER_STEPS = ("start", "complete", "cancel")


@bp.route("/atxfer", methods=["POST"])
@roles_required(*AGENT_ROLES)
def attended_transfer():  # type: ignore[no-untyped-def]
    """Attended transfer of the agent's current queue caller, one step per request: `start`
    a consultation with another queue (the caller waits on hold), then `complete` (the
    consulted agent takes the caller) or `cancel` (back to the caller). The dialer acts on
    the agent's current queue call only."""
    c = ctx()
    login = current_user.agent_login
    if not login:
        return _err(_("This account has no agent phone."), 403, "no_agent")
    body = _body()
    step = str(body.get("step") or "")[:16]
    if step not in ATXFER_STEPS:
        return _err(_("Unknown transfer step."), 400, "step")
    fields = {"kind": "atxfer", "request_id": uuid.uuid4().hex, "agent": login, "step": step}
    if step == "start":
        queue = str(body.get("queue") or "")[:80]
        if queue not in c.cfg.queue_definitions():
            return _err(_("No such queue."), 404, "queue")
        fields["queue"] = queue
    c.bus.publish(outbound.requests_stream(c.bus.keys.prefix), fields)
    return jsonify(request_id=fields["request_id"]), 202
