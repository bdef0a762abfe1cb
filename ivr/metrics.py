"""The IVR's Prometheus view, read from the FastAGI server's counters at scrape time.

Per-command latencies are appended by the session (a deque append, far cheaper than a
histogram observation on the event loop) and folded into cumulative histogram buckets when
Prometheus asks or every few thousand commands (`LabelledSamples`), so an IVR nobody
scrapes keeps a bounded heap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from centralita.metrics import LabelledSamples

# Media commands wait for the whole prompt, so the buckets reach well past a minute.
COMMAND_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0)


def command_samples() -> LabelledSamples:
    """Where the FastAGI sessions record each command's reply time."""
    return LabelledSamples(COMMAND_BUCKETS)


class IvrCollector(Collector):
    def __init__(self, server: Any) -> None:
        self.server = server

    def collect(self) -> Iterator[Any]:
        srv = self.server
        active = GaugeMetricFamily("centralita_agi_sessions_active", "FastAGI sessions open now")
        active.add_metric([], float(srv.active))
        yield active
        sessions = CounterMetricFamily(
            "centralita_agi_sessions", "FastAGI sessions by how they ended", labels=["outcome"]
        )
        sessions.add_metric(["completed"], float(srv.completed))
        sessions.add_metric(["refused"], float(srv.refused))
        sessions.add_metric(["busy"], float(srv.busy))
        yield sessions
        fam = HistogramMetricFamily(
            "centralita_agi_command_seconds",
            "from an AGI command sent to its reply (media commands include the prompt)",
            labels=["command"],
        )
        samples = getattr(srv, "command_latencies", None)
        if isinstance(samples, LabelledSamples):
            for verb, hist in samples.histograms():
                fam.add_metric([verb], hist.buckets(), sum_value=hist.total)
        yield fam


def readiness(server: Any) -> tuple[bool, dict[str, object]]:
    """Ready while listening and not shutting down."""
    listening = getattr(server, "_server", None) is not None and not server.closing
    return listening, {
        "sessions_active": server.active,
        "max_sessions": server.max_sessions,
        "closing": server.closing,
    }
