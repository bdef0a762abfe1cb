"""The supervisor wallboard: a page plus an SSE feed woken by the listener's change notices."""

from __future__ import annotations

import time
from collections.abc import Iterator

import redis
from flask import Blueprint, render_template

from cti_panel.context import ctx
from cti_panel.security import STAFF, roles_required
from cti_panel.sse import RETRY_MS, frame, sse_response
from cti_panel.wallboard import snapshot

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
MIN_INTERVAL_S = 0.25  # coalesce bursts of notices; still well under the 1 s freshness goal
TICK_MS = 1000  # wait times grow even when nothing happens


@bp.route("/")
@roles_required(*STAFF)
def wallboard():  # type: ignore[no-untyped-def]
    return render_template("wallboard.html", supervise_config=ctx().cfg)


@bp.route("/stream")
@roles_required(*STAFF)
def stream():  # type: ignore[no-untyped-def]
    c = ctx()

    def body() -> Iterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        key = c.bus.keys.wallboard
        last = c.bus.r.xrevrange(key, count=1)
        last_id = str(last[0][0]) if last else "0-0"
        deadline = time.monotonic() + c.sse_max_seconds
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                yield frame(snapshot(c.cfg, c.bus, c.sessions, c.risk), event="wallboard")
                entries = c.bus.read(key, last_id, block_ms=TICK_MS, count=1000)
            except redis.RedisError:
                return  # the browser reconnects and gets a fresh snapshot
            if entries:
                last_id = entries[-1][0]
                pause = MIN_INTERVAL_S - (time.monotonic() - started)
                if pause > 0:
                    time.sleep(pause)

    return sse_response(body())
