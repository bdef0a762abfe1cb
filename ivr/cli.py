"""`centralita ivr --config FILE`: the FastAGI server, until SIGINT/SIGTERM (graceful).

Exit codes: 0 after a clean stop; 2 for a start-up problem (one line on stderr:
missing or unwritable database, bad Redis URL); 1 when the database file was
deleted or turned read-only under the running server (checked every second),
so a supervisor restarts it against the real file instead of a ghost.
"""

from __future__ import annotations

import argparse
import os
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("ivr", help="run the FastAGI IVR server")
    p.add_argument("--config", required=True, help="centralita.toml")
    p.add_argument("--host", default=None, help="override connections.fastagi.host")
    p.add_argument("--port", type=int, default=None, help="override connections.fastagi.port")
    p.add_argument(
        "--grace", type=float, default=10.0, help="seconds running calls get to finish on stop"
    )
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="json: one object per line (default: $CENTRALITA_LOG_FORMAT or text)",
    )
    p.set_defaults(func=run)


def build_services(cfg: Any) -> Any:
    """Database and Redis from the config; Redis is optional (no overflow/estimates without)."""
    import logging

    from ivr.services import StoreServices
    from servicedesk.bus import connect
    from servicedesk.db import make_engine, make_sessionmaker

    engine = make_engine(cfg.connections.database.resolved_url(), role="ivr")
    sessions = make_sessionmaker(engine)
    try:
        client = connect(
            cfg.connections.redis.resolved_url(),
            embedded_dir=os.environ.get("CENTRALITA_STATE_DIR"),
        )
    except Exception as exc:
        logging.getLogger("centralita.ivr").warning("Redis unavailable (%s): no live state", exc)
        client = None
    return StoreServices(cfg, sessions, client)


def _serve_metrics(cfg: Any, server: Any) -> Any:
    """Prometheus `/metrics` and `/healthz` beside the FastAGI port (port 0: off)."""
    from prometheus_client import REGISTRY

    from centralita.health_server import start_health_server
    from ivr.metrics import IvrCollector, command_samples, readiness

    server.command_latencies = command_samples()  # the sessions record each reply time
    REGISTRY.register(IvrCollector(server))
    m = cfg.connections.metrics
    return start_health_server(m.host, m.ivr_port, "ivr", lambda: readiness(server))


DB_WATCH_INTERVAL_S = 1.0


def run(args: argparse.Namespace) -> int:
    import asyncio
    import faulthandler
    import logging
    import signal
    import sys

    from servicedesk import preflight
    from servicedesk.config import ConfigError, load_config

    faulthandler.enable()  # a SIGBUS from a vanished WAL file leaves a traceback, not silence
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"centralita ivr: {exc}", file=sys.stderr)
        return 2
    from servicedesk.config_files import apply_config_env_file

    problem = apply_config_env_file(cfg.connections.env_file, args.config)
    if problem:
        print(f"centralita ivr: {problem}", file=sys.stderr)
        return 2
    db_url = cfg.connections.database.resolved_url()
    problem = preflight.check_database(db_url, table="contact") or preflight.check_redis_url(
        cfg.connections.redis.resolved_url()
    )
    if problem:
        print(f"centralita ivr: {problem}", file=sys.stderr)
        return 2
    failure: list[str] = []
    from centralita.logsetup import configure_logging, log_format
    from ivr.calllog import LOG_FORMAT, install_call_log

    fmt = log_format(args.log_format)
    configure_logging(logging.INFO, fmt, text_format=LOG_FORMAT)
    # one line per call, written off the event loop; in JSON mode the line is the call's object
    install_call_log(sys.stderr, "%(message)s" if fmt == "json" else LOG_FORMAT)

    async def serve() -> None:
        from ivr.app import build_server
        from ivr.eventloop import freeze_startup_objects

        server = build_server(cfg, build_services(cfg), host=args.host, port=args.port)
        health = _serve_metrics(cfg, server)
        freeze_startup_objects()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        watch = preflight.DatabaseWatch(db_url)

        async def watch_database() -> None:
            while not stop.is_set():
                await asyncio.sleep(DB_WATCH_INTERVAL_S)
                problem = await asyncio.to_thread(watch.problem)
                if problem:
                    logging.getLogger("centralita.ivr").critical("stopping: %s", problem)
                    failure.append(problem)
                    stop.set()

        def fatal(reason: str) -> None:
            failure.append(reason)
            stop.set()

        watcher = asyncio.create_task(supervise("db-watch", watch_database, fatal))
        try:
            await server.serve_until(stop, grace=args.grace)
        finally:
            watcher.cancel()
            if health is not None:
                health.stop()

    from ivr.eventloop import run as run_loop
    from servicedesk.supervise import supervise

    run_loop(serve())
    if failure:
        print(f"centralita ivr: stopped: {failure[0]}", file=sys.stderr)
        return 1
    return 0
