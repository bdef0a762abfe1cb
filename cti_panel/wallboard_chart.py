"""Today's service level and offered calls per 15 minutes, for the wallboard's chart.

Read from the call records (the durable source, `callstats` definitions), not
from Redis: the live counters are per day only. The query covers the local day
so far and is cached for `ttl` seconds; the board's other figures stay live.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from callstats import aggregate
from callstats.definitions import Figures, total
from callstats.records import load_calls
from servicedesk.config import CentralitaConfig

log = logging.getLogger(__name__)
MINUTES = 15


def day_start(cfg: CentralitaConfig, now: datetime) -> datetime:
    """Local midnight of `now`'s day in the service time zone."""
    local = now.astimezone(ZoneInfo(cfg.service.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def intervals(cfg: CentralitaConfig, session: Session, now: datetime) -> list[dict[str, Any]]:
    """Every 15-minute interval of today up to `now` that had calls: start, offered, SL %."""
    start = day_start(cfg, now)
    calls = load_calls(session, start, now + timedelta(seconds=1), pbx_id=None)
    per = aggregate.by_interval(
        calls, aggregate.rules_from_config(cfg), MINUTES, ZoneInfo(cfg.service.timezone)
    )
    by_start: dict[datetime, list[Figures]] = {}
    for (_queue, begin), fig in per.items():
        by_start.setdefault(begin, []).append(fig)
    out = []
    for begin in sorted(by_start, key=lambda b: b.timestamp()):
        f = total(by_start[begin])
        sl = f.service_level
        out.append(
            {
                "start": begin.strftime("%H:%M"),
                "epoch": begin.timestamp(),
                "offered": f.offered,
                "answered": f.answered,
                "service_level": None if sl is None else round(sl, 1),
            }
        )
    return out


class IntervalChart:
    """The chart's data, rebuilt at most every `ttl` seconds (a failed read keeps the last)."""

    def __init__(self, ttl: float = 15.0) -> None:
        self.ttl = ttl
        self._at = 0.0
        self._value: dict[str, Any] = {"minutes": MINUTES, "target": None, "intervals": []}

    def get(
        self, cfg: CentralitaConfig, sessions: sessionmaker[Session], now: datetime | None = None
    ) -> dict[str, Any]:
        if self._at and time.monotonic() - self._at < self.ttl:
            return self._value
        now = now or datetime.now(UTC)
        try:
            with sessions() as s:
                rows = intervals(cfg, s, now)
        except Exception:  # the chart must never take the live board down with it
            log.exception("wallboard chart: reading today's calls failed")
            self._at = time.monotonic()
            return self._value
        self._value = {
            "minutes": MINUTES,
            "target": cfg.queue_defaults.wallboard.sl_warn_percent,
            "intervals": rows,
        }
        self._at = time.monotonic()
        return self._value
