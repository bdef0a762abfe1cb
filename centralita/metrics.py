"""Prometheus exposition shared by every Centralita process.

The IVR and the listener publish collectors that read their own counters at scrape time
(`ivr/metrics.py`, `ami_listener/metrics.py`), so measuring costs the call path nothing. Under
gunicorn the panel's workers write their samples to `PROMETHEUS_MULTIPROC_DIR`, and its
`/metrics` merges them here.
"""

from __future__ import annotations

import os
import re
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as _multiprocess
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from servicedesk import metrics as fault_counters


class FoldedHistogram:
    """Cumulative histogram buckets filled at scrape time from raw samples.

    The hot path only appends a sample (far cheaper than a Prometheus observation on the
    event loop); the samples are folded in here when scraped or when enough have gathered.
    """

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.bounds = buckets
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0

    def add(self, seconds: float) -> None:
        for i, bound in enumerate(self.bounds):
            if seconds <= bound:
                self.counts[i] += 1
                break
        else:
            self.counts[-1] += 1
        self.total += seconds

    def buckets(self) -> list[tuple[str, float]]:
        out, running = [], 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(running)))
        return out


class LabelledSamples:
    """Raw `(label, seconds)` samples from an event loop, folded into one histogram per label.

    `add` is a deque append (atomic, no lock) on the hot path; every `fold_at` samples the
    adding thread folds them itself, so memory stays bounded whether or not anybody scrapes
    (an IVR nobody scraped grew by every AGI command it ever sent). A scrape folds the rest.
    256, not thousands: a fold of 256 takes ~0.1 ms, and the unfolded tail stays ~25 kB;
    at 4,096 the listener's five database writes a second filled a 360 kB tail over 14
    minutes, a climb the soak could not tell from a leak.
    """

    def __init__(self, buckets: tuple[float, ...], fold_at: int = 256) -> None:
        self.bounds = buckets
        self.fold_at = fold_at
        self._raw: deque[tuple[str, float]] = deque()
        self._hists: dict[str, FoldedHistogram] = {}
        self._lock = threading.Lock()  # one folder at a time: counts are not atomic

    def add(self, label: str, seconds: float) -> None:
        self._raw.append((label, seconds))
        if len(self._raw) >= self.fold_at:
            self.fold()

    def fold(self) -> None:
        with self._lock:
            raw, hists = self._raw, self._hists
            while raw:
                label, seconds = raw.popleft()
                hist = hists.get(label)
                if hist is None:
                    hist = hists[label] = FoldedHistogram(self.bounds)
                hist.add(seconds)

    def histograms(self) -> list[tuple[str, FoldedHistogram]]:
        """Every label's histogram, sorted, with all samples so far folded in."""
        self.fold()
        with self._lock:
            return sorted(self._hists.items())

    def pending(self) -> int:
        """Samples not folded yet (at most `fold_at`)."""
        return len(self._raw)


# The fault counters every process keeps (servicedesk.metrics, dotted names) under the
# names a dashboard expects; any other counter is exported as centralita_events_total{name}.
_NAMED = {
    "listener.rows_quarantined": "centralita_quarantined_rows",
    "listener.db_write_failures": "centralita_db_batch_failures",
    "ivr.redis_degraded": "centralita_ivr_redis_degraded",
    "listener.redis_rebuilds": "centralita_redis_rebuilds",
}
_TASK = re.compile(r"^task\.(.+)\.crashes$")


class FaultCountersCollector(Collector):
    """Exports `servicedesk.metrics` (quarantined rows, crashes, degraded paths...)."""

    def collect(self) -> Iterator[Any]:
        snap = fault_counters.snapshot()
        named = {
            metric: CounterMetricFamily(metric, f"from {key}") for key, metric in _NAMED.items()
        }
        tasks = CounterMetricFamily(
            "centralita_task_crashes", "supervised task crashes, restarted", labels=["task"]
        )
        other = CounterMetricFamily(
            "centralita_events", "other counted faults and recoveries", labels=["name"]
        )
        for key, value in sorted(snap.items()):
            if key in _NAMED:
                named[_NAMED[key]].add_metric([], float(value))
            elif m := _TASK.match(key):
                tasks.add_metric([m.group(1)], float(value))
            else:
                other.add_metric([key], float(value))
        for key, metric in _NAMED.items():
            if key not in snap:
                named[metric].add_metric([], 0.0)
        yield from named.values()
        yield tasks
        yield other


_registered = False


def register_fault_counters() -> None:
    """Once per process, into the default registry."""
    global _registered
    if not _registered:
        from prometheus_client import REGISTRY

        REGISTRY.register(FaultCountersCollector())
        _registered = True


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render_latest() -> tuple[bytes, str]:
    """The exposition text for this process, merged across workers when multiprocess."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        registry.register(FaultCountersCollector())  # this worker's own fault counters
        return generate_latest(registry), CONTENT_TYPE_LATEST
    register_fault_counters()
    return generate_latest(), CONTENT_TYPE_LATEST
