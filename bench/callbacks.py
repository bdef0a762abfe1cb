"""Callback offers under load: how soon a free agent is offered the callback at the head
of its queue, with 1,000 pending callbacks over the 9 queues of the example desk.

    python -m bench.callbacks [--pending 1000] [--agents-per-queue 5] [--interval-ms 20]

The real scheduler (`ami_listener.callback_scheduler.CallbackScheduler`, tick 0.2 s) runs
against a SQLite database holding the pending requests and their places; the dialer it
drives is a recording stand-in (no AMI). Agents become free one at a time every
`--interval-ms`; the figure is the delay from an agent becoming free to the Originate of
the callback offered to them (p50/p99/max), and every request must be offered exactly
once (one outbound call and one dial token per place). Two phases in the same run: the
anchor with the machine otherwise idle, then the same with pbxsim running 50 calls/s
beside it (`python -m bench.pbxsim_load --rate 50` as a separate process). Not covered:
the AMI round trip of the Originate itself (see bench.pbxsim_load for AMI costs).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ami_listener.callback_scheduler import CallbackScheduler
from ami_listener.db_thread import DatabaseThread
from servicedesk.bus import Keys
from servicedesk.calling_models import CallbackPlace, OutboundCall
from servicedesk.config import load_config
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.models import Base, CallbackRequest

ROOT = Path(__file__).resolve().parents[1]


class _Bus:
    keys = Keys()

    def publish(self, stream: str, fields: dict[str, Any]) -> str:
        return "0-0"


class StandInDialer:
    """What the scheduler uses of the dialer; Originates are recorded, not sent."""

    def __init__(self, cfg: Any, factory: Any) -> None:
        self.cfg = cfg
        self.factory = factory
        self.bus = _Bus()
        self.busy: dict[str, str] = {}
        self.originated: list[tuple[float, str, str]] = []  # (perf time, request, agent)
        self.db = DatabaseThread("bench-db")

    def _run(self, work: Any) -> Any:
        with session_scope(self.factory) as session:
            return work(session)

    def busy_logins(self) -> set[str]:
        return set(self.busy.values())

    async def originate(self, rid: str, row: dict[str, Any]) -> None:
        self.originated.append((time.perf_counter(), rid, row["agent_login"]))


def seed(factory: Any, queues: list[str], pending: int) -> None:
    now = datetime.now(UTC)
    rng = random.Random(7)
    with session_scope(factory) as s:
        for i in range(pending):
            req = CallbackRequest(
                call_uniqueid=f"bench-{i}",
                number=f"55{rng.randrange(10**7, 10**8)}",
                language="es",
                requested_at=now,
            )
            s.add(req)
            s.flush()
            s.add(
                CallbackPlace(
                    callback_id=req.id,
                    queue=queues[i % len(queues)],
                    place_at=now - timedelta(seconds=pending - i),
                )
            )


async def phase(cfg: Any, pending: int, per_queue: int, interval_s: float) -> dict[str, Any]:
    tmp = tempfile.mkdtemp(prefix="centralita-bench-cb-")
    engine = make_engine(f"sqlite:///{tmp}/cb.db")
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    queues = sorted(cfg.queue_definitions())
    seed(factory, queues, pending)
    agents = {q: [f"{q}-a{i}" for i in range(per_queue)] for q in queues}
    free: dict[str, list[str]] = {q: [] for q in queues}
    freed_at: dict[str, float] = {}
    dialer = StandInDialer(cfg, factory)
    sched = CallbackScheduler(dialer, lambda: ({}, {q: list(a) for q, a in free.items()}))  # type: ignore[arg-type]
    sched._last_placement = time.monotonic() + 3600  # places are seeded: no placement pass
    runner = asyncio.create_task(sched.run())
    rng = random.Random(11)
    latencies: list[float] = []
    seen = 0
    t_end = time.monotonic() + 120
    while len(dialer.originated) < pending and time.monotonic() < t_end:
        # one busy agent becomes free
        q = rng.choice(queues)
        idle = [a for a in agents[q] if a not in free[q]]
        if idle:
            a = rng.choice(idle)
            for rid in [r for r, who in dialer.busy.items() if who == a]:
                del dialer.busy[rid]  # their previous call is over
            free[q].append(a)
            freed_at[a] = time.perf_counter()
        await asyncio.sleep(interval_s)
        for t, _rid, agent in dialer.originated[seen:]:
            latencies.append(t - freed_at[agent])
            for fq in free.values():
                if agent in fq:
                    fq.remove(agent)
        seen = len(dialer.originated)
    runner.cancel()
    with session_scope(factory) as s:
        calls = s.scalar(select(func.count()).select_from(OutboundCall)) or 0
        per_cb = s.execute(
            select(OutboundCall.callback_id, func.count())
            .group_by(OutboundCall.callback_id)
            .having(func.count() > 1)
        ).all()
        tokens = s.scalar(select(func.count(func.distinct(CallbackPlace.dial_token)))) or 0
    engine.dispose()
    lat = sorted(latencies)
    return {
        "offered": len(dialer.originated),
        "outbound_calls": calls,
        "dialled_twice": len(per_cb),
        "distinct_dial_tokens": tokens,
        "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "p99_ms": round(1000 * lat[int(0.99 * (len(lat) - 1))], 1) if lat else None,
        "max_ms": round(1000 * lat[-1], 1) if lat else None,
    }


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.callbacks")
    p.add_argument("--pending", type=int, default=1000)
    p.add_argument("--agents-per-queue", type=int, default=5)
    p.add_argument("--interval-ms", type=float, default=20.0)
    args = p.parse_args()
    cfg = load_config(ROOT / "centralita.example.toml")
    print(f"{args.pending} pending callbacks over {len(cfg.queue_definitions())} queues")
    idle = asyncio.run(phase(cfg, args.pending, args.agents_per_queue, args.interval_ms / 1000))
    load = subprocess.Popen(
        [sys.executable, "-m", "bench.pbxsim_load", "--rate", "50", "--seconds", "90"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(6.0)  # pbxsim up and at its rate
        busy = asyncio.run(phase(cfg, args.pending, args.agents_per_queue, args.interval_ms / 1000))
    finally:
        load.terminate()
        load.wait(timeout=30)
    for name, fig in (("anchor, idle machine", idle), ("with pbxsim at 50 calls/s", busy)):
        print(
            f"{name}: offered {fig['offered']}, outbound calls {fig['outbound_calls']}, "
            f"dialled twice {fig['dialled_twice']}; free agent -> Originate "
            f"p50 {fig['p50_ms']} ms, p99 {fig['p99_ms']} ms, max {fig['max_ms']} ms"
        )
    ratio = round(busy["p99_ms"] / idle["p99_ms"], 2) if idle["p99_ms"] and busy["p99_ms"] else None
    print(f"ratio p99 under load / idle: {ratio}; requirement p99 <= 1000 ms")
    print(json.dumps({"idle": idle, "loaded": busy, "p99_ratio_loaded_vs_idle": ratio}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
