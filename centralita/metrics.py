"""Prometheus exposition shared by every Centralita process.

The IVR and the listener publish collectors that read their own counters at scrape time
(`ivr/metrics.py`, `ami_listener/metrics.py`), so measuring costs the call path nothing. Under
gunicorn the panel's workers write their samples to `PROMETHEUS_MULTIPROC_DIR`, and its
`/metrics` merges them here.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as _multiprocess


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render_latest() -> tuple[bytes, str]:
    """The exposition text for this process, merged across workers when multiprocess."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
