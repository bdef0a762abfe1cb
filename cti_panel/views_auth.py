"""Login, logout, language choice and the health probe."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from cti_panel.context import db
from cti_panel.i18n import LANGUAGES
from cti_panel.security import (
    ALL_ROLES,
    login_rate_exceeded,
    public,
    roles_required,
    verify_password,
)
from cti_panel.users import LoginUser
from servicedesk.models import PanelUser

bp = Blueprint("auth", __name__)


def _home_for(role: str) -> str:
    return (
        url_for("supervisor.wallboard")
        if role in ("supervisor", "admin")
        else url_for("agent.console")
    )


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: an open redirect would turn the login into a phishing aid."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():  # type: ignore[no-untyped-def]
    lang = request.args.get("lang")
    if lang in LANGUAGES:
        session["lang"] = lang
    if current_user.is_authenticated:
        return redirect(_home_for(current_user.role))
    status = 200
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:64]
        password = request.form.get("password") or ""
        ip = request.remote_addr or "?"
        if login_rate_exceeded(username, ip):
            flash(_("Too many login attempts. Wait a minute and try again."), "error")
            status = 429
        else:
            user = db().scalar(select(PanelUser).where(PanelUser.username == username))
            if user and user.active and verify_password(user.password_hash, password):
                session.clear()
                login_user(LoginUser.from_model(user))
                return redirect(_safe_next(request.args.get("next")) or _home_for(user.role))
            flash(_("Wrong user name or password."), "error")
            status = 401
    return render_template("login.html"), status


@bp.route("/logout", methods=["POST"])
@roles_required(*ALL_ROLES)
def logout():  # type: ignore[no-untyped-def]
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@roles_required(*ALL_ROLES)
def language():  # type: ignore[no-untyped-def]
    lang = request.form.get("language")
    if lang in LANGUAGES:
        user = db().get(PanelUser, current_user.id)
        if user is not None:
            user.language = lang
            db().commit()
    return redirect(_safe_next(request.form.get("next")) or _home_for(current_user.role))


@bp.route("/")
@roles_required(*ALL_ROLES)
def index():  # type: ignore[no-untyped-def]
    return redirect(_home_for(current_user.role))
