"""Wallboard figures from the listener's Redis state, and its live feed."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

from cti_panel.wallboard import service_level, today
from tests.panel.conftest import Panel, login


def _seed_live_state(panel: Panel) -> None:
    bus, now = panel.bus, datetime.now(UTC)
    day = today(panel.cfg, now)
    bus.set_state(
        bus.keys.counters(day, "general_es"),
        {
            "offered": 20,
            "answered": 15,
            "abandoned": 5,
            "short_abandoned": 2,
            "answered_within_sl": 12,
            "hold_total_s": 300,
            "talk_total_s": 2700,
            "talk_count": 15,
        },
    )
    bus.set_state(
        bus.keys.counters(day, "network_es"),
        {
            "offered": 4,
            "answered": 4,
            "answered_within_sl": 2,
            "hold_total_s": 40,
            "talk_total_s": 400,
            "talk_count": 2,  # two of the four answered calls are still talking
        },
    )
    bus.set_state(
        bus.keys.queue_state("general_es"),
        {
            "waiting": 9,
            "longest_wait_since": str(now.timestamp() - 75),
            "available_agents": 1,
            "logged_in": 3,
        },
    )
    bus.set_state(
        bus.keys.agent_state("1003"),
        {
            "login": "1003",
            "name": "Carla Méndez",
            "state": "paused",
            "pause_reason": "lunch",
            "since": (now - timedelta(seconds=130)).isoformat(),
            "queues": json.dumps({"general_es": 0}),
        },
    )
    bus.r.sadd(bus.keys.agents, "1003")


def test_service_level_follows_each_formula() -> None:
    c = {"offered": 20, "answered": 15, "short_abandoned": 2, "answered_within_sl": 12}
    assert service_level("answered", c) == 80.0
    assert service_level("offered", c) == 60.0
    assert service_level("offered_minus_short", c) == round(1200 / 18, 1)
    assert service_level("answered", {}) is None


def test_snapshot_figures_and_threshold_levels(panel: Panel) -> None:
    _seed_live_state(panel)
    client = panel.app.test_client()
    login(client, "sofia")
    snap = client.get("/api/wallboard").json
    q = {row["queue"]: row for row in snap["queues"]}
    assert set(q) == set(panel.cfg.queue_definitions())
    g = q["general_es"]
    assert (g["offered"], g["answered"], g["abandoned"], g["short_abandoned"]) == (20, 15, 5, 2)
    assert g["sl_formula"] == "offered_minus_short" and g["service_level"] == 66.7
    assert g["asa_s"] == 20.0 and g["aht_s"] == 180.0
    # AHT counts only calls whose talk has ended, not calls still in progress
    assert q["network_es"]["aht_s"] == 200.0
    assert g["waiting"] == 9 and 74 <= g["longest_wait_s"] <= 77
    # general_es has its own thresholds: waiting_crit 8, sl_crit 65 -> 66.7 is only "warn"
    assert g["levels"] == {"waiting": "crit", "longest_wait": "crit", "service_level": "warn"}
    n = q["network_es"]
    assert n["service_level"] == 50.0 and n["levels"]["service_level"] == "crit"
    assert n["colors"]["crit"] == panel.cfg.queue_defaults.wallboard.color_crit
    agent = snap["agents"][0]
    assert (agent["login"], agent["state"], agent["pause_reason"]) == ("1003", "paused", "lunch")
    assert 129 <= agent["in_state_s"] <= 132 and agent["queues"] == ["general_es"]
    assert set(snap["incidents"]) == set(panel.cfg.sla.priorities)


def test_stream_pushes_a_fresh_snapshot_within_a_second_of_a_notice(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "sofia")
    day = today(panel.cfg, datetime.now(UTC))
    resp = client.get("/supervisor/stream", buffered=False)
    chunks = iter(resp.response)  # type: ignore[arg-type]
    first = ""
    while "data:" not in first:
        first = next(chunks).decode()
    assert '"answered":0' in first

    def bump() -> None:
        time.sleep(0.2)
        panel.bus.r.hincrby(panel.bus.keys.counters(day, "network_es"), "answered", 1)
        panel.bus.publish(panel.bus.keys.wallboard, {"queue": "network_es"})

    t = threading.Thread(target=bump)
    started = time.monotonic()
    t.start()
    while True:
        chunk = next(chunks).decode()
        if '"queue":"network_es"' in chunk and '"answered":1' in chunk:
            break
    assert (
        time.monotonic() - started < 0.9
    )  # the notice wakes the feed; the 1 s tick alone would not
    t.join()
    resp.close()


def test_incidents_at_risk_and_breached_by_priority(panel: Panel) -> None:
    from servicedesk import incidents as core
    from servicedesk.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(panel.db_url)
    now = datetime.now(UTC)
    with session_scope(make_sessionmaker(engine)) as s:
        for days in (10, 10, 0):  # two long overdue, one fresh
            core.create_incident(
                s,
                panel.cfg,
                title="x",
                actor="system",
                priority="high",
                now=now - timedelta(days=days),
            )
        done = core.create_incident(
            s,
            panel.cfg,
            title="y",
            actor="system",
            priority="high",
            now=now - timedelta(days=10),
        )
        core.resolve(s, done, actor="1001")
        core.verify(s, done, accepted=True, actor="1001")
    engine.dispose()
    client = panel.app.test_client()
    login(client, "sofia")
    inc = client.get("/api/wallboard").json["incidents"]
    assert (
        inc["high"]["breached"] == 2 and inc["high"]["at_risk"] == 0
    )  # the closed one no longer counts
    assert sum(v["breached"] for v in inc.values()) == 2
