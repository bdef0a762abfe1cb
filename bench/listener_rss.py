"""Peak RSS of the listener while it tracks 5,000 concurrent calls.

    python -m bench.listener_rss [--calls 5000]

A child process (so the benchmark's own memory is not counted) runs the
listener core — `Ingest` with a SQLite store and a Redis publisher — and feeds
it, in 1460-byte reads, the real opening of a queue call from the
answered_caller_hangup trace (Newchannel, VarSets, QueueCallerJoin, two
AgentCalled/DialBegin, ChanVariables…) with fresh ids and IVR variables, N
times, none of them ending: N calls waiting and ringing at once, each with its
ring attempts, IVR choices and in-flight DB row. It flushes as the live service
does. Reported: peak RSS (ru_maxrss) of the child, and the anchor measured in
the same run — the same child with 0 calls (interpreter + imports + engine).
Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACE = ROOT.parent / "shared" / "asterisk-traces" / "answered_caller_hangup"
_ID = re.compile(rb"((?:Uniqueid|Linkedid|DestUniqueid|DestLinkedid): )1795339491\.(\d+)")


def call_opening() -> bytes:
    """The trace's bytes from the caller's Newchannel to just before the answer."""
    raw = (TRACE / "ami.raw").read_bytes()
    start = raw.index(b"Event: Newchannel")
    end = raw.index(b"Event: DialEnd")
    return raw[start:end]


def child(calls: int) -> None:
    import redis

    from ami_listener.ingest import Ingest
    from ami_listener.live import LivePublisher
    from ami_listener.store import CallStore
    from servicedesk.bus import Bus
    from servicedesk.db import make_engine, make_sessionmaker
    from servicedesk.models import Base

    url = sys.argv[sys.argv.index("--redis") + 1]
    tmp = tempfile.mkdtemp(prefix="bench-rss-")
    engine = make_engine(f"sqlite:///{tmp}/rss.db")
    Base.metadata.create_all(engine)
    ingest = Ingest(
        "rss",
        CallStore(make_sessionmaker(engine), "rss"),
        LivePublisher(Bus(redis.Redis.from_url(url, decode_responses=True))),
    )
    opening = call_opening()
    ivr = (
        b"Event: VarSet\r\nTimestamp: 1795339491.5\r\nUniqueid: 1795339491.0\r\n"
        b"Linkedid: 1795339491.0\r\nVariable: CENTRALITA_IVR\r\n"
        b"Value: lang=es;menu=new_incident;category=network;ident=ani\r\n\r\n"
    )
    ingest.feed(b"Asterisk Call Manager/11.0.0\r\n")
    t0 = time.perf_counter()
    for n in range(calls):
        base = 1_000 * (n + 1)

        def ids(m: re.Match[bytes], base: int = base) -> bytes:
            return m.group(1) + f"1795339491.{base + int(m.group(2))}".encode()

        data = _ID.sub(ids, opening + ivr)
        for i in range(0, len(data), 1460):
            ingest.feed(data[i : i + 1460])
        if ingest.pending() >= 500:
            ingest.flush()
    ingest.flush()
    seconds = time.perf_counter() - t0
    tracked = len(ingest.calls.calls)
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"tracked": tracked, "peak_rss_kb": rss_kb, "seconds": seconds}))


def measure(calls: int, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.listener_rss", "--child", str(calls), "--redis", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--child" in argv:
        child(int(argv[argv.index("--child") + 1]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=5000)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.servers import RedisServer

    server = RedisServer()
    try:
        anchor = measure(0, server.url)
        loaded = measure(args.calls, server.url)
    finally:
        server.stop()
    peak_mb = loaded["peak_rss_kb"] / 1024
    base_mb = anchor["peak_rss_kb"] / 1024
    result = {
        "bench": "listener_rss",
        "concurrent_calls": int(loaded["tracked"]),
        "peak_rss_mb": round(peak_mb, 1),
        "baseline_rss_mb": round(base_mb, 1),
        "per_call_kb": round((peak_mb - base_mb) * 1024 / max(1, loaded["tracked"]), 2),
        "ratio_vs_baseline": round(peak_mb / base_mb, 2),
        "feed_seconds": round(loaded["seconds"], 2),
        "goal_peak_rss_mb": 200,
    }
    print(f"tracking {result['concurrent_calls']} concurrent calls: peak RSS {peak_mb:.1f} MB")
    print(f"same process with 0 calls: {base_mb:.1f} MB; {result['per_call_kb']} KB per call")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
