"""queue_log import: parse + aggregate a large queue_log, lines per second.

`python -m bench.queue_log_import [--lines 2000000] [--runs 3]`

The file is load_mix's real queue_log (Asterisk 22, 40 calls, 123 lines)
repeated with rewritten call ids and times (each copy 200 s later), so the
event mix, field shapes and quirks are the recorded ones. One run = parse the
file with `callstats.queue_log` and aggregate per queue, per agent and per
30-minute interval. The anchor, measured in the same process on the same file,
is the obvious implementation: `csv.reader(delimiter="|")`, one dict per line,
per-event handler methods, then the same aggregation. Both must produce the same
figures. Medians over `--runs`; the last line is one JSON object. Goal: ≥ 250k lines/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from callstats import aggregate
from callstats.definitions import QueueCall, QueueRules
from callstats.queue_log import parse_file

TRACE = (
    Path(__file__).resolve().parents[2] / "shared" / "asterisk-traces" / "load_mix" / "queue_log"
)
TZ = "America/Mexico_City"
GOAL = 250_000


def generate(path: Path, n_lines: int, source: Path = TRACE) -> int:
    """Write `n_lines` lines: copies of `source`, each shifted 200 s with fresh call ids."""
    src = [line.split("|") for line in source.read_text().splitlines()]
    written = 0
    rep = 0
    with path.open("w", encoding="utf-8") as fh:
        while written < n_lines:
            off = rep * 200
            out = []
            for parts in src:
                p = list(parts)
                p[0] = str(int(p[0]) + off)
                if p[1] not in ("MANAGER", "NONE"):
                    a, b = p[1].split(".")
                    p[1] = f"{int(a) + off}.{int(b) + rep * 100}"
                if p[4] == "CONNECT":
                    a, b = p[6].split(".")
                    p[6] = f"{int(a) + off}.{int(b) + rep * 100}"
                out.append("|".join(p))
                written += 1
                if written == n_lines:
                    break
            fh.write("\n".join(out) + "\n")
            rep += 1
    return written


def rules_for(_queue: str) -> QueueRules:
    return QueueRules(servicelevel=20, short_abandon=5, sl_formula="answered")


def summarise(calls: list[QueueCall]) -> dict[str, Any]:
    """The aggregation step of a run; the result is compared between the two parsers."""
    per_queue = aggregate.by_queue(calls, rules_for)
    per_agent = aggregate.by_agent(calls, rules_for)
    per_interval = aggregate.by_interval(calls, rules_for, 30, TZ)
    return {
        "queues": {q: f.as_dict() for q, f in per_queue.items()},
        "agents": {a: f.as_dict() for a, f in per_agent.items()},
        "intervals": len(per_interval),
        "interval_offered": sum(f.offered for f in per_interval.values()),
    }


# --- the anchor: the obvious csv-module parser ------------------------------------


class NaiveParser:
    """One dict per line, one method per event; what one writes first."""

    def __init__(self) -> None:
        self.calls: dict[str, QueueCall] = {}
        self.done: list[QueueCall] = []

    def parse(self, path: Path) -> list[QueueCall]:
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.reader(fh, delimiter="|", quoting=csv.QUOTE_NONE):
                if len(row) < 5:
                    continue
                rec = {
                    "time": float(row[0]),
                    "callid": row[1],
                    "queue": row[2],
                    "agent": row[3],
                    "event": row[4],
                    "data": row[5:],
                }
                handler = getattr(self, "on_" + rec["event"].lower(), None)
                if handler is not None:
                    handler(rec)
        return self.done + list(self.calls.values())

    def on_enterqueue(self, r: dict[str, Any]) -> None:
        c = QueueCall(r["callid"], r["queue"], r["time"], "open", position=int(r["data"][2]))
        self.calls[r["callid"]] = c

    def on_ringnoanswer(self, r: dict[str, Any]) -> None:
        c = self.calls[r["callid"]]
        c.ring_noanswer += 1
        by = c.ring_noanswer_by_agent = c.ring_noanswer_by_agent or {}
        by[r["agent"]] = by.get(r["agent"], 0) + 1

    def on_connect(self, r: dict[str, Any]) -> None:
        c = self.calls[r["callid"]]
        c.outcome, c.hold, c.agent, c.answered_at = (
            "answered",
            int(r["data"][0]),
            r["agent"],
            r["time"],
        )

    def _complete(self, r: dict[str, Any], party: str) -> None:
        c = self.calls.pop(r["callid"])
        c.hold, c.talk, c.agent = int(r["data"][0]), int(r["data"][1]), r["agent"]
        c.ended_at, c.hung_up_by = r["time"], party
        self.done.append(c)

    def on_completecaller(self, r: dict[str, Any]) -> None:
        self._complete(r, "caller")

    def on_completeagent(self, r: dict[str, Any]) -> None:
        self._complete(r, "agent")

    def on_abandon(self, r: dict[str, Any]) -> None:
        c = self.calls.pop(r["callid"])
        c.outcome, c.hold, c.ended_at, c.hung_up_by = (
            "abandoned",
            int(r["data"][2]),
            r["time"],
            "caller",
        )
        self.done.append(c)


# --- runs -----------------------------------------------------------------------------


def timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "queue_log"
        gen_s, n = timed(lambda: generate(path, args.lines))
        print(f"generated {n} lines ({path.stat().st_size / 1e6:.0f} MB) in {gen_s:.1f} s")
        fast, fast_parse, naive = [], [], []
        ours = theirs = None
        for i in range(args.runs):
            p_s, calls = timed(lambda: parse_file(str(path)))
            a_s, ours = timed(lambda calls=calls: summarise(calls))
            fast_parse.append(p_s)
            fast.append(p_s + a_s)
            del calls
            n_s, theirs = timed(lambda: summarise(NaiveParser().parse(path)))
            naive.append(n_s)
            print(
                f"run {i + 1}: callstats {n / (p_s + a_s):,.0f} lines/s "
                f"(parse {n / p_s:,.0f}), csv anchor {n / n_s:,.0f} lines/s"
            )
        if ours != theirs:
            print("MISMATCH: callstats and the anchor disagree", file=sys.stderr)
            return 1
    rate = n / statistics.median(fast)
    parse_rate = n / statistics.median(fast_parse)
    anchor = n / statistics.median(naive)
    calls_n = ours["queues"]["support"]["offered"] if ours else 0
    print(
        f"median: {rate:,.0f} lines/s parse+aggregate ({parse_rate:,.0f} parse only), "
        f"anchor {anchor:,.0f} lines/s, ratio {rate / anchor:.2f}x; "
        f"{calls_n:,} calls; goal {GOAL:,} lines/s: {'met' if rate >= GOAL else 'NOT met'}"
    )
    print(
        json.dumps(
            {
                "bench": "queue_log_import",
                "lines": n,
                "calls": calls_n,
                "runs": args.runs,
                "lines_per_s": round(rate),
                "parse_lines_per_s": round(parse_rate),
                "anchor_csv_lines_per_s": round(anchor),
                "ratio_vs_anchor": round(rate / anchor, 2),
                "goal_lines_per_s": GOAL,
                "goal_met": rate >= GOAL,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
