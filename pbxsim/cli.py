"""`centralita sim`: run pbxsim on a load profile (AMI server + FastAGI client), e.g. a whole day."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("sim", help="run the Asterisk simulator on a load profile")
    p.add_argument("--config", required=True, help="centralita.toml")
    p.add_argument(
        "--speed", type=float, default=0.0, help="x real time; 0 = as fast as possible (virtual)"
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--profile", default="busy_morning", help="busy_morning | steady | quiet_night | storm"
    )
    p.add_argument("--hours", type=float, default=24.0, help="simulated hours to run")
    p.add_argument(
        "--start", default="", help="simulated start, ISO local time (default: today 00:00)"
    )
    p.add_argument(
        "--ami-port", type=int, default=None, help="serve AMI on 127.0.0.1:PORT (0 = any)"
    )
    p.add_argument(
        "--agi", default="", help="host:port of the FastAGI IVR; without it calls are pre-routed"
    )
    p.add_argument(
        "--extensions", default="", help="use this generated extensions.conf as the dialplan"
    )
    p.add_argument("--queue-log", default="", help="append queue_log lines to this file")
    p.add_argument(
        "--sounds",
        default="",
        help="a `conf prompts` output directory: play prompts for these files' lengths",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_run(args))


async def _run(args: argparse.Namespace) -> int:
    import random
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from pbxsim.profiles import PROFILES, ProfileRunner
    from pbxsim.runner import tune_gc
    from pbxsim.sim import PbxSim
    from servicedesk.config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"config error: {exc}")
        return 2
    if args.profile not in PROFILES:
        print(f"unknown profile {args.profile!r}; choose from {', '.join(PROFILES)}")
        return 2
    agi = None
    if args.agi:
        host, _, port = args.agi.rpartition(":")
        agi = (host or "127.0.0.1", int(port))
    tz = ZoneInfo(cfg.service.timezone) if getattr(cfg, "service", None) else ZoneInfo("UTC")
    start = (
        datetime.fromisoformat(args.start).replace(tzinfo=tz)
        if args.start
        else datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    extensions = open(args.extensions, encoding="utf-8").read() if args.extensions else None  # noqa: SIM115
    sim = PbxSim(
        cfg,
        speed=args.speed or None,
        seed=args.seed,
        ami_port=args.ami_port,
        agi=agi,
        queue_log_path=args.queue_log or None,
        start_epoch=start.timestamp(),
        extensions_conf=extensions,
        sounds_dir=args.sounds or None,
    )
    tune_gc()
    events = [0]
    sim.engine.subscribe(lambda ev: events.__setitem__(0, events[0] + 1))
    await sim.start()
    if sim.ami is not None:
        print(f"AMI on 127.0.0.1:{sim.port}", flush=True)
    runner = ProfileRunner(
        sim, cfg, PROFILES[args.profile], random.Random(args.seed), use_ivr=agi is not None
    )
    runner.schedule(start, args.hours)
    wall = time.perf_counter()
    try:
        await sim.run_for(args.hours * 3600)
        if not args.speed:
            await sim.run_until_idle(limit=3 * 3600)
    finally:
        await sim.close()
    wall = time.perf_counter() - wall
    print(f"profile {args.profile}: {args.hours:g} simulated hours in {wall:.1f} s wall")
    print(
        f"calls placed {runner.stats.placed}, agent logins {runner.stats.logins}, pauses {runner.stats.pauses}"
    )
    print(f"AMI events {events[0]}, queue_log lines {len(sim.engine.queue_log_lines)}")
    outcomes: dict[str, int] = {}
    for call in sim.engine.calls:
        outcomes[call.outcome or "other"] = outcomes.get(call.outcome or "other", 0) + 1
    print("outcomes " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    for name, q in sim.engine.queues.items():
        if q.completed or q.abandoned:
            print(
                f"  {name:16} answered {q.completed:5d}  abandoned {q.abandoned:5d}  "
                f"holdtime {q.holdtime:4d}s  talktime {q.talktime:4d}s  SL {q.sl_perf()}%"
            )
    return 0
