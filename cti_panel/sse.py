"""Server-Sent Events over Redis Streams.

The SSE `id:` is the stream entry id, so a browser that reconnects sends it back
as Last-Event-ID and we resume with XREAD after it: nothing published while it
was away is lost, nothing is sent twice. Streams end after `max_seconds` so a
worker thread is never held forever by a tab left open; EventSource reconnects
on its own.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from flask import Response, request

from servicedesk.bus import Bus

_STREAM_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")  # ASCII only: \d takes '٣' too
RETRY_MS = 1000


def resume_id(default: str) -> str:
    """Last-Event-ID header (browser reconnect) or ?last_id= (first connect), validated."""
    for candidate in (request.headers.get("Last-Event-ID"), request.args.get("last_id")):
        if candidate and _STREAM_ID.match(candidate):
            return candidate
    return default


def frame(data: Any, *, event: str | None = None, event_id: str | None = None) -> str:
    out = []
    if event_id:
        out.append(f"id: {event_id}")
    if event:
        out.append(f"event: {event}")
    out.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(out) + "\n\n"


def stream_entries(
    bus: Bus,
    stream: str,
    last_id: str,
    *,
    event: str,
    max_seconds: float,
    block_ms: int,
    transform: Callable[[str, dict[str, str]], Any] = lambda _id, f: f,
) -> Iterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        remaining = int((deadline - time.monotonic()) * 1000)
        try:
            entries = bus.read(stream, last_id, block_ms=max(1, min(block_ms, remaining)))
        except redis.RedisError:
            return  # end the stream; EventSource reconnects with Last-Event-ID and we resume
        if not entries:
            yield ": keepalive\n\n"
            continue
        for eid, fields in entries:
            last_id = eid
            yield frame(transform(eid, fields), event=event, event_id=eid)


def _counted(body: Iterator[str], stream: str) -> Iterator[str]:
    """Counts the open stream in `centralita_sse_clients` while the browser holds it."""
    from cti_panel.views_ops import SSE_CLIENTS

    gauge = SSE_CLIENTS.labels(stream)
    gauge.inc()
    try:
        yield from body
    finally:
        gauge.dec()


def sse_response(body: Iterator[str]) -> Response:
    resp = Response(_counted(body, request.endpoint or "events"), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache, no-store"
    resp.headers["X-Accel-Buffering"] = "no"
    return resp
