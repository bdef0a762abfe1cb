"""Administration: panel accounts (list, create, edit, disable, delete, reset password),
their audit trail, and read-only views of what centralita.toml configures.

Every change writes one PanelAudit row in the same transaction as the change,
so the trail cannot miss one. Passwords are argon2-hashed (cti_panel.security);
a reset shows a generated password once, on the response page, never in a
cookie or a log.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from cti_panel.context import ctx, db
from cti_panel.security import hash_password, roles_required
from cti_panel.users import ROLES
from servicedesk.models import PanelAudit, PanelUser

bp = Blueprint("admin", __name__, url_prefix="/admin")
USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
MIN_PASSWORD = 12
AUDIT_PAGE = 100


class AdminError(ValueError):
    pass


def _audit(action: str, target: str, **data: Any) -> None:
    db().add(PanelAudit(actor=current_user.username, action=action, target=target, data=data))


def _user_or_404(user_id: int) -> PanelUser:
    user = db().get(PanelUser, user_id)
    if user is None:
        abort(404)
    return user


def _clean_fields(form: Any, user: PanelUser | None) -> dict[str, Any]:
    role = str(form.get("role") or "")
    if role not in ROLES:
        raise AdminError(_("Choose a role from the list."))
    agent = str(form.get("agent_login") or "") or None
    known = {a.login for a in ctx().cfg.agents}
    if agent is not None and agent not in known:
        raise AdminError(_("Choose an agent from the list."))
    if role == "agent" and agent is None:
        raise AdminError(_("An agent account needs the agent (extension) it takes calls as."))
    if agent is not None:
        other = db().scalar(
            select(PanelUser).where(PanelUser.agent_login == agent, PanelUser.active.is_(True))
        )
        if other is not None and (user is None or other.id != user.id):
            raise AdminError(
                _(
                    "Agent %(agent)s is already linked to the account %(user)s.",
                    agent=agent,
                    user=other.username,
                )
            )
    language = str(form.get("language") or "es")
    if language not in ("es", "en"):
        raise AdminError(_("Choose a language from the list."))
    return {"role": role, "agent_login": agent, "language": language}


def _admins_left(excluding: PanelUser) -> int:
    return int(
        db().scalar(
            select(func.count()).where(
                PanelUser.role == "admin", PanelUser.active.is_(True), PanelUser.id != excluding.id
            )
        )
        or 0
    )


@bp.route("/")
@roles_required("admin")
def index():  # type: ignore[no-untyped-def]
    users = db().scalars(select(PanelUser).order_by(PanelUser.username)).all()
    return render_template("admin_users.html", users=users, roles=ROLES, agents=ctx().cfg.agents)


@bp.route("/users", methods=["POST"])
@roles_required("admin")
def create():  # type: ignore[no-untyped-def]
    form = request.form
    username = str(form.get("username") or "").strip().lower()
    password = str(form.get("password") or "")
    try:
        if not username or len(username) > 64 or not set(username) <= USERNAME_CHARS:
            raise AdminError(
                _("A user name is 1–64 lower-case letters, digits, dots, dashes or underscores.")
            )
        if db().scalar(select(PanelUser).where(PanelUser.username == username)) is not None:
            raise AdminError(_("The user name %(name)s is taken.", name=username))
        if len(password) < MIN_PASSWORD:
            raise AdminError(_("Use a password of at least %(n)s characters.", n=MIN_PASSWORD))
        fields = _clean_fields(form, None)
    except AdminError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.index"))
    user = PanelUser(
        username=username, password_hash=hash_password(password), active=True, **fields
    )
    db().add(user)
    _audit("create", username, **fields)
    db().commit()
    flash(_("Account %(name)s created.", name=username), "ok")
    return redirect(url_for("admin.index"))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit(user_id: int):  # type: ignore[no-untyped-def]
    user = _user_or_404(user_id)
    if request.method == "POST":
        try:
            fields = _clean_fields(request.form, user)
            if user.role == "admin" and fields["role"] != "admin" and not _admins_left(user):
                raise AdminError(_("Keep at least one active administrator."))
        except AdminError as exc:
            flash(str(exc), "error")
            return redirect(url_for("admin.edit", user_id=user.id))
        changes = {k: [getattr(user, k), v] for k, v in fields.items() if getattr(user, k) != v}
        for k, v in fields.items():
            setattr(user, k, v)
        if changes:
            _audit("edit", user.username, changes=changes)
        db().commit()
        flash(_("Saved."), "ok")
        return redirect(url_for("admin.edit", user_id=user.id))
    return render_template(
        "admin_user.html", user=user, roles=ROLES, agents=ctx().cfg.agents, new_password=None
    )


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required("admin")
def set_active(user_id: int):  # type: ignore[no-untyped-def]
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    if not active and user.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
    elif not active and user.role == "admin" and not _admins_left(user):
        flash(_("Keep at least one active administrator."), "error")
    else:
        user.active = active
        _audit("enable" if active else "disable", user.username)
        db().commit()
        flash(
            _("Account enabled.") if active else _("Account disabled: it can no longer log in."),
            "ok",
        )
    return redirect(url_for("admin.edit", user_id=user.id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@roles_required("admin")
def reset_password(user_id: int):  # type: ignore[no-untyped-def]
    user = _user_or_404(user_id)
    password = secrets.token_urlsafe(12)
    user.password_hash = hash_password(password)
    _audit("reset_password", user.username)
    db().commit()
    return render_template(
        "admin_user.html", user=user, roles=ROLES, agents=ctx().cfg.agents, new_password=password
    )


@bp.route("/users/<int:user_id>/delete", methods=["POST"])
@roles_required("admin")
def delete(user_id: int):  # type: ignore[no-untyped-def]
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        flash(_("You cannot delete your own account."), "error")
        return redirect(url_for("admin.edit", user_id=user.id))
    if user.role == "admin" and not _admins_left(user):
        flash(_("Keep at least one active administrator."), "error")
        return redirect(url_for("admin.edit", user_id=user.id))
    _audit("delete", user.username, role=user.role, agent_login=user.agent_login)
    db().delete(user)
    db().commit()
    flash(_("Account %(name)s deleted.", name=user.username), "ok")
    return redirect(url_for("admin.index"))


@bp.route("/audit")
@roles_required("admin")
def audit():  # type: ignore[no-untyped-def]
    rows = (
        db()
        .scalars(
            select(PanelAudit)
            .order_by(PanelAudit.at.desc(), PanelAudit.id.desc())
            .limit(AUDIT_PAGE)
        )
        .all()
    )
    return render_template("admin_audit.html", rows=rows)


@bp.route("/config")
@roles_required("admin")
def config():  # type: ignore[no-untyped-def]
    c = ctx()
    return render_template(
        "admin_config.html",
        cfg=c.cfg,
        config_path=c.config_path,
        queues=c.cfg.queue_definitions(),
    )
