"""What Redis holds, by key family: the soak's answer to "is Redis growing, and with what".

Redis's RSS includes its allocator's slack; `used_memory` is the data. A family is a
key with its variable parts (agent logins, queues, days, call ids) replaced by `*`, so
200 agents' pop streams read as one line with their count, bytes and entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# the fixed words of our key names (servicedesk.bus.Keys); anything else past the
# second segment is a variable part
_LITERAL = {"agent", "calls", "wallboard", "waiting", "seen", "last_pop", "results"}


@dataclass(frozen=True)
class Family:
    name: str
    keys: int
    bytes: int
    entries: int  # stream entries, hash fields, set/list members (1 for a string)


def family_of(key: str) -> str:
    """`centralita:pops:agent:2001` -> `centralita:pops:agent:*`."""
    parts = key.split(":")
    return ":".join(p if i < 2 or p in _LITERAL else "*" for i, p in enumerate(parts))


def used_mb(client: Any) -> float:
    """Redis's data, in MB (not its RSS)."""
    return int(client.info("memory")["used_memory"]) / 1e6


def _entries(client: Any, key: str, kind: str) -> int:
    size = {
        "stream": client.xlen,
        "hash": client.hlen,
        "set": client.scard,
        "zset": client.zcard,
        "list": client.llen,
    }.get(kind)
    return int(size(key)) if size else 1


def by_family(client: Any) -> list[Family]:
    """Every key, summed by family, largest first (MEMORY USAGE samples big keys)."""
    sums: dict[str, list[int]] = {}
    for raw in client.scan_iter(count=1000):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        kind = client.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else str(kind)
        s = sums.setdefault(family_of(key), [0, 0, 0])
        s[0] += 1
        s[1] += int(client.memory_usage(key) or 0)
        s[2] += _entries(client, key, kind)
    return sorted(
        (Family(name, k, b, e) for name, (k, b, e) in sums.items()),
        key=lambda f: -f.bytes,
    )


@dataclass(frozen=True)
class Bound:
    """What keeps a family from growing forever, by design."""

    kind: str  # "per key" (entries capped per key), "total" (entries capped), "per call"
    cap: int  # entries (per key, or in all); for "per call": seconds kept
    words: str


def bounds() -> dict[str, Bound]:
    """Our families' bounds, by name without the prefix (servicedesk.bus, ami_listener.live)."""
    from ami_listener.live import SEEN_TTL_S
    from servicedesk.bus import AGENT_POPS_KEPT, STREAM_MAXLEN

    stream = Bound("total", STREAM_MAXLEN + 100, f"~{STREAM_MAXLEN:,} entries ('~' trim)")
    return {
        "pops:agent:*": Bound("per key", AGENT_POPS_KEPT, f"{AGENT_POPS_KEPT} pops per agent"),
        "events:calls": stream,
        "events:wallboard": stream,
        "counters:*:*:seen": Bound(
            "per call", SEEN_TTL_S, f"a mark per call, kept {SEEN_TTL_S // 86400} days"
        ),
    }


def judge(
    start: Family | None, end: Family, calls: int, flat_bytes_per_call: float
) -> tuple[bool, str]:
    """(fine, words) for one family over a window in which `calls` calls were handled.

    Fine: a capped family still below its cap (filling); the per-call marks at most
    `flat_bytes_per_call` a mark (kept their days by design: what a replay needs not
    to count a call twice; judged per mark, as a hash's growth steps when it rehashes);
    any other family that grew by less than that per call."""
    grown = end.bytes - (start.bytes if start else 0)
    per_call = grown / calls if calls else float("inf")
    short = end.name.split(":", 1)[1] if ":" in end.name else end.name
    bound = bounds().get(short)
    growth = f"{grown / 1e6:+.2f} MB ({per_call:+.0f} B/call)"
    if bound is not None and bound.kind == "per call":
        per_mark = end.bytes / end.entries if end.entries else 0.0
        fine = per_mark <= flat_bytes_per_call
        words = f"{growth}: {bound.words}, {per_mark:.0f} B a mark"
        return fine, words + ("" if fine else ", LARGER than planned")
    if bound is not None:
        cap = bound.cap * (end.keys if bound.kind == "per key" else 1)
        if end.entries < cap:
            return True, f"{growth}: filling, {end.entries:,} of {cap:,} entries ({bound.words})"
        if per_call > flat_bytes_per_call:
            return False, f"{growth}: GROWING at its cap of {cap:,} entries"
        return True, f"{growth}: flat at its cap of {cap:,} entries"
    if per_call <= flat_bytes_per_call:
        return True, f"{growth}: flat"
    return False, f"{growth}: GROWING, no bound"
