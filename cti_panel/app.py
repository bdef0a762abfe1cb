"""The app factory: one place wires security, i18n, the database and Redis."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from cti_panel.context import PanelContext, close_db
from cti_panel.i18n import TRANSLATIONS, compile_catalogues, select_locale
from cti_panel.security import set_security_headers
from servicedesk.bus import Bus, connect
from servicedesk.config import CentralitaConfig
from servicedesk.db import make_engine, make_sessionmaker


def create_app(
    cfg: CentralitaConfig,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    bus: Bus | None = None,
    secret_key: str | None = None,
    secure_cookies: bool | None = None,
    sse_max_seconds: float = 300.0,
    command_timeout_s: float = 3.0,
    testing: bool = False,
) -> Flask:
    app = Flask(__name__)
    key = secret_key or os.environ.get(cfg.panel.secret_key_env)
    if not key:
        if not testing:
            raise RuntimeError(
                f"set ${cfg.panel.secret_key_env} to a long random value (sessions are signed with it)"
            )
        key = secrets.token_hex(32)
    if secure_cookies is None:
        secure_cookies = os.environ.get("CENTRALITA_PANEL_SECURE_COOKIES", "1") != "0"
    app.config.update(
        SECRET_KEY=key,
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="centralita_session",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,  # token bound to the session, which expires on its own
        WTF_CSRF_SSL_STRICT=secure_cookies,
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
        BABEL_DEFAULT_LOCALE="es",
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    app.jinja_env.autoescape = True

    if bus is None:
        url = redis_url if redis_url is not None else cfg.connections.redis.resolved_url()
        bus = Bus(connect(url, embedded_dir=Path(".centralita")), cfg.connections.redis.key_prefix)
    engine = make_engine(database_url or cfg.connections.database.resolved_url())
    app.extensions["centralita"] = PanelContext(
        cfg=cfg,
        sessions=make_sessionmaker(engine),
        bus=bus,
        sse_max_seconds=sse_max_seconds,
        command_timeout_s=command_timeout_s,
    )
    app.teardown_appcontext(close_db)
    app.after_request(set_security_headers)

    CSRFProtect(app)
    compile_catalogues()
    Babel(app, locale_selector=select_locale)

    login = LoginManager(app)
    login.login_view = "auth.login"
    login.session_protection = "strong"

    @login.user_loader
    def _load(user_id: str):  # type: ignore[no-untyped-def]
        from cti_panel.context import db
        from cti_panel.users import LoginUser
        from servicedesk.models import PanelUser

        user = db().get(PanelUser, int(user_id)) if user_id.isdigit() else None
        return LoginUser.from_model(user) if user is not None and user.active else None

    from cti_panel import views_agent, views_api, views_auth, views_incidents, views_supervisor
    from cti_panel.filters import register_filters

    register_filters(app)
    app.register_blueprint(views_auth.bp)
    app.register_blueprint(views_agent.bp)
    app.register_blueprint(views_supervisor.bp)
    app.register_blueprint(views_incidents.bp)
    app.register_blueprint(views_api.bp)
    from cti_panel import views_calling

    app.register_blueprint(views_calling.bp)
    return app
