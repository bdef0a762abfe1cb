"""Soak: the whole system at ~200 concurrent calls for minutes, watching for loss and leaks.

    python -m bench.soak [--minutes 10] [--rate 6.5] [--talk 25]

Everything real, each in its own process, as in bench.screenpop: pbxsim (AMI
server + FastAGI client, real time), the IVR, the AMI listener, the panel,
redis-server and SQLite seeded with the demo directory. Callers key through the
IVR; background callers ("speak to an agent" → general_es, `--rate` calls/s,
agents talk `--talk` s on average) keep about 200 calls up at once; 0.5
calls/s go to network_es, whose 10 agents hold SSE consoles on the panel: their
answer pops are timed (AgentConnect leaving pbxsim → SSE at the client).

A warm-up (6.5 min: the listener's 5-minute window of finished calls fills) comes
before the `--minutes` measured. Reported: calls lost (queue_log calls missing from
the records; must be 0) and records differing from queue_log; concurrent calls
(mean, max); for every process its RSS and for Redis its data (`used_memory`) over
the measured minutes, with the slope per hour ± its 95 % interval and a flat/growing
verdict (bench.memory_trend); what Redis holds by key family at the end; p99 pop
latency per minute. Anchors from the same run: the last minute's p99 over the
first minute's. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import redis

from ami_listener.calls import FINISHED_MEMORY_S
from bench import redis_footprint
from bench.memory_trend import FLAT_BYTES_PER_CALL, Trend, trend
from bench.screenpop import MEASURED, PASSWORD, _cookie, _spawn, config_text, pct

# RSS climbs to its working set (caches, pools, allocator arenas) over the first minutes,
# and the listener remembers each finished call for FINISHED_MEMORY_S (late events, the
# queue_log catch-up), so its working set is whole only once that window is full, counted
# from when the first calls end (IVR, wait and up to 1.5 x the talk time: about a minute).
# Measured at 30 s past the window, the listener's objects were still climbing for its
# first minute. The `--minutes` measured start after this warm-up, and their slope is the
# one that tells a leak.
WARMUP_S = FINISHED_MEMORY_S + 90.0
# RSS saw-tooths with the minute's heap trim and the batches in flight: a sample a second
# gives each minute's mean 60 points of it, not 12
SAMPLE_S = 1.0
MEASURED_RATE = 0.5


def _sim(cfg_path: str, secret: str, port_q: Any, go: Any, args: dict[str, Any], out: str) -> None:
    asyncio.run(_sim_async(cfg_path, secret, port_q, go, args, out))


async def _sim_async(
    cfg_path: str, secret: str, port_q: Any, go: Any, args: dict[str, Any], out_path: str
) -> None:
    import gc
    import random

    from pbxsim.behaviour import AgentAction
    from pbxsim.runner import tune_gc
    from pbxsim.sim import PbxSim
    from servicedesk.config import load_config

    tune_gc()
    cfg = load_config(cfg_path)
    rng = random.Random(11)
    sim = PbxSim(
        cfg,
        speed=1.0,
        seed=11,
        ami_port=cfg.connections.ami.port,
        ami_users={cfg.connections.ami.username: secret},
        agi=(cfg.connections.fastagi.host, cfg.connections.fastagi.port),
        queue_log_path=args["queue_log"],
    )
    emitted: dict[str, float] = {}
    active: list[tuple[float, int]] = []

    def sink(ev: Any) -> None:
        h = ev.headers
        if h and h[0][1] == "AgentConnect":
            d = dict(h)
            if d.get("Queue") == "network_es":
                emitted[d.get("Linkedid", d.get("Uniqueid", ""))] = time.time()

    sim.engine.subscribe(sink)
    await sim.start()
    port_q.put(sim.port)
    while not go.is_set():
        await asyncio.sleep(0.05)
    talk = float(args["talk"])
    for a in cfg.agents:
        if a.login.startswith("2"):
            plan = [
                AgentAction.answer(rng.uniform(0.3, 1.0), rng.uniform(0.5, 1.5) * talk)
                for _ in range(40)
            ]
            queue = "general_es"
        elif a.login.startswith("3"):
            plan = [AgentAction.answer(rng.uniform(0.2, 0.6), rng.uniform(3.0, 8.0))]
            queue = "network_es"
        else:
            continue
        sim.agent(a.interface, plan)
        await sim.action(
            "QueueAdd", Queue=queue, Interface=a.interface, Penalty="0", MemberName=a.name
        )
    await asyncio.sleep(1.0)
    gc.collect()
    gc.freeze()
    network = cfg.skills["network"].dtmf or "1"
    callers: list[str] = args["callers"]

    def caller(menu: str) -> Any:
        def answer(prompts: list[str]) -> str | None:
            last = prompts[-1] if prompts else ""
            if "welcome" in last or "language_choice" in last:
                return "1"
            if "main_menu" in last:
                return menu
            if "category" in last:
                return network
            return ""

        return answer

    start = time.perf_counter()
    n_bg = n_m = 0
    next_sample = 0.0
    while (elapsed := time.perf_counter() - start) < args["seconds"]:
        while n_bg < elapsed * args["rate"]:
            n_bg += 1
            sim.place_call(
                "tollfree",
                callers[n_bg % len(callers)],
                "",
                dtmf=caller("0"),
                patience=3600,
                queue_patience=120,
            )
        while n_m < elapsed * MEASURED_RATE:
            n_m += 1
            sim.place_call(
                "tollfree",
                callers[n_m % len(callers)],
                "",
                dtmf=caller("1"),
                patience=3600,
                queue_patience=120,
            )
        sim.engine.poke()
        if elapsed >= next_sample:
            next_sample += 1.0
            active.append((time.time(), sim.engine.forget_finished()))
        await asyncio.sleep(0.01)
    placed_until = time.time()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if all(c.done is not None and c.done.triggered for c in sim.engine.calls):
            break
        await asyncio.sleep(0.5)
    Path(out_path).write_text(
        json.dumps(
            {
                "emitted": emitted,
                "active": active,
                "placed": n_bg + n_m,
                "placed_until": placed_until,
            }
        )
    )
    await sim.close()


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _pop_client(
    port: int, username: str, arrivals: dict[str, float], stop: threading.Event
) -> None:
    """An agent console's SSE stream; reconnects when the panel ends it (every
    `sse_max_seconds`) with the same session, as a browser's EventSource does, and logs
    in again only when the session is refused (a login is an argon2 hash: 64 MiB)."""
    cookie = ""
    while not stop.is_set():
        try:
            cookie = cookie or _cookie(port, username)
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=None)
            c.request(
                "GET", "/agent/pops", headers={"Cookie": cookie, "Accept": "text/event-stream"}
            )
            resp = c.getresponse()
            if resp.status != 200:
                cookie = ""
                resp.read()
                time.sleep(1.0)
                continue
            while not stop.is_set():
                line = resp.fp.readline()  # type: ignore[union-attr]
                if not line:
                    break
                if line.startswith(b"data: "):
                    d = json.loads(line[6:])
                    if d.get("type") == "answer":
                        arrivals.setdefault(d["call_id"], time.time())
        except (OSError, ValueError, http.client.HTTPException):
            time.sleep(1.0)


def lost_calls(queue_log: Path, db_url: str) -> tuple[int, int, int]:
    """(calls in queue_log, missing from the records, recorded but differing)."""
    from sqlalchemy import select

    from servicedesk.db import make_engine, make_sessionmaker
    from servicedesk.models import Call
    from tests.ami_listener.harness import queue_log_calls

    expected = queue_log_calls(queue_log)
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as s:
        rows = {c.uniqueid: c for c in s.scalars(select(Call).where(Call.queue.is_not(None)))}
    engine.dispose()
    missing = differ = 0
    for uid, exp in expected.items():
        call = rows.get(uid)
        if call is None or call.ended_at is None:
            missing += 1
        elif (call.outcome, call.hold_seconds) != (exp.get("outcome"), exp.get("hold")) or (
            exp.get("talk") is not None and call.talk_seconds != exp.get("talk")
        ):
            differ += 1
    return len(expected), missing, differ


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak")
    p.add_argument("--minutes", type=float, default=10.0, help="measured, after the warm-up")
    p.add_argument("--warmup", type=float, default=WARMUP_S, help="seconds of load before")
    p.add_argument("--rate", type=float, default=6.5, help="background calls per second")
    p.add_argument("--talk", type=float, default=25.0, help="mean talk seconds (background)")
    args = p.parse_args(argv)

    from bench.desk_setup import prepare_desk
    from cti_panel.demo.runner import wait_port

    desk = prepare_desk(
        "soak", config_text, [(f"m{i}", "agent", f"3{i:03d}") for i in range(MEASURED)], PASSWORD
    )
    tmp, redis_server, db_url, secret = desk.tmp, desk.redis_server, desk.db_url, desk.secret
    ctx, port_q, go, cfg_path = desk.ctx, desk.port_q, desk.go, desk.cfg_path
    agi_port, panel_port = desk.agi_port, desk.panel_port
    callers, env = desk.callers, desk.env()
    out_path, queue_log = tmp / "sim.json", tmp / "queue_log"
    queue_log.write_text("")
    measured_s = args.minutes * 60
    seconds = args.warmup + measured_s
    procs = {"ivr": _spawn(["ivr", "--config", str(cfg_path)], env, tmp, "ivr.log")}
    arrivals: dict[str, float] = {}
    rss: dict[str, list[tuple[float, float]]] = {}
    stop = threading.Event()
    sim = None
    try:
        assert wait_port(agi_port, 60), "IVR did not start"
        sim_args = {
            "rate": args.rate,
            "talk": args.talk,
            "seconds": seconds,
            "queue_log": str(queue_log),
            "callers": callers,
        }
        sim = ctx.Process(
            target=_sim, args=(str(cfg_path), secret, port_q, go, sim_args, str(out_path))
        )
        sim.start()
        port_q.get(timeout=60)
        procs["listener"] = _spawn(
            ["listener", "--config", str(cfg_path), "--log-level", "WARNING"],
            env,
            tmp,
            "listener.log",
        )
        procs["panel"] = _spawn(
            ["panel", "--config", str(cfg_path), "--port", str(panel_port), "--insecure-cookies"],
            env,
            tmp,
            "panel.log",
        )
        assert wait_port(panel_port, 60), "panel did not start"
        time.sleep(1.5)
        for i in range(MEASURED):
            threading.Thread(
                target=_pop_client, args=(panel_port, f"m{i}", arrivals, stop), daemon=True
            ).start()
        time.sleep(0.5)
        t_go = time.time()
        go.set()
        pids = {name: pr.pid for name, pr in procs.items()}
        pids["pbxsim"] = sim.pid or 0
        pids["redis"] = redis_server.proc.pid
        print(
            f"soak: {args.warmup / 60:.1f} min warm-up then {args.minutes:g} min measured, "
            f"{args.rate:g} calls/s background + {MEASURED_RATE} measured, logs in {tmp}",
            flush=True,
        )
        next_print = t_go + 60
        rclient = redis.Redis.from_url(redis_server.url, socket_timeout=2.0)
        families_start: list[redis_footprint.Family] | None = None
        while sim.is_alive():
            now = time.time()
            if families_start is None and now - t_go >= args.warmup:
                families_start = redis_footprint.by_family(rclient)
            for name, pid in pids.items():
                mb = _rss_mb(pid)
                if mb:
                    rss.setdefault(name, []).append((now, mb))
            rss.setdefault("redis data", []).append((now, redis_footprint.used_mb(rclient)))
            if now >= next_print:
                next_print += 60
                phase = "warm-up" if now - t_go < args.warmup else "measured"
                print(
                    f"  {int((now - t_go) / 60)} min ({phase}): "
                    + ", ".join(f"{n} {v[-1][1]:.0f} MB" for n, v in rss.items() if v),
                    flush=True,
                )
            time.sleep(SAMPLE_S)
        sim.join(10)
        (Path(tmp) / "rss.json").write_text(json.dumps(rss))  # every sample, for a closer look
        # the listener's last flush, then the records against queue_log
        deadline = (
            time.monotonic() + 180
        )  # a listener slowed by a profiler catches up late, not never
        while True:
            total, missing, differ = lost_calls(queue_log, db_url)
            if (missing == 0 and differ == 0) or time.monotonic() > deadline:
                break
            time.sleep(2.0)
        exits = {n: pr.poll() for n, pr in procs.items()}
        families = redis_footprint.by_family(rclient)
    finally:
        stop.set()
        for pr in procs.values():
            pr.terminate()
        for pr in procs.values():
            pr.wait(15)
        if sim is not None and sim.is_alive():
            sim.terminate()
        redis_server.stop()
    data = json.loads(out_path.read_text())
    emitted: dict[str, float] = data["emitted"]
    lat = [(t, (arrivals[k] - t) * 1000) for k, t in emitted.items() if k in arrivals]
    minutes: list[tuple[int, float, int]] = []
    for m in range(int((args.warmup + measured_s) / 60) or 1):
        window = [v for t, v in lat if t_go + m * 60 <= t < t_go + (m + 1) * 60]
        if window:
            minutes.append((m + 1, pct(window, 99), len(window)))
    missing_pops = sum(
        1 for k, t in emitted.items() if k not in arrivals and t < data["placed_until"]
    )
    t_measured = t_go + args.warmup
    active = [n for t, n in data["active"] if t >= t_measured] or [0]
    print(
        f"calls: {data['placed']} placed, {total} in queue_log; lost {missing}, "
        f"differing from queue_log {differ}; concurrent mean {statistics.fmean(active):.0f}, "
        f"max {max(active)}"
    )
    trends: dict[str, Trend] = {}
    calls_per_h = (args.rate + MEASURED_RATE) * 3600
    print(
        f"memory over the {args.minutes:g} measured minutes (per-minute means; slope ± 95 %; "
        f"flat = upper bound under {FLAT_BYTES_PER_CALL} B per call handled, here "
        f"{FLAT_BYTES_PER_CALL * calls_per_h / 1e6:.2f} MB/h):"
    )
    for name, samples in rss.items():
        measured = [(t, mb) for t, mb in samples if t >= t_measured]
        if not measured:
            continue
        tr = trends[name] = trend(measured)
        verdict = "flat" if tr.flat(calls_per_h) else "GROWING"
        if name == "pbxsim":
            verdict += " (the simulator, not shipped)"
        elif name.startswith("redis"):
            verdict = "(a store: judged by what it holds, below)"
        print(
            f"  {name:10} start {tr.start_mb:7.1f} MB  end {tr.end_mb:7.1f} MB  "
            f"max {tr.max_mb:7.1f} MB  slope {tr.slope_mb_per_h:+6.1f} "
            f"± {tr.ci95_mb_per_h:4.1f} MB/h ({tr.bytes_per_call(calls_per_h):+5.0f} B/call)  "
            f"{verdict}"
        )
    processes = {n: t for n, t in trends.items() if n != "pbxsim" and not n.startswith("redis")}
    processes_flat = bool(processes) and all(t.flat(calls_per_h) for t in processes.values())
    print(
        "redis keys by family at the end, and their growth over the measured minutes "
        "(flat, filling towards a cap, or per-call marks of their planned size):"
    )
    before = {f.name: f for f in families_start or []}
    calls_measured = round(calls_per_h * measured_s / 3600)
    redis_fine = families_start is not None
    judged: dict[str, str] = {}
    for f in families:
        fine, words = redis_footprint.judge(
            before.get(f.name), f, calls_measured, FLAT_BYTES_PER_CALL
        )
        redis_fine = redis_fine and fine
        judged[f.name] = words
        print(
            f"  {f.name:36} {f.keys:4d} keys {f.bytes / 1e6:6.2f} MB {f.entries:7d} entries  {words}"
        )
    all_flat = processes_flat and redis_fine
    for m, p99, n in minutes:
        phase = "warm-up" if m * 60 <= args.warmup else "measured"
        print(f"  pop p99 minute {m:2d} ({phase}): {p99:8.2f} ms (n={n})")
    first, last = (minutes[0][1], minutes[-1][1]) if minutes else (0.0, 0.0)
    ratio = last / first if first else 0.0
    print(
        f"pop p99 last/first minute = {ratio:.2f}x; answer pops missing: {missing_pops}; "
        f"process exits during the run: {[n for n, c in exits.items() if c is not None]}"
    )
    print(
        f"verdict: lost {missing}; memory {'flat' if all_flat else 'NOT flat'} "
        f"(processes {'flat' if processes_flat else 'GROWING'}, "
        f"redis {'bounded' if redis_fine else 'GROWING'})"
    )
    print(
        json.dumps(
            {
                "bench": "soak",
                "minutes": args.minutes,
                "warmup_s": args.warmup,
                "rate_calls_per_s": args.rate,
                "placed": data["placed"],
                "queue_log_calls": total,
                "lost": missing,
                "differing": differ,
                "concurrent_mean": round(statistics.fmean(active), 1),
                "concurrent_max": max(active),
                "rss_mb": {
                    n: [round(t.start_mb, 1), round(t.end_mb, 1)] for n, t in trends.items()
                },
                "rss_max_mb": {n: round(t.max_mb, 1) for n, t in trends.items()},
                "slope_mb_per_h": {n: round(t.slope_mb_per_h, 2) for n, t in trends.items()},
                "slope_ci95_mb_per_h": {n: round(t.ci95_mb_per_h, 2) for n, t in trends.items()},
                "flat": {n: t.flat(calls_per_h) for n, t in trends.items()},
                "memory_flat": all_flat,
                "redis_families_mb": {f.name: round(f.bytes / 1e6, 3) for f in families},
                "redis_families_judged": judged,
                "pop_p99_ms_by_minute": [round(p, 2) for _m, p, _n in minutes],
                "pop_p99_last_over_first": round(ratio, 2),
                "missing_pops": missing_pops,
                "cores": os.cpu_count(),
            }
        )
    )
    return 0 if missing == 0 and differ == 0 else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
