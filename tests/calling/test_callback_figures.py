"""Callbacks on the wallboard, counted apart from abandons: per queue and local day, with
the monthly report's definitions over the same rows; live hashes replaced whole (never a
double count), rebuilt with the call counters when Redis comes back empty, and shown on
the board's queue rows and totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import redis as redis_lib
from sqlalchemy.orm import Session, sessionmaker

from ami_listener import recovery
from callstats.calling_report import calling_rows
from cti_panel import wallboard as panel_wallboard
from servicedesk import callback_figures
from servicedesk.bus import Bus
from servicedesk.calling_models import CallbackPlace
from servicedesk.config import CentralitaConfig
from servicedesk.db import session_scope
from servicedesk.models import CallbackRequest

TZ = ZoneInfo("America/Mexico_City")
DAY = "2026-03-10"
T = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)  # 11:00 in Mexico City

# (queue, place status, hours after T): yesterday's request and one not yet placed included
SEED = [
    ("erp_es", "waiting", 0),
    ("erp_es", "retry", 1),
    ("erp_es", "offered", 1),
    ("erp_es", "done", 2),
    ("erp_es", "failed", 3),
    ("network_es", "done", 0),
    ("network_es", "done", -24),  # requested yesterday: counts on yesterday
    (None, None, 0),  # no place yet: no queue to count it in
]


def _seed(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as s:
        for n, (queue, status, hours) in enumerate(SEED):
            at = T + timedelta(hours=hours)
            req = CallbackRequest(call_uniqueid=f"u{n}", number="5512345678", requested_at=at)
            s.add(req)
            s.flush()
            if queue is not None:
                s.add(CallbackPlace(callback_id=req.id, queue=queue, place_at=at, status=status))


def test_figures_per_queue_follow_the_report(session_factory: sessionmaker[Session]) -> None:
    _seed(session_factory)
    with session_scope(session_factory) as s:
        figures = callback_figures.recompute(s, DAY, TZ)
        start = datetime(2026, 3, 10, tzinfo=TZ)
        report = {k: v for k, v in calling_rows(s, start, start + timedelta(days=1))}
    assert figures == {
        "erp_es": {"requested": 5, "pending": 3, "done": 1, "failed": 1},
        "network_es": {"requested": 1, "pending": 0, "done": 1, "failed": 0},
    }
    # the report's figures for the day: the same, plus the request not placed yet
    assert report["callbacks_done"] == sum(f["done"] for f in figures.values())
    assert report["callbacks_failed"] == sum(f["failed"] for f in figures.values())
    assert report["callbacks_requested"] == sum(f["requested"] for f in figures.values()) + 1
    assert report["callbacks_pending"] == sum(f["pending"] for f in figures.values()) + 1


def test_live_figures_are_rebuilt_after_redis_comes_back_empty(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    bus = Bus(redis_lib.Redis.from_url(redis_url, decode_responses=True), "cb")
    bus.r.flushdb()
    _seed(session_factory)
    queues = sorted(example_config.queue_definitions())
    with session_scope(session_factory) as s:
        callback_figures.refresh(bus, s, DAY, TZ, queues)
        callback_figures.refresh(bus, s, DAY, TZ, queues)  # again: replaced, not added
    live = {q: callback_figures.read(bus, DAY, q) for q in ("erp_es", "network_es", "email_es")}
    assert live["erp_es"] == {"pending": 3, "done": 1, "failed": 1, "requested": 5}
    assert live["email_es"] == dict.fromkeys(callback_figures.FIELDS, 0)
    assert bus.r.xlen(bus.keys.wallboard) == 2 * len(queues)  # every board is told
    bus.r.flushdb()  # Redis restarted empty
    assert callback_figures.read(bus, DAY, "erp_es")["pending"] == 0
    with session_factory() as s:
        recovery.rebuild_counters(bus, s, DAY, TZ, lambda _q: (20, 5), queues)
    assert {q: callback_figures.read(bus, DAY, q) for q in live} == live
    # no call was abandoned: callbacks never show up among the call counters
    assert all(bus.r.hget(bus.keys.counters(DAY, q), "abandoned") in (None, "0") for q in queues)


def test_the_board_shows_callbacks_per_queue_and_in_total(
    example_config: CentralitaConfig, redis_url: str
) -> None:
    bus = Bus(redis_lib.Redis.from_url(redis_url, decode_responses=True), "cb")
    bus.r.flushdb()
    now = datetime.now(UTC)
    day = panel_wallboard.today(example_config, now)
    callback_figures.publish(
        bus,
        day,
        {
            "erp_es": {"pending": 2, "done": 1, "failed": 0, "requested": 3},
            "network_en": {"pending": 1, "done": 0, "failed": 1, "requested": 2},
        },
        ["erp_es", "network_en"],
    )
    rows = panel_wallboard.queue_rows(example_config, bus, now)
    by_queue = {r["queue"]: r["callbacks"] for r in rows}
    assert by_queue["erp_es"] == {"pending": 2, "done": 1, "failed": 0, "requested": 3}
    assert by_queue["email_es"] == dict.fromkeys(callback_figures.FIELDS, 0)
    groups = panel_wallboard.group_rows(example_config, rows, [], now.timestamp())
    (network,) = [g for g in groups if g["skill"] == by_skill(example_config, "network_en")]
    assert network["callbacks"] == {"pending": 1, "done": 0, "failed": 1, "requested": 2}
    totals = panel_wallboard._group(example_config, rows, [], now.timestamp())
    assert totals["callbacks"] == {"pending": 3, "done": 1, "failed": 1, "requested": 5}
    assert all(r["counters"]["abandoned"] == 0 for r in rows)


def by_skill(cfg: CentralitaConfig, queue: str) -> str:
    return cfg.queue_definitions()[queue].skill
