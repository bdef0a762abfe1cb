"""Wallboard freshness and cost: a queue event leaving pbxsim → the tile update at 50 boards.

    python -m bench.wallboard [--load 100] [--rate 2] [--boards 50] [--seconds 24] [--rounds 3]

Everything real, each in its own process, as in bench.screenpop: pbxsim (AMI server +
FastAGI client, real time), the IVR, the AMI listener, the panel, redis-server and SQLite
seeded with the demo directory. Background: `--load` calls/s through the IVR to
general_es, answered by 220 simulated agents. Measured: `--rate` calls/s through the IVR
to network_es; the clock starts when pbxsim's engine emits the k-th QueueCallerJoin on
network_es and stops when a board's SSE `queues` part first shows network_es offered ≥ k
(one host clock, time.time()); every board counts, so one event gives `--boards` samples.

Two phases under the same load: the anchor phase with ONE board connected, then the
measured phase with `--boards` boards, cut into `--rounds` equal rounds by emission
time; figures are medians of the rounds' p50/p99. Panel CPU (user+system, /proc) is
sampled at each round's edges: CPU per connected board = the measured phase's panel
CPU rate ÷ boards, and the ratio of the panel's CPU rate with all boards to its rate
with one (the in-run anchor: a board that cost as much as the first would make it
`--boards`×). A second anchor, as in bench.screenpop, is the bare Redis hop
(XADD → another client's XREAD BLOCK). Split: pbxsim → listener → the counters
notice in Redis (read by a bench client), and that notice → the board (the panel's share).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.screenpop import (
    BG_AGENTS,
    MEASURED,
    PASSWORD,
    _anchor,
    _cookie,
    _cpu_s,
    _open_stream,
    _rounds,
    _spawn,
    _stats,
    config_text,
    pct,
    short_prompts,
)

WARMUP_S = 8.0  # pbxsim adds 230 queue members and the IVR warms up: not steady yet
ANCHOR_S = 9.0
QUEUE = "network_es"
OFFERED = re.compile(rb'\{"queue":"network_es"[^{}]*?"offered":(\d+)')


def _sim(
    cfg_path: str,
    secret: str,
    port_q: Any,
    go: Any,
    load: float,
    rate: float,
    seconds: float,
    out_path: str,
    callers: list[str],
) -> None:
    asyncio.run(_sim_async(cfg_path, secret, port_q, go, load, rate, seconds, out_path, callers))


async def _sim_async(
    cfg_path: str,
    secret: str,
    port_q: Any,
    go: Any,
    load: float,
    rate: float,
    seconds: float,
    out_path: str,
    callers: list[str],
) -> None:
    import gc

    from pbxsim.behaviour import AgentAction
    from pbxsim.runner import tune_gc
    from pbxsim.sim import PbxSim
    from servicedesk.config import load_config

    tune_gc()
    cfg = load_config(cfg_path)
    sim = PbxSim(
        cfg,
        speed=1.0,
        seed=5,
        ami_port=cfg.connections.ami.port,
        ami_users={cfg.connections.ami.username: secret},
        agi=(cfg.connections.fastagi.host, cfg.connections.fastagi.port),
        prompt_seconds=short_prompts(cfg),
    )
    joins: list[float] = []  # emission time of the k-th QueueCallerJoin on network_es

    def sink(ev: Any) -> None:
        h = ev.headers
        # the sink sees every event: stay cheap
        if h and h[0][1] == "QueueCallerJoin" and dict(h).get("Queue") == QUEUE:
            joins.append(time.time())

    sim.engine.subscribe(sink)
    await sim.start()
    port_q.put(sim.port)
    while not go.is_set():
        await asyncio.sleep(0.05)
    for a in cfg.agents:
        if a.login.startswith("2"):
            sim.agent(a.interface, [AgentAction.answer(0.5, 1.5)])
            queue = "general_es"
        elif a.login.startswith("3"):
            sim.agent(a.interface, [AgentAction.answer(0.3, 0.8)])
            queue = QUEUE
        else:
            continue
        await sim.action(
            "QueueAdd", Queue=queue, Interface=a.interface, Penalty="0", MemberName=a.name
        )
    await asyncio.sleep(1.0)
    gc.collect()
    gc.freeze()
    network_digit = cfg.skills["network"].dtmf or "1"

    from bench.desk_setup import place_load

    n_bg, n_m = await place_load(sim, callers, network_digit, load, rate, seconds)
    await asyncio.sleep(2.5)  # the last joins reach every board
    Path(out_path).write_text(json.dumps({"joins": joins, "placed_bg": n_bg, "placed_m": n_m}))
    await sim.close()


class Board(threading.Thread):
    """One supervisor's browser: reads the wallboard stream, notes when offered grows."""

    def __init__(self, port: int, cookie: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.cookie, self.stop = port, cookie, stop
        self.seen: list[tuple[int, float]] = []  # (offered, arrival)
        self.frames = 0
        self.reconnects = 0

    def run(self) -> None:
        last = 0
        while not self.stop.is_set():
            try:
                resp = _open_stream(self.port, "/supervisor/stream", self.cookie)
            except (OSError, AssertionError):
                time.sleep(0.5)
                continue
            event = b""
            while not self.stop.is_set():
                line = resp.fp.readline()  # type: ignore[union-attr]
                if not line:
                    break
                if line.startswith(b"event: "):
                    event = line[7:].strip()
                elif line.startswith(b"data: ") and event == b"queues":
                    now = time.time()
                    self.frames += 1
                    m = OFFERED.search(line)
                    if m and int(m.group(1)) > last:
                        last = int(m.group(1))
                        self.seen.append((last, now))
            if not self.stop.is_set():
                self.reconnects += 1  # the stream ended or failed while measuring


def _notices(redis_url: str, day: str, stop: threading.Event, out: list[tuple[int, float]]) -> None:
    """When the listener's counters notice for network_es reaches Redis (with its offered)."""
    import redis

    r = redis.Redis.from_url(redis_url, decode_responses=True)
    key, counters = "centralita:events:wallboard", f"centralita:counters:{day}:{QUEUE}"
    last_id, last = "$", 0
    while not stop.is_set():
        try:
            reply = r.xread({key: last_id}, block=500, count=1000) or []
        except redis.RedisError:
            return  # the bench is over and its Redis gone
        for _, entries in reply:
            for eid, f in entries:
                last_id = eid
                if f.get("queue") == QUEUE and f.get("kind") == "counters":
                    try:
                        n = int(r.hget(counters, "offered") or 0)
                    except redis.RedisError:
                        return
                    if n > last:
                        last = n
                        out.append((n, int(eid.split("-")[0]) / 1000))


def _delays(joins: list[float], seen: list[tuple[int, float]]) -> list[tuple[float, float]]:
    """(emitted, delay ms) for every join a series of (offered ≥ k, at) covers."""
    out, done = [], 0
    for n, at in seen:
        for k in range(done + 1, min(n, len(joins)) + 1):
            out.append((joins[k - 1], (at - joins[k - 1]) * 1000))
        done = max(done, n)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.wallboard")
    p.add_argument("--load", type=float, default=100.0, help="background calls per second")
    p.add_argument("--rate", type=float, default=2.0, help="measured calls per second")
    p.add_argument("--boards", type=int, default=50, help="supervisor boards streaming")
    p.add_argument("--seconds", type=float, default=24.0, help="length of the measured phase")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)

    from bench.desk_setup import prepare_desk
    from cti_panel.demo.runner import wait_port
    from cti_panel.wallboard import today

    desk = prepare_desk("wallboard", config_text, [("boss", "supervisor", None)], PASSWORD)
    tmp, redis_server, secret, cfg = desk.tmp, desk.redis_server, desk.secret, desk.cfg
    ctx, port_q, go, cfg_path = desk.ctx, desk.port_q, desk.go, desk.cfg_path
    agi_port, panel_port = desk.agi_port, desk.panel_port
    callers, env = desk.callers, desk.env()
    out_path = tmp / "joins.json"
    total_s = WARMUP_S + ANCHOR_S + args.seconds
    procs = [_spawn(["ivr", "--config", str(cfg_path)], env, tmp, "ivr.log")]
    sim = None
    stop = threading.Event()
    boards: list[Board] = []
    anchor: list[tuple[float, float]] = []
    notices: list[tuple[int, float]] = []
    edges: list[tuple[float, float]] = []  # (time, panel CPU seconds) at phase/round edges
    cpu: dict[str, float] = {}
    try:
        assert wait_port(agi_port, 30), "IVR did not start"
        sim = ctx.Process(
            target=_sim,
            args=(
                str(cfg_path),
                secret,
                port_q,
                go,
                args.load,
                args.rate,
                total_s,
                str(out_path),
                callers,
            ),
        )
        sim.start()
        port_q.get(timeout=60)
        procs.append(
            _spawn(
                ["listener", "--config", str(cfg_path), "--log-level", "WARNING"],
                env,
                tmp,
                "listener.log",
            )
        )
        procs.append(
            _spawn(
                [
                    "panel",
                    "--config",
                    str(cfg_path),
                    "--port",
                    str(panel_port),
                    "--insecure-cookies",
                ],
                env,
                tmp,
                "panel.log",
            )
        )
        panel = procs[-1]
        assert wait_port(panel_port, 30), "panel did not start"
        time.sleep(1.5)  # listener login + resync
        cookie = _cookie(panel_port, "boss")
        day = today(cfg, datetime.now(UTC))
        threading.Thread(
            target=_notices, args=(redis_server.url, day, stop, notices), daemon=True
        ).start()
        threading.Thread(target=_anchor, args=(redis_server.url, stop, anchor), daemon=True).start()
        first = Board(panel_port, cookie, stop)
        first.start()
        boards.append(first)
        time.sleep(0.5)
        t_go = time.time()
        go.set()
        t_anchor = t_go + WARMUP_S
        t_measure = t_anchor + ANCHOR_S
        time.sleep(max(0.0, t_anchor - time.time()))
        edges.append((time.time(), _cpu_s(panel.pid)))
        time.sleep(max(0.0, t_measure - 1.5 - time.time()))
        for _ in range(args.boards - 1):  # connected before the measured phase starts
            b = Board(panel_port, cookie, stop)
            b.start()
            boards.append(b)
        time.sleep(max(0.0, t_measure - time.time()))
        edges.append((time.time(), _cpu_s(panel.pid)))
        width = args.seconds / args.rounds
        for i in range(1, args.rounds + 1):
            time.sleep(max(0.0, t_measure + i * width - time.time()))
            edges.append((time.time(), _cpu_s(panel.pid)))
        cpu_sim = _cpu_s(sim.pid or 0)
        sim.join(60)
        cpu = {"pbxsim": cpu_sim}
        cpu |= {
            n: _cpu_s(pr.pid) for n, pr in zip(("ivr", "listener", "panel"), procs, strict=False)
        }
        cpu["bench_client"] = _cpu_s(os.getpid())
    finally:
        stop.set()
        for pr in procs:
            pr.terminate()
        for pr in procs:
            pr.wait(10)
        if sim is not None and sim.is_alive():
            sim.terminate()
        redis_server.stop()
    print(f"(logs and data in {tmp})")
    data = json.loads(out_path.read_text())
    joins: list[float] = data["joins"]
    if not joins:
        print(json.dumps({"bench": "wallboard", "error": "no measured queue joins"}))
        return 1
    rounds_n = args.rounds
    t0, t1 = t_measure, t_measure + args.seconds
    all_boards = [s for b in boards for s in _delays(joins, b.seen)]
    rounds = _rounds(all_boards, t0, t1, rounds_n)
    one = _delays(joins, boards[0].seen)
    anchor_phase = _rounds(one, t_anchor, t_measure, 1)
    if not all(rounds) or not anchor_phase[0]:
        print(json.dumps({"bench": "wallboard", "error": "a round got no tile update"}))
        return 1
    tot = _stats(rounds)
    single = _stats(anchor_phase)
    lis = _stats(_rounds(_delays(joins, notices), t0, t1, rounds_n))
    notice_at = {n: at for n, at in notices}
    panel_share = []
    for b in boards:
        for n, at in b.seen:
            if n in notice_at and 0 < n <= len(joins):
                panel_share.append((joins[n - 1], (at - notice_at[n]) * 1000))
    pan = _stats(_rounds(panel_share, t0, t1, rounds_n))
    anc = _stats(_rounds(anchor, t0, t1, rounds_n))
    # CPU: one-board anchor rate, then per round with every board
    anchor_rate = (edges[1][1] - edges[0][1]) / (edges[1][0] - edges[0][0])
    round_rates = [
        (edges[i + 1][1] - edges[i][1]) / (edges[i + 1][0] - edges[i][0])
        for i in range(1, len(edges) - 1)
    ]
    rate_all = statistics.median(round_rates)
    per_board_ms = rate_all / args.boards * 1000
    marginal_ms = (rate_all - anchor_rate) / max(1, args.boards - 1) * 1000
    cpu_ratio = rate_all / anchor_rate if anchor_rate > 0 else float("inf")
    lost = sum(
        1
        for b in boards
        for k, t in enumerate(joins, 1)
        if t0 <= t < t1 and (not b.seen or b.seen[-1][0] < k)
    )
    reconnects = sum(b.reconnects for b in boards)
    ratio = tot["p99"] / anc["p99"] if anc["p99"] else float("inf")
    print(
        f"wallboard: QueueCallerJoin leaving pbxsim → listener → Redis → panel → the tile at "
        f"{args.boards} boards' SSE; {args.load:.0f} calls/s background ({data['placed_bg']} "
        f"placed) + {args.rate:g} calls/s measured ({len(joins)} joins)"
    )
    for i, r in enumerate(rounds, 1):
        print(f"  round {i}: p50 {pct(r, 50):.1f} ms  p99 {pct(r, 99):.1f} ms  (n={len(r)})")
    print(f"  one board only (anchor phase): p50 {single['p50']:.1f} / p99 {single['p99']:.1f} ms")
    print(
        f"  split (medians of rounds): pbxsim → listener → counters notice in Redis p50 "
        f"{lis['p50']:.1f} / p99 {lis['p99']:.1f} ms; notice → tile p50 {pan['p50']:.1f} / p99 "
        f"{pan['p99']:.1f} ms"
    )
    print(
        f"  panel CPU: {rate_all * 100:.1f} % of a core with {args.boards} boards (rounds: "
        + ", ".join(f"{r * 100:.1f} %" for r in round_rates)
        + f"), {anchor_rate * 100:.1f} % with one: {per_board_ms:.2f} ms CPU/s per board, "
        f"{marginal_ms:.2f} ms/s for each board after the first; {args.boards} boards / one "
        f"board = {cpu_ratio:.2f}x"
    )
    busy = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
    print(f"  CPU seconds used ({os.cpu_count()} cores, {total_s:g} s of calls): {busy}")
    print(
        f"  anchor, bare Redis XADD → XREAD under the same load: p50 {anc['p50']:.2f} / "
        f"p99 {anc['p99']:.2f} ms; stream reconnects {reconnects}"
    )
    print(
        f"median p50 {tot['p50']:.1f} ms, p99 {tot['p99']:.1f} ms, worst {tot['max']:.1f} ms "
        f"(goal p99 ≤ 1000 ms: {'met' if tot['p99'] <= 1000 else 'NOT met'}); p99 / Redis-hop "
        f"p99 = {ratio:.0f}x; tile updates missing: {lost}"
    )
    print(
        json.dumps(
            {
                "bench": "wallboard",
                "path": "queuecallerjoin_leaving_pbxsim_to_tile_at_board",
                "load_calls_per_s": args.load,
                "measured_calls_per_s": args.rate,
                "boards": args.boards,
                "placed_background": data["placed_bg"],
                "measured_joins": len(joins),
                "samples": sum(len(r) for r in rounds),
                "missing_updates": lost,
                "rounds": rounds_n,
                "p50_ms": round(tot["p50"], 1),
                "p99_ms": round(tot["p99"], 1),
                "max_ms": round(tot["max"], 1),
                "one_board_p99_ms": round(single["p99"], 1),
                "listener_p99_ms": round(lis["p99"], 1),
                "panel_p99_ms": round(pan["p99"], 1),
                "anchor_redis_p99_ms": round(anc["p99"], 3),
                "ratio_p99_vs_anchor": round(ratio, 1),
                "panel_cpu_core_share": round(rate_all, 4),
                "panel_cpu_core_share_one_board": round(anchor_rate, 4),
                "panel_cpu_ms_per_s_per_board": round(per_board_ms, 3),
                "panel_cpu_ms_per_s_marginal_board": round(marginal_ms, 3),
                "panel_cpu_ratio_all_vs_one_board": round(cpu_ratio, 2),
                "goal_p99_ms": 1000,
                "goal_met": tot["p99"] <= 1000,
                "cpu_s": {k: round(v, 1) for k, v in cpu.items()},
                "cores": os.cpu_count(),
                "bg_agents": BG_AGENTS,
                "measured_agents": MEASURED,
            }
        )
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
