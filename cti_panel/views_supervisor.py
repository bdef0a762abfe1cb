"""The supervisor wallboard: a page plus an SSE feed of the process's shared snapshot.

Each board gets every part on connecting (so a reconnect rebuilds it from
scratch), then only the parts that changed, then a `tick` with the server's
clock and the feed's health at least every `HEARTBEAT_S` (the board marks
itself stale when ticks stop and reconnects).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from flask import Blueprint, current_app, render_template, url_for

from cti_panel.context import ctx
from cti_panel.security import STAFF, roles_required
from cti_panel.sse import RETRY_MS, frame, sse_response
from cti_panel.wallboard import snapshot
from cti_panel.wallboard_chart import IntervalChart
from cti_panel.wallboard_feed import WallboardFeed
from cti_panel.wallboard_text import page_config

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor")
HEARTBEAT_S = 2.0
STALE_AFTER_S = 3.0  # a snapshot older than this is reported as not healthy
_FEED_KEY = "centralita.wallboard_feed"
_feed_lock = threading.Lock()


def feed() -> WallboardFeed:
    """The app's one feed, created with the first board."""
    ext = current_app.extensions
    with _feed_lock:
        found = ext.get(_FEED_KEY)
        if found is None:
            c = ctx()
            chart = IntervalChart()

            def build() -> dict[str, object]:
                return snapshot(c.cfg, c.bus, c.sessions, c.risk, chart, live_times=False)

            found = ext[_FEED_KEY] = WallboardFeed(build, c.bus)
        return found


@bp.route("/")
@roles_required(*STAFF)
def wallboard():  # type: ignore[no-untyped-def]
    return render_template(
        "wallboard.html",
        wb_config=page_config(ctx().cfg, url_for("supervisor.stream")),
        supervise_config=ctx().cfg,
    )


@bp.route("/stream")
@roles_required(*STAFF)
def stream():  # type: ignore[no-untyped-def]
    f = feed()
    max_seconds = ctx().sse_max_seconds

    def body() -> Iterator[str]:
        f.subscribe()
        try:
            yield f"retry: {RETRY_MS}\n\n"
            seen: dict[str, int] = {}
            deadline = time.monotonic() + max_seconds
            while time.monotonic() < deadline:
                parts, built, healthy = f.wait(
                    seen, min(HEARTBEAT_S, max(0.0, deadline - time.monotonic()))
                )
                now = time.time()
                out = [f"event: {p}\ndata: {text}\n\n" for p, text in parts]
                out.append(
                    frame(
                        {
                            "now": now,
                            "built": built,
                            "healthy": healthy and now - built < STALE_AFTER_S,
                        },
                        event="tick",
                    )
                )
                yield "".join(out)
        finally:
            f.unsubscribe()

    return sse_response(body())
