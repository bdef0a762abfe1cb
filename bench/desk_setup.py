"""The desk the end-to-end benchmarks run against, set up one way for all of them.

`bench.screenpop`, `bench.wallboard` and `bench.soak` all need the same thing before they
measure: a throwaway Redis, a migrated SQLite database synced from a config whose AMI and
FastAGI ports are free ones, the seeded directory (so the IVR identifies callers at once),
the panel accounts the bench logs in with, and the environment the processes start with.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# (username, role, agent login or None): the panel accounts a bench logs in with
Account = tuple[str, str, str | None]


@dataclass
class BenchDesk:
    tmp: Path
    redis_server: Any  # tests.servers.RedisServer
    db_url: str
    secret: str
    ctx: Any  # a spawn multiprocessing context
    port_q: Any
    go: Any
    agi_port: int
    ami_port: int
    panel_port: int
    cfg_path: Path
    cfg: Any  # servicedesk.config.CentralitaConfig
    callers: list[str]  # numbers of seeded contacts

    def env(self) -> dict[str, str]:
        """What every process of the desk starts with."""
        return dict(
            os.environ,
            CENTRALITA_DATABASE_URL=self.db_url,
            CENTRALITA_REDIS_URL=self.redis_server.url,
            CENTRALITA_AMI_SECRET=self.secret,
            CENTRALITA_SECRET_KEY="s" * 64,
            CENTRALITA_PANEL_SECURE_COOKIES="0",
        )


def prepare_desk(
    name: str,
    config_text: Callable[[int, int], str],
    accounts: Iterable[Account],
    password: str,
) -> BenchDesk:
    from cti_panel.demo.data import seed
    from cti_panel.users import ensure_user
    from servicedesk.config import load_config
    from servicedesk.db import make_engine, make_sessionmaker, session_scope
    from servicedesk.migrate import upgrade
    from servicedesk.sync import sync_from_config
    from tests.servers import RedisServer, free_port

    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    redis_server = RedisServer()
    db_url = f"sqlite:///{tmp / f'{name}.db'}"
    ctx = mp.get_context("spawn")
    agi_port, ami_port, panel_port = free_port(), free_port(), free_port()
    cfg_path = tmp / "centralita.toml"
    cfg_path.write_text(config_text(ami_port, agi_port), encoding="utf-8")
    cfg = load_config(cfg_path)
    upgrade(db_url)
    with session_scope(make_sessionmaker(make_engine(db_url))) as s:
        sync_from_config(s, cfg)
        for username, role, agent in accounts:
            ensure_user(s, username, password, role, agent_login=agent)
        callers = [c.number for c in seed(s, cfg)]  # known ANIs: the IVR identifies at once
    return BenchDesk(
        tmp=tmp,
        redis_server=redis_server,
        db_url=db_url,
        secret=f"{name}-ami-secret",
        ctx=ctx,
        port_q=ctx.Queue(),
        go=ctx.Event(),
        agi_port=agi_port,
        ami_port=ami_port,
        panel_port=panel_port,
        cfg_path=cfg_path,
        cfg=cfg,
        callers=callers,
    )


def ivr_caller(menu: str, category_digit: str) -> Callable[[list[str]], str | None]:
    """A caller who keys through the IVR by prompt name: Spanish, then `menu`, then the
    category digit (the pop and wallboard benches send every caller to one queue)."""

    def answer(prompts: list[str]) -> str | None:
        last = prompts[-1] if prompts else ""
        if "welcome" in last or "language_choice" in last:
            return "1"
        if "main_menu" in last:
            return menu
        if "category" in last:
            return category_digit
        return ""

    return answer


async def place_load(
    sim: Any, callers: list[str], category_digit: str, load: float, rate: float, seconds: float
) -> tuple[int, int]:
    """Background callers (menu 0) at `load`/s and measured ones (menu 1) at `rate`/s for
    `seconds` of wall clock; returns how many of each were placed."""
    import asyncio
    import time

    start = time.perf_counter()
    n_bg = n_m = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        while n_bg < elapsed * load:
            n_bg += 1
            caller = ivr_caller("0", category_digit)
            sim.place_call("tollfree", callers[n_bg % len(callers)], "", dtmf=caller, patience=60)
        while n_m < elapsed * rate:
            n_m += 1
            caller = ivr_caller("1", category_digit)
            sim.place_call("tollfree", callers[n_m % len(callers)], "", dtmf=caller, patience=60)
        sim.engine.poke()
        await asyncio.sleep(0.005)
    return n_bg, n_m
