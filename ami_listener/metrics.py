"""The listener's Prometheus view, read from its own counters at scrape time.

The hot path (parse, handle, pop) keeps plain integer counters it already needs; this
collector turns them into metric families only when Prometheus asks, so measuring adds
nothing to a pop's latency.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from ami_listener.ingest import DB_BUCKETS
from centralita.metrics import FoldedHistogram

LINK_STATES = ("idle", "connecting", "up", "down", "dead", "auth_refused", "lost", "stopped")


def _num(obj: Any, name: str) -> float:
    value = getattr(obj, name, 0)
    return float(value) if isinstance(value, int | float) else 0.0


class ListenerCollector(Collector):
    """Counters of one `ListenerService` (one PBX)."""

    def __init__(self, service: Any) -> None:
        self.service = service

    def collect(self) -> Iterator[Any]:
        svc = self.service
        pbx = str(svc.pbx_id)
        ingest, link, live = svc.ingest, svc.link, svc.live

        def counter(name: str, doc: str, value: float, **labels: str) -> CounterMetricFamily:
            fam = CounterMetricFamily(name, doc, labels=["pbx", *labels])
            fam.add_metric([pbx, *labels.values()], value)
            return fam

        yield counter("centralita_ami_events", "AMI events handled", _num(ingest, "events"))
        dropped = CounterMetricFamily(
            "centralita_ami_events_dropped",
            "AMI events not handled, by reason",
            labels=["pbx", "reason"],
        )
        dropped.add_metric([pbx, "handler_error"], _num(ingest, "handler_errors"))
        dropped.add_metric([pbx, "callback_error"], _num(link, "callback_errors"))
        dropped.add_metric([pbx, "oversized_frame"], _num(ingest.parser, "oversized"))
        yield dropped
        yield counter(
            "centralita_ami_bytes", "bytes read from the AMI link", _num(link, "bytes_in")
        )
        yield counter("centralita_ami_logins", "AMI logins (1 + reconnects)", _num(link, "logins"))
        state = GaugeMetricFamily(
            "centralita_ami_link_up", "1 for the AMI link's current state", labels=["pbx", "state"]
        )
        for name in LINK_STATES:
            state.add_metric([pbx, name], 1.0 if link.status == name else 0.0)
        yield state
        calls = GaugeMetricFamily(
            "centralita_calls_in_progress", "caller calls being followed", labels=["pbx"]
        )
        calls.add_metric([pbx], float(len(getattr(ingest.calls, "calls", {}) or {})))
        yield calls
        waiting = GaugeMetricFamily(
            "centralita_queue_waiting_calls",
            "callers waiting in each queue now",
            labels=["pbx", "queue"],
        )
        for queue, entries in sorted((getattr(ingest.calls, "waiting", {}) or {}).items()):
            waiting.add_metric([pbx, queue], float(len(entries)))
        yield waiting
        samples = getattr(ingest, "db_write_seconds", None)
        db = HistogramMetricFamily(
            "centralita_db_batch_seconds", "time to write one batch of records", labels=["pbx"]
        )
        hist = dict(samples.histograms()).get("") if samples is not None else None
        hist = hist or FoldedHistogram(DB_BUCKETS)
        db.add_metric([pbx], hist.buckets(), sum_value=hist.total)
        yield db
        yield counter("centralita_resyncs", "full resyncs after a login", _num(svc, "resyncs"))
        yield counter(
            "centralita_calls_reconciled", "calls completed from queue_log", _num(svc, "reconciled")
        )
        yield counter(
            "centralita_commands_done", "panel commands executed", _num(svc, "commands_done")
        )
        if live is not None:
            yield counter(
                "centralita_pops_published", "screen-pops sent to Redis", _num(live, "pops_sent")
            )
            yield counter(
                "centralita_redis_errors",
                "Redis sends that failed",
                _num(live, "failures"),
            )
            yield counter(
                "centralita_live_updates_dropped",
                "live updates dropped (outbox full)",
                _num(live, "dropped"),
            )


def readiness(service: Any) -> tuple[bool, dict[str, object]]:
    """Ready while the AMI link is up: only then are calls being recorded as they happen."""
    link = service.link
    return link.status == "up", {
        "pbx": service.pbx_id,
        "ami": link.status,
        "detail": link.status_detail,
        "calls_in_progress": len(getattr(service.ingest.calls, "calls", {}) or {}),
    }
