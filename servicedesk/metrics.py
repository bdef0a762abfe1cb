"""In-process counters of the faults a process survived (one registry per process).

Deliberately tiny: a name → int map behind a lock, readable as a snapshot, so a
later Prometheus exporter only has to walk `snapshot()`. Names are dotted:
`listener.rows_quarantined`, `task.flusher.crashes`, `ivr.redis_degraded`.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_counters: dict[str, int] = {}


def incr(name: str, amount: int = 1) -> None:
    with _lock:
        _counters[name] = _counters.get(name, 0) + amount


def get(name: str) -> int:
    with _lock:
        return _counters.get(name, 0)


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(_counters)


def reset() -> None:
    """For tests: start from zero."""
    with _lock:
        _counters.clear()
