"""The listener's batched writes on SQLite and PostgreSQL: the same calls, the same code.

    python -m bench.db_writes [--calls 1000] [--batch 50] [--runs 5]

Each round writes `--calls` calls as the listener's `CallStore` does: batches of
`--batch` calls, each call written three times (joined the queue; answered, its
rings let go or taken; ended), into a database carrying every migration (the
summary triggers included) and already holding the earlier rounds' calls.

* SQLite: a WAL file, synchronous=NORMAL (the listener's settings).
* PostgreSQL: a private cluster with the server's defaults (fsync on), the
  listener's sessions at synchronous_commit=off (`servicedesk.db`). On both a
  commit returns before its fsync; neither loses a committed page to a process
  crash, and what a machine crash may lose the listener replays from queue_log.

Printed per engine: seconds per 1,000 calls (median of `--runs`), batch write
p50/p99 and this process's CPU per 1,000 calls (PostgreSQL's own CPU is not in
it); then PostgreSQL over SQLite, the anchor measured in the same run (goal:
≤ 1.0). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from ami_listener.store import CallSnapshot, CallStore

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
QUEUES = ("network_es", "erp_es", "general_es", "network_en")


def snapshot(i: int, stage: int, pbx: str = "bench") -> CallSnapshot:
    """Call `i` at one stage of its life: 0 waiting, 1 answered, 2 ended."""
    started = T0 + timedelta(seconds=2 * i)
    answered = stage >= 1 and i % 7 != 0
    outcome = None if stage == 0 else ("answered" if answered else "abandoned")
    row = {
        "pbx_id": pbx,
        "linkedid": f"{i}.1",
        "uniqueid": f"{i}.1",
        "line_did": "8005550100",
        "caller_num": f"55{i:08d}",
        "caller_name": "Cliente",
        "contact_id": None,
        "language": "es",
        "ivr_choices": {"lang": "es", "menu": "2"},
        "category": "network",
        "priority": None,
        "vip": False,
        "incident_number": None,
        "queue": QUEUES[i % len(QUEUES)],
        "queue_position": 1 + i % 5,
        "started_at": started,
        "entered_queue_at": started + timedelta(seconds=22),
        "answered_at": started + timedelta(seconds=22 + i % 40) if answered else None,
        "ended_at": started + timedelta(seconds=300) if stage == 2 else None,
        "hold_seconds": None if stage == 0 else i % 40,
        "talk_seconds": 240 - i % 40 if stage == 2 and answered else None,
        "agent_login": f"10{i % 20:02d}" if answered else None,
        "agent_member": f"PJSIP/10{i % 20:02d}" if answered else None,
        "hung_up_by": ("agent" if i % 2 else "caller") if stage == 2 else None,
        "outcome": outcome,
        "source": "ami",
        "updated_at": datetime.now(UTC),
        "origin_pbx_id": None,
        "origin_linkedid": None,
    }
    rings = [
        {
            "agent_login": f"10{(i + k) % 20:02d}",
            "member": f"PJSIP/10{(i + k) % 20:02d}",
            "started_at": started + timedelta(seconds=23 + 15 * k),
            "result": None if stage == 0 else ("noanswer" if k == 0 else "answered"),
            "ring_ms": 15000 if k == 0 else 4000,
        }
        for k in range(2 if answered else 1)
    ]
    return CallSnapshot(row, rings, stage == 2)


def write_calls(store: CallStore, first: int, calls: int, batch: int) -> list[float]:
    """Write calls first … first+calls as the listener does; seconds per batch write."""
    took = []
    for start in range(first, first + calls, batch):
        ids = range(start, min(start + batch, first + calls))
        for stage in range(3):
            began = time.perf_counter()
            assert store.write([snapshot(i, stage, store.pbx_id) for i in ids]) == 0
            took.append(time.perf_counter() - began)
    return took


def bench_engine(url: str, args: argparse.Namespace) -> dict[str, Any]:
    from servicedesk import migrate
    from servicedesk.db import make_engine, make_sessionmaker

    migrate.upgrade(url)
    engine = make_engine(url, role="listener")
    store = CallStore(make_sessionmaker(engine), "bench")
    write_calls(store, 10**7, args.batch * 2, args.batch)  # warm: pool, plans, caches
    rounds, cpu, batches = [], [], []
    for r in range(args.runs):
        wall, proc = time.perf_counter(), time.process_time()
        batches += write_calls(store, r * args.calls, args.calls, args.batch)
        rounds.append((time.perf_counter() - wall) * 1000 / args.calls)
        cpu.append((time.process_time() - proc) * 1000 / args.calls)
    engine.dispose()
    batches.sort()
    return {
        "s_per_1000_calls": round(statistics.median(rounds), 3),
        "rounds": [round(x, 3) for x in rounds],
        "cpu_s_per_1000_calls": round(statistics.median(cpu), 3),
        "batch_p50_ms": round(batches[len(batches) // 2] * 1000, 2),
        "batch_p99_ms": round(batches[int(len(batches) * 0.99)] * 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.db_writes")
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    from tests.servers import PostgresServer

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-writes-") as tmp:
        out["sqlite"] = bench_engine(f"sqlite:///{tmp}/writes.db", args)
    server = PostgresServer(durable=True)
    try:
        out["postgresql"] = bench_engine(server.create_database("writes"), args)
    finally:
        server.stop()
    print(
        f"db_writes: {args.calls} calls × 3 writes, {args.batch} calls a batch, "
        f"medians of {args.runs}"
    )
    for name, r in out.items():
        print(
            f"  {name:10} {r['s_per_1000_calls']:.3f} s per 1,000 calls "
            f"(rounds {r['rounds']}), CPU {r['cpu_s_per_1000_calls']:.3f} s, "
            f"batch p50 {r['batch_p50_ms']:.1f} ms, p99 {r['batch_p99_ms']:.1f} ms"
        )
    ratio = out["postgresql"]["s_per_1000_calls"] / out["sqlite"]["s_per_1000_calls"]
    out["ratio_postgresql_over_sqlite"] = round(ratio, 2)
    print(f"  PostgreSQL / SQLite (anchor): ×{ratio:.2f} (goal ≤ 1.0)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
