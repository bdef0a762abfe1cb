"""Stand-in launcher for the AMI listener, used by the demo only while `centralita listener`
is not registered; it builds ami_listener's own ListenerService from the config."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys


async def _main(config: str) -> None:
    from ami_listener.service import ListenerService
    from servicedesk.bus import connect
    from servicedesk.config import load_config
    from servicedesk.db import make_engine, make_sessionmaker

    cfg = load_config(config)
    client = connect(
        cfg.connections.redis.resolved_url(), os.environ.get("CENTRALITA_STATE_DIR", ".")
    )
    sessions = make_sessionmaker(make_engine(cfg.connections.database.resolved_url()))
    service = ListenerService(cfg, sessions, client, cfg.connections.ami.secret() or "")
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(service.run_forever())
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await service.stop()
    task.cancel()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--config", required=True)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s %(message)s", stream=sys.stdout)
    asyncio.run(_main(args.config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
