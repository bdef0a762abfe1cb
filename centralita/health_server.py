"""`/metrics` and `/healthz` for the IVR and listener processes, on a local port.

A small threaded HTTP server beside the process's event loop: scraping never waits on the
loop, and a loop that is stuck shows up as "not ready" (the readiness probe is answered from
a snapshot the loop refreshes) rather than as a scrape that hangs.

- `/healthz/live`: 200 while the process serves at all (systemd or an orchestrator restarts
  it otherwise).
- `/healthz` and `/healthz/ready`: 200 when the process does its job now (its links are up),
  503 with the reasons otherwise. The body is JSON either way.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from centralita.metrics import render_latest

log = logging.getLogger(__name__)

# (ready, details) — details are shown to the operator as they are.
ReadinessProbe = Callable[[], tuple[bool, dict[str, object]]]


class HealthServer:
    """Serves metrics and health for one process until `stop()`."""

    def __init__(self, host: str, port: int, process: str, probe: ReadinessProbe) -> None:
        self.process = process
        self._probe = probe
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body, ctype = render_latest()
                    self._send(200, body, ctype)
                elif path == "/healthz/live":
                    self._json(200, {"process": outer.process, "live": True})
                elif path in ("/healthz", "/healthz/ready"):
                    try:
                        ready, details = outer._probe()
                    except Exception as exc:  # a probe that raises means "not ready", said why
                        ready, details = False, {"probe_error": repr(exc)}
                    self._json(
                        200 if ready else 503,
                        {"process": outer.process, "ready": ready, **details},
                    )
                else:
                    self._json(404, {"error": "not found"})

            def _json(self, status: int, payload: dict[str, object]) -> None:
                self._send(status, json.dumps(payload).encode(), "application/json")

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return  # scrapes every few seconds would drown the process's own log

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"{process}-health", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> HealthServer:
        self._thread.start()
        log.info(
            "%s metrics and health on http://%s:%d/metrics",
            self.process,
            self._server.server_address[0],
            self.port,
        )
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def start_health_server(
    host: str, port: int, process: str, probe: ReadinessProbe
) -> HealthServer | None:
    """Start unless `port` is 0. A port already taken is logged as an error and the process
    goes on without its endpoint: metrics are a view, and losing them must never stop the
    calls or the records."""
    if port == 0:
        return None
    try:
        return HealthServer(host, port, process, probe).start()
    except OSError as exc:
        log.error(
            "%s: cannot serve metrics on %s:%d (%s); running without /metrics and /healthz. "
            "Set connections.metrics (or the PBX's metrics_port) to a free port, or 0 for off",
            process,
            host,
            port,
            exc.strerror,
        )
        return None
