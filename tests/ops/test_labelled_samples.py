"""Command latencies kept for Prometheus stay bounded when nobody scrapes, and none is lost."""

from __future__ import annotations

import threading

import pytest

from centralita.metrics import LabelledSamples
from ivr.metrics import COMMAND_BUCKETS, IvrCollector, command_samples


def test_unscraped_samples_are_folded_not_kept() -> None:
    samples = LabelledSamples((0.1, 1.0), fold_at=100)
    for i in range(10_000):
        samples.add("STREAM FILE" if i % 2 else "GET DATA", 0.05 if i % 4 < 2 else 5.0)
        assert samples.pending() < 100
    hists = dict(samples.histograms())
    assert set(hists) == {"GET DATA", "STREAM FILE"}
    # each label: half its samples at 0.05 s (first bucket), half at 5 s (+Inf)
    for hist in hists.values():
        assert hist.counts == [2_500, 0, 2_500]
        assert hist.total == pytest.approx(2_500 * 0.05 + 2_500 * 5.0)
    assert samples.pending() == 0


def test_scrapes_racing_the_loop_count_every_sample_once() -> None:
    samples = LabelledSamples((1.0,), fold_at=64)
    stop = threading.Event()

    def scraper() -> None:
        while not stop.is_set():
            samples.histograms()

    threads = [threading.Thread(target=scraper) for _ in range(2)]
    for t in threads:
        t.start()
    for _ in range(50_000):
        samples.add("SET VARIABLE", 0.001)
    stop.set()
    for t in threads:
        t.join()
    ((label, hist),) = samples.histograms()
    assert label == "SET VARIABLE"
    assert sum(hist.counts) == 50_000


def test_ivr_collector_exports_the_folded_histogram() -> None:
    class Server:
        active, completed, refused, busy = 0, 3, 0, 0
        command_latencies = command_samples()

    Server.command_latencies.add("ANSWER", 0.002)
    Server.command_latencies.add("ANSWER", 30.0)
    families = {f.name: f for f in IvrCollector(Server()).collect()}
    hist = families["centralita_agi_command_seconds"]
    buckets = {s.labels["le"]: s.value for s in hist.samples if s.name.endswith("_bucket")}
    assert buckets["0.001"] == 0 and buckets["0.005"] == 1
    assert buckets[repr(COMMAND_BUCKETS[-1])] == 2 and buckets["+Inf"] == 2
