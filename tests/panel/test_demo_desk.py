"""The demo looks like a real desk, and says so when the port asked for is taken."""

from __future__ import annotations

import argparse
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cti_panel.demo.data import demo_config_text, seed
from cti_panel.demo.desk import opened_at
from cti_panel.demo.runner import claim_port, run_demo
from servicedesk.config import load_config
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.incidents import sla_status
from servicedesk.models import Base, Incident
from servicedesk.sla import calendar_for


def _states(tmp_path: Path, now: datetime) -> tuple[Counter[str], Counter[str]]:
    path = tmp_path / "demo.toml"
    path.write_text(demo_config_text(ami_port=15038, fastagi_port=14573), encoding="utf-8")
    cfg = load_config(path)
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    Base.metadata.create_all(engine)
    with session_scope(make_sessionmaker(engine)) as s:
        seed(s, cfg)
    sla: Counter[str] = Counter()
    status: Counter[str] = Counter()
    with make_sessionmaker(engine)() as s:
        for inc in s.query(Incident):
            status[inc.status] += 1
            if inc.status not in ("resolved", "closed"):
                sla[sla_status(cfg, inc, now).worst] += 1
    engine.dispose()
    return sla, status


def test_seeded_backlog_is_a_mid_morning_desk(tmp_path: Path) -> None:
    sla, status = _states(tmp_path, datetime.now(UTC))
    open_n = sum(sla.values())
    assert sla["on_track"] >= 0.75 * open_n  # most on track
    assert 3 <= sla["at_risk"] <= 6  # a few at risk
    assert 1 <= sla["breached"] <= 2  # one or two breached
    assert {"new", "assigned", "in_progress", "escalated", "resolved", "closed"} <= set(status)


@pytest.mark.parametrize(
    ("priority", "share"), [("high", 0.5), ("medium", 0.9), ("low", 1.2), ("critical", 0.3)]
)
def test_ticket_age_is_measured_in_business_time(priority: str, share: float) -> None:
    """A Sunday-night demo still gets tickets that used `share` of their target."""
    cfg = load_config(Path(__file__).resolve().parents[2] / "centralita.example.toml")
    now = datetime(2026, 3, 8, 23, 0, tzinfo=ZoneInfo("America/Mexico_City"))  # a Sunday
    target = cfg.sla.priorities[priority]  # type: ignore[index]
    created = opened_at(cfg, priority, share, now)
    used = calendar_for(cfg, target.calendar).elapsed(created, now)  # type: ignore[arg-type]
    want = timedelta(minutes=target.resolution_minutes * share)  # type: ignore[operator]
    assert abs(used - want) < timedelta(seconds=1)


def test_a_busy_port_is_reported_not_replaced(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"port {port} on 127.0.0.1 is already in use"):
            claim_port(port)
        args = argparse.Namespace(
            port=port,
            dir=str(tmp_path),
            calls_per_minute=None,
            duration=1,
            embedded_redis=True,
        )
        assert run_demo(args) == 1
    out = capsys.readouterr().out
    assert f"port {port} on 127.0.0.1 is already in use" in out and "--port 0" in out
    assert "open http" not in out  # nothing started on another port
    assert claim_port(0) > 0


def test_demo_opens_on_a_morning_already_at_work(tmp_path: Path, redis_url: str) -> None:
    """History of finished calls, and today's counters rebuilt from it before the listener."""
    import redis as redis_lib

    from cti_panel.demo.history import rebuild_counters, seed_call_history
    from cti_panel.wallboard import service_level, today
    from cti_panel.wallboard_chart import intervals
    from servicedesk.bus import COUNTER_FIELDS
    from servicedesk.models import Call

    path = tmp_path / "demo.toml"
    path.write_text(demo_config_text(ami_port=15038, fastagi_port=14573), encoding="utf-8")
    cfg = load_config(path)
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    Base.metadata.create_all(engine)
    now = datetime(2026, 3, 10, 11, 0, tzinfo=ZoneInfo("America/Mexico_City"))  # mid-morning
    with session_scope(make_sessionmaker(engine)) as s:
        seed_call_history(s, cfg, ["+525512345678"], now)
        rebuild_counters(s, cfg, redis_url, now)
    with make_sessionmaker(engine)() as s:
        calls = s.query(Call).all()
        chart = intervals(cfg, s, now)
    engine.dispose()
    assert calls and all(c.ended_at <= now for c in calls)  # finished: live calls are pbxsim's
    r = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    day = today(cfg, now)
    offered = 0
    for q in cfg.queue_definitions():
        raw = r.hgetall(f"centralita:counters:{day}:{q}")
        c = {k: int(raw.get(k, 0)) for k in COUNTER_FIELDS}
        mine = [x for x in calls if x.queue == q]
        assert c["offered"] == len(mine)
        assert c["answered"] == sum(x.outcome == "answered" for x in mine)
        offered += c["offered"]
        if q == "general_es":
            assert 70 <= (service_level("offered_minus_short", c) or 0) <= 99
    assert offered == len(calls) and sum(i["offered"] for i in chart) == len(calls)
    assert r.xlen("centralita:events:wallboard") >= 1  # a running panel hears about it
    r.close()
