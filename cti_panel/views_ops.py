"""Operations endpoints of the panel: `/healthz` (ready), `/healthz/live`, `/metrics`.

Readiness means "can serve people now": the database answers. Redis is reported but does
not make the panel unready, because login and incident work go on without it; only the live
views degrade (they answer 503 themselves).
"""

from __future__ import annotations

import os

from flask import Blueprint, Response
from prometheus_client import Gauge
from sqlalchemy import text

from centralita.metrics import render_latest
from cti_panel.context import ctx, db
from cti_panel.security import public

bp = Blueprint("ops", __name__)

SSE_CLIENTS = Gauge(
    "centralita_sse_clients",
    "browsers with an open event stream on this panel",
    ["stream"],
    multiprocess_mode="livesum",
)


def _database_ok() -> tuple[bool, str]:
    try:
        db().execute(text("SELECT 1"))
        return True, "ok"
    except Exception as exc:  # any failure is the answer: not ready, and why
        return False, type(exc).__name__


def _redis_ok() -> tuple[bool, str]:
    try:
        ctx().bus.r.ping()
        return True, "ok"
    except Exception as exc:
        return False, type(exc).__name__


@bp.route("/healthz")
@bp.route("/healthz/ready")
@public
def health():  # type: ignore[no-untyped-def]
    db_ok, db_state = _database_ok()
    _, redis_state = _redis_ok()
    body = {
        "process": "panel",
        "worker": os.getpid(),  # which worker answered, for an operator behind a proxy
        "ready": db_ok,
        "database": db_state,
        "redis": redis_state,
    }
    return body, (200 if db_ok else 503)


@bp.route("/healthz/live")
@public
def live():  # type: ignore[no-untyped-def]
    return {"process": "panel", "live": True}


@bp.route("/metrics")
@public
def metrics():  # type: ignore[no-untyped-def]
    payload, content_type = render_latest()
    return Response(payload, content_type=content_type, headers={"Cache-Control": "no-store"})
