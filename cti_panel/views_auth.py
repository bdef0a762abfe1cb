"""Login, logout, language choice and the health probe."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from cti_panel.context import ctx, db
from cti_panel.i18n import LANGUAGES
from cti_panel.security import (
    ALL_ROLES,
    public,
    roles_required,
    verify_password,
)
from cti_panel.users import LoginUser
from servicedesk.models import PanelUser

bp = Blueprint("auth", __name__)
DEVICE_COOKIE = "centralita_device"
DEVICE_MAX_AGE_S = 365 * 24 * 3600


def _device_serializer():  # type: ignore[no-untyped-def]
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(current_app.secret_key, salt="centralita-known-device")


def _known_device(username: str) -> bool:
    """Whether this browser logged into `username` before (a signed cookie says so)."""
    from itsdangerous import BadSignature

    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return False
    try:
        names = _device_serializer().loads(raw, max_age=DEVICE_MAX_AGE_S)
    except BadSignature:
        return False
    return isinstance(names, list) and username.lower() in names


def _remember_device(resp, username: str):  # type: ignore[no-untyped-def]
    from itsdangerous import BadSignature

    names: list[str] = []
    raw = request.cookies.get(DEVICE_COOKIE)
    if raw:
        try:
            loaded = _device_serializer().loads(raw, max_age=DEVICE_MAX_AGE_S)
            names = [n for n in loaded if isinstance(n, str)] if isinstance(loaded, list) else []
        except BadSignature:
            names = []
    names = ([username.lower()] + [n for n in names if n != username.lower()])[:5]
    resp.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps(names),
        max_age=DEVICE_MAX_AGE_S,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return resp


def _throttle():  # type: ignore[no-untyped-def]
    from cti_panel.throttle import Limits, LoginThrottle

    c = ctx()
    limits = c.login_limits or Limits(account_free=c.cfg.panel.login_attempts_per_minute)
    return LoginThrottle(c.bus.r, c.bus.keys.prefix, limits)


def _home_for(role: str) -> str:
    if role == "admin":
        return url_for("admin.index")
    return url_for("supervisor.wallboard") if role == "supervisor" else url_for("agent.console")


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
    retry_after = 0
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:64]
        password = request.form.get("password") or ""
        ip = request.remote_addr or "?"
        throttle = _throttle()
        verdict = throttle.check(username, ip, known_device=_known_device(username))
        if not verdict.allowed:
            retry_after = verdict.retry_after_s
            flash(
                _(
                    "Too many failed attempts. Try again in %(seconds)s seconds.",
                    seconds=retry_after,
                ),
                "error",
            )
            status = 429
        else:
            user = db().scalar(select(PanelUser).where(PanelUser.username == username))
            if user and user.active and verify_password(user.password_hash, password):
                throttle.succeeded(username, ip)
                session.clear()
                login_user(LoginUser.from_model(user))
                resp = make_response(
                    redirect(_safe_next(request.args.get("next")) or _home_for(user.role))
                )
                return _remember_device(resp, username)
            throttle.failed(username, ip)
            flash(_("Wrong user name or password."), "error")
            status = 401
    resp = make_response(render_template("login.html"), status)
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


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
