"""The app factory: one place wires security, i18n, the database and Redis."""

from __future__ import annotations

import os
import secrets

from flask import Flask
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from cti_panel.context import PanelContext, close_db
from cti_panel.i18n import compile_catalogues, select_locale
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
    config_path: str = "centralita.toml",
) -> Flask:
    app = Flask(__name__)
    from cti_panel.params import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter  # 30-digit paths are 404, not 500
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
        BABEL_TRANSLATION_DIRECTORIES=str(compile_catalogues()),
        BABEL_DEFAULT_TIMEZONE=cfg.service.timezone,
        BABEL_DEFAULT_LOCALE="es",
        MAX_CONTENT_LENGTH=256 * 1024,
    )
    app.jinja_env.autoescape = True
    proxies = os.environ.get("CENTRALITA_PANEL_PROXIES", "0").strip()
    if proxies not in ("", "0"):  # behind N reverse proxies: trust their X-Forwarded-For
        from werkzeug.middleware.proxy_fix import ProxyFix

        if not (proxies.isascii() and proxies.isdecimal() and int(proxies) <= 5):
            raise RuntimeError("CENTRALITA_PANEL_PROXIES must be a number from 0 to 5")
        n = int(proxies)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]

    if bus is None:
        url = redis_url if redis_url is not None else cfg.connections.redis.resolved_url()
        bus = Bus(connect(url), cfg.connections.redis.key_prefix)
    engine = make_engine(database_url or cfg.connections.database.resolved_url(), role="panel")
    app.extensions["centralita"] = PanelContext(
        cfg=cfg,
        sessions=make_sessionmaker(engine),
        bus=bus,
        sse_max_seconds=sse_max_seconds,
        command_timeout_s=command_timeout_s,
        config_path=config_path,
    )
    app.teardown_appcontext(close_db)
    app.after_request(set_security_headers)

    CSRFProtect(app)
    Babel(app, locale_selector=select_locale)

    login = LoginManager(app)
    login.login_view = "auth.login"
    login.session_protection = "strong"

    @login.user_loader
    def _load(user_id: str):  # type: ignore[no-untyped-def]
        from cti_panel.users import load_session_user

        return load_session_user(user_id)

    from cti_panel import (
        views_admin,
        views_agent,
        views_api,
        views_auth,
        views_incidents,
        views_supervisor,
    )
    from cti_panel.filters import register_filters

    register_filters(app)
    from cti_panel.errors import register_error_pages

    register_error_pages(app)
    app.register_blueprint(views_auth.bp)
    app.register_blueprint(views_agent.bp)
    app.register_blueprint(views_supervisor.bp)
    app.register_blueprint(views_incidents.bp)
    app.register_blueprint(views_api.bp)
    from cti_panel import views_ops

    app.register_blueprint(views_ops.bp)
    from cti_panel import views_reports

    app.register_blueprint(views_reports.bp)
    app.register_blueprint(views_admin.bp)
    from cti_panel import views_calling

    app.register_blueprint(views_calling.bp)
    return app
