"""`centralita ivr --config FILE`: the FastAGI server, until SIGINT/SIGTERM (graceful)."""

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
    p.set_defaults(func=run)


def build_services(cfg: Any) -> Any:
    """Database and Redis from the config; Redis is optional (no overflow/estimates without)."""
    import logging

    from ivr.services import StoreServices
    from servicedesk.bus import connect
    from servicedesk.db import make_engine, make_sessionmaker

    engine = make_engine(cfg.connections.database.resolved_url())
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


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal
    import sys

    from servicedesk.config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"centralita ivr: {exc}", file=sys.stderr)
        return 2
    from ivr.calllog import LOG_FORMAT, install_call_log

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    install_call_log(sys.stderr, LOG_FORMAT)  # one line per call, written off the event loop

    async def serve() -> None:
        from ivr.app import build_server
        from ivr.eventloop import freeze_startup_objects

        server = build_server(cfg, build_services(cfg), host=args.host, port=args.port)
        freeze_startup_objects()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await server.serve_until(stop, grace=args.grace)

    from ivr.eventloop import run as run_loop

    run_loop(serve())
    return 0
