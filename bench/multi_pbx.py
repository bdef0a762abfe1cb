"""Two PBXs into one PostgreSQL: records kept, listener CPU and DB write latency.

    python -m bench.multi_pbx [--rate 50] [--seconds 60]

Each PBX is a pbxsim process in real time (speed 1) with the example desk's dialplan and
its 9 queues, 60 agents a queue (answer after 1 s, talk 8 s), taking `--rate` new calls a
second pre-routed to the queues in turn. Each PBX has its own `centralita listener --pbx ID`
process; all write to one PostgreSQL and one Redis, all real servers started here.

Trials, in the same run:
- anchor: one PBX at `--rate` calls/s with its listener;
- two PBXs at `--rate` calls/s each, a listener each.

Figures per trial: calls lost (caller calls in the PBXs' queue_log that have no record, or
more than one; must be 0), the listeners' CPU per 1,000 AMI events (from /proc via psutil
and the listener's own /metrics), the database batch write latency p50/p99 (the listener's
`centralita_db_batch_seconds` histogram), and the ratio two-PBX/anchor of each.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
AGENTS_PER_QUEUE = 60


# --------------------------------------------------------------------- one PBX process
async def _box(config: str, ami_port: int, rate: float, seconds: float, queue_log: str) -> None:
    from pbxsim.behaviour import AgentAction, CallerScript
    from pbxsim.runner import tune_gc
    from pbxsim.sim import PbxSim
    from servicedesk.config import load_config

    cfg = load_config(config)
    sim = PbxSim(
        cfg,
        speed=1.0,
        seed=11,
        ami_port=ami_port,
        ami_users={cfg.connections.ami.username: "bench"},
        queue_log_path=queue_log,
        start_epoch=time.time(),
    )
    engine = sim.engine
    queues = sorted(cfg.queue_definitions())
    n = 0
    for queue in queues:
        for _ in range(AGENTS_PER_QUEUE):
            engine.set_phone(f"b{n}", [AgentAction.answer(1.0, 8.0)] * 10_000, str(5000 + n), "")
            engine.actions.handle(
                "QueueAdd",
                [("Queue", queue), ("Interface", f"PJSIP/b{n}"), ("MemberName", f"Agent {n}")],
            )
            n += 1
    tune_gc()
    await sim.start()
    print(f"AMI on {sim.port}", flush=True)
    # the driver says "go" once the listener is logged in and resynced
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    did = cfg.lines["tollfree"].did.lstrip("+")
    total = int(rate * seconds)
    start = engine.kernel.now + 0.1
    for i in range(total):
        queue = queues[i % len(queues)]
        script = CallerScript(
            hangup_after=15.0,  # 1 s IVR, up to a few s waiting, 1 s ring, 8 s talk
            ivr_seconds=1.0,
            preset={"CENTRALITA_ACTION": "queue", "CENTRALITA_QUEUE": queue, "IVR_LANG": "es"},
        )
        engine.place_call(
            did, f"5255{i:08d}", "", script, context="centralita-inbound", at=start + i / rate
        )
    engine.poke()
    await sim.run_for(seconds + 1.0)
    while any(c.done is None or not c.done.triggered for c in engine.calls):
        await asyncio.sleep(0.5)
    await asyncio.sleep(3.0)  # the last events reach the listener
    await sim.close()
    print(json.dumps({"placed": total}), flush=True)


# ------------------------------------------------------------------------- the driver
def _scrape(port: int) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    buckets: list[tuple[float, float]] = []
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "centralita_db_batch_seconds_bucket":
                le = s.labels["le"]
                buckets.append((float("inf") if le == "+Inf" else float(le), s.value))
            else:
                out[s.name] = out.get(s.name, 0.0) + s.value
    out["_buckets"] = buckets  # type: ignore[assignment]
    return out


def _wait_ready(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    time.sleep(0.5)  # the resync that follows the login
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"listener on metrics port {port} never became ready")


def _quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Upper bound of the histogram bucket holding quantile q (Prometheus style)."""
    buckets = sorted(buckets)
    total = buckets[-1][1] if buckets else 0.0
    if total == 0:
        return float("nan")
    for le, count in buckets:
        if count >= q * total:
            return le
    return buckets[-1][0]


def _queue_log_calls(path: Path) -> dict[str, int]:
    """callid -> number of ENTERQUEUE lines (a caller call enters once)."""
    calls: dict[str, int] = {}
    if not path.exists():
        return calls
    for line in path.read_text().splitlines():
        parts = line.split("|")
        if len(parts) > 4 and parts[4] == "ENTERQUEUE":
            calls[parts[1]] = calls.get(parts[1], 0) + 1
    return calls


def _config(tmp: Path, pbx_ids: list[str], ports: dict[str, int], metrics: dict[str, int]) -> Path:
    text = (ROOT / "centralita.example.toml").read_text()
    for pid in pbx_ids:
        text += (
            f"\n[connections.pbxs.{pid}]\nmetrics_port = {metrics[pid]}\n"
            f'[connections.pbxs.{pid}.ami]\nhost = "127.0.0.1"\nport = {ports[pid]}\n'
            f'username = "centralita"\nsecret_env = "BENCH_AMI_SECRET"\n'
        )
    path = tmp / f"desk-{len(pbx_ids)}.toml"
    path.write_text(text)
    return path


def trial(
    pbx_ids: list[str], rate: float, seconds: float, db_url: str, redis_url: str
) -> dict[str, Any]:
    import psutil
    from sqlalchemy import func, select

    from servicedesk.db import make_engine
    from servicedesk.models import Call
    from tests.servers import free_port

    tmp = Path(tempfile.mkdtemp(prefix="bench-multi-pbx-"))
    ports = {pid: free_port() for pid in pbx_ids}
    metrics = {pid: free_port() for pid in pbx_ids}
    config = _config(tmp, pbx_ids, ports, metrics)
    env = dict(
        os.environ,
        BENCH_AMI_SECRET="bench",
        CENTRALITA_DATABASE_URL=db_url,
        CENTRALITA_REDIS_URL=redis_url,
        PYTHONPATH=str(ROOT),
    )
    boxes = {
        pid: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.multi_pbx",
                "--box",
                "--config",
                str(config),
                "--ami-port",
                str(ports[pid]),
                "--rate",
                str(rate),
                "--seconds",
                str(seconds),
                "--queue-log",
                str(tmp / f"queue_log.{pid}"),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for pid in pbx_ids
    }
    listeners: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for proc in boxes.values():
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith("AMI on"), "pbxsim did not start"
        listeners = {
            pid: subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "centralita.cli",
                    "listener",
                    "--config",
                    str(config),
                    "--pbx",
                    pid,
                    "--log-level",
                    "WARNING",
                ],
                cwd=tmp,
                env=env,
            )
            for pid in pbx_ids
        }
        cpu = {pid: psutil.Process(p.pid) for pid, p in listeners.items()}
        for pid in pbx_ids:  # each listener logged in and resynced: its /healthz says ready
            _wait_ready(metrics[pid])
        cpu0 = {pid: sum(cpu[pid].cpu_times()[:2]) for pid in pbx_ids}
        events0 = {
            pid: _scrape(metrics[pid]).get("centralita_ami_events_total", 0.0) for pid in pbx_ids
        }
        for proc in boxes.values():
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in boxes.values():
            proc.wait(timeout=seconds + 600)
        # wait until every listener has written what it saw
        eng = make_engine(db_url)
        expected = {pid: _queue_log_calls(tmp / f"queue_log.{pid}") for pid in pbx_ids}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with eng.connect() as c:
                got = dict(
                    c.execute(
                        select(Call.pbx_id, func.count())
                        .where(Call.pbx_id.in_(pbx_ids))
                        .where(Call.queue.is_not(None))
                        .group_by(Call.pbx_id)
                    ).all()
                )
            if all(got.get(pid, 0) >= len(expected[pid]) for pid in pbx_ids):
                break
            time.sleep(1.0)
        time.sleep(1.0)
        stats = {pid: _scrape(metrics[pid]) for pid in pbx_ids}
        cpu_s = {pid: sum(cpu[pid].cpu_times()[:2]) - cpu0[pid] for pid in pbx_ids}
        for p in listeners.values():
            p.send_signal(signal.SIGTERM)
        for p in listeners.values():
            p.wait(timeout=60)
    finally:
        for child in [*boxes.values(), *listeners.values()]:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    with eng.connect() as c:
        rows = c.execute(
            select(Call.pbx_id, Call.linkedid)
            .where(Call.pbx_id.in_(pbx_ids))
            .where(Call.queue.is_not(None))
        ).all()
    eng.dispose()
    lost = 0
    recorded: dict[str, list[str]] = {pid: [] for pid in pbx_ids}
    for pid, lid in rows:
        recorded[pid].append(lid)
    for pid in pbx_ids:
        missing = set(expected[pid]) - set(recorded[pid])
        if missing:
            print(f"  {pid}: {len(missing)} calls without a record, e.g. {sorted(missing)[:3]}")
        lost += len(missing)
        lost += len(recorded[pid]) - len(set(recorded[pid]))  # duplicates count as lost
    events = sum(
        s.get("centralita_ami_events_total", 0.0) - events0[pid] for pid, s in stats.items()
    )
    buckets: list[tuple[float, float]] = []
    for s in stats.values():
        buckets.extend(s["_buckets"])  # type: ignore[arg-type]
    merged: dict[float, float] = {}
    for le, count in buckets:
        merged[le] = merged.get(le, 0.0) + count
    hist = sorted(merged.items())
    return {
        "pbxs": len(pbx_ids),
        "calls": sum(len(v) for v in expected.values()),
        "lost": lost,
        "events": events,
        "listener_cpu_s": sum(cpu_s.values()),
        "cpu_ms_per_1000_events": 1000.0 * sum(cpu_s.values()) / max(events, 1.0) * 1000.0,
        "db_batches": hist[-1][1] if hist else 0.0,
        "db_write_p50_ms": 1000.0 * _quantile(hist, 0.50),
        "db_write_p99_ms": 1000.0 * _quantile(hist, 0.99),
    }


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.multi_pbx")
    p.add_argument("--rate", type=float, default=50.0, help="new calls per second per PBX")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--box", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.add_argument("--ami-port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--queue-log", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.box:
        asyncio.run(_box(args.config, args.ami_port, args.rate, args.seconds, args.queue_log))
        return

    from servicedesk.db import make_engine
    from servicedesk.models import Base
    from tests.servers import PostgresServer, RedisServer

    pg, rd = PostgresServer(), RedisServer()
    try:
        db_url = pg.create_database("bench")
        eng = make_engine(db_url)
        Base.metadata.create_all(eng)
        eng.dispose()
        print(f"PostgreSQL and Redis up; {args.rate:g} calls/s per PBX for {args.seconds:g} s")
        one = trial(["solo"], args.rate, args.seconds, db_url, rd.url)
        print(f"anchor, one PBX : {one}")
        two = trial(["cdmx", "mty"], args.rate, args.seconds, db_url, rd.url)
        print(f"two PBXs        : {two}")
    finally:
        rd.stop()
        pg.stop()
    ratio_cpu = two["cpu_ms_per_1000_events"] / max(one["cpu_ms_per_1000_events"], 1e-9)
    ratio_p99 = two["db_write_p99_ms"] / max(one["db_write_p99_ms"], 1e-9)
    print(
        f"lost: {two['lost']} of {two['calls']} (anchor {one['lost']} of {one['calls']}); "
        f"listener CPU per 1,000 events {two['cpu_ms_per_1000_events']:.1f} ms "
        f"(x{ratio_cpu:.2f} the anchor); DB write p99 {two['db_write_p99_ms']:.1f} ms "
        f"(x{ratio_p99:.2f} the anchor)"
    )
    print(
        json.dumps(
            {
                "anchor": one,
                "two_pbxs": two,
                "ratio_cpu_per_event": ratio_cpu,
                "ratio_db_p99": ratio_p99,
            }
        )
    )


if __name__ == "__main__":
    main()
