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
