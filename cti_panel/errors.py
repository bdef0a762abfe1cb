"""Friendly error pages (and JSON for the API) in the user's language.

Every HTTP error the panel can answer gets a page that says what happened and
what to do next; a Redis outage is a 503 for the live views only (login and the
incident pages still work), and an unexpected error is logged with its
traceback and shown as a plain apology, never as a traceback.
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

log = logging.getLogger("centralita.panel")


def _texts(code: int) -> tuple[str, str]:
    return {
        400: (
            _("This request could not be read"),
            _("A value in it is not valid. Go back and check what you typed."),
        ),
        401: (_("Please log in"), _("Log in to see this page.")),
        403: (
            _("Not for your role"),
            _(
                "Your account may not open this page. Ask a supervisor or an administrator if you need it."
            ),
        ),
        404: (
            _("Page not found"),
            _("Nothing is at this address. It may have been moved, or the number is wrong."),
        ),
        405: (_("Not allowed here"), _("This page cannot be used this way.")),
        413: (_("Too much data"), _("What was sent is too large.")),
        429: (_("Too many attempts"), _("Wait a moment and try again.")),
        500: (
            _("Something went wrong"),
            _("The panel hit an unexpected error; it has been logged. Try again in a moment."),
        ),
        503: (
            _("Live data is unavailable"),
            _(
                "The live service (Redis) cannot be reached. Incidents and search still work; live views come back on their own."
            ),
        ),
    }.get(code, (_("Error"), _("The request could not be completed.")))


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "text/event-stream"


def render_error(code: int, detail: str = ""):  # type: ignore[no-untyped-def]
    title, message = _texts(code)
    if _wants_json():
        return jsonify(error=detail or message, title=title), code
    return render_template(
        "errors.html", code=code, title=title, message=message, detail=detail
    ), code


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        code = exc.code or 500
        if code == 400 and getattr(exc, "param", None):
            return render_error(400, _("“%(name)s” must be a whole number.", name=exc.param))  # type: ignore[attr-defined]
        if code == 400 and exc.description and "CSRF" in str(exc.description):
            return render_error(400, _("The form expired. Reload the page and try again."))
        return render_error(code)

    def _redis(exc: redis.RedisError):  # type: ignore[no-untyped-def]
        log.warning("Redis unavailable for %s: %s", request.path, exc)
        return render_error(ServiceUnavailable.code)

    # unreachable or slow Redis is an outage (503); any other Redis error is a bug (500)
    app.register_error_handler(redis.ConnectionError, _redis)
    app.register_error_handler(redis.TimeoutError, _redis)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        if isinstance(exc, HTTPException):
            return _http(exc)
        log.exception("unexpected error on %s %s", request.method, request.path)
        return render_error(InternalServerError.code)
