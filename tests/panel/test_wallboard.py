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
    # general_es has its own thresholds: waiting_crit 8, sl_crit 65 -> 66.7 is only "warn";
    # 5 abandons of 20 offered is 25 % (red from 10 %); one free agent is amber;
    # ASA 20 s is under 75 % of its 30 s target
    assert g["levels"] == {
        "waiting": "crit",
        "longest_wait": "crit",
        "service_level": "warn",
        "abandon_rate": "crit",
        "available": "warn",
        "asa": "ok",
    }
    assert g["abandon_rate"] == 25.0 and g["target_percent"] == 80
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


def _wait(panel: Panel, queue: str, waited_s: float, **state: int) -> None:
    bus = panel.bus
    since = datetime.now(UTC).timestamp() - waited_s
    bus.set_state(
        bus.keys.queue_state(queue),
        {"waiting": 1, "longest_wait_since": str(since), "available_agents": 0, **state},
    )


def test_a_wait_is_judged_against_the_queue_service_level_target(panel: Panel) -> None:
    """A caller at 20 s on a 20 s target is red, though the absolute limits say 30/60 s."""
    client = panel.app.test_client()
    login(client, "sofia")
    network = panel.cfg.queue_definitions()["network_es"].settings
    assert network.servicelevel == 20 and network.wallboard.longest_wait_warn_s == 30
    seen = {}
    for waited in (10, 16, 21):
        _wait(panel, "network_es", waited, logged_in=2, available_agents=2)
        row = next(
            r for r in client.get("/api/wallboard").json["queues"] if r["queue"] == "network_es"
        )
        seen[waited] = row["levels"]["longest_wait"]
        assert row["thresholds"]["wait_warn_s"] == 15 and row["thresholds"]["wait_crit_s"] == 20
    assert seen == {10: "ok", 16: "warn", 21: "crit"}


def test_no_free_agent_with_callers_waiting_is_red(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "sofia")
    _wait(panel, "email_es", 1, logged_in=3, available_agents=0)
    _wait(panel, "erp_es", 1, logged_in=3, available_agents=3)
    rows = {r["queue"]: r for r in client.get("/api/wallboard").json["queues"]}
    assert rows["email_es"]["levels"]["available"] == "crit"
    assert rows["erp_es"]["levels"]["available"] == "ok"


def test_skill_groups_and_totals_add_their_queues(panel: Panel) -> None:
    _seed_live_state(panel)
    bus, now = panel.bus, datetime.now(UTC)
    day = today(panel.cfg, now)
    bus.set_state(
        bus.keys.counters(day, "general_en"),
        {"offered": 5, "answered": 5, "answered_within_sl": 5, "hold_total_s": 25},
    )
    bus.set_state(
        bus.keys.queue_state("general_en"),
        {"waiting": 1, "longest_wait_since": str(now.timestamp() - 200)},
    )
    for login_, st, queues in (
        ("1001", "available", {"general_es": 0, "general_en": 0}),  # serves both: counted once
        ("1002", "oncall", {"network_es": 0}),
    ):
        bus.set_state(
            bus.keys.agent_state(login_),
            {"state": st, "since": now.isoformat(), "queues": json.dumps(queues)},
        )
        bus.r.sadd(bus.keys.agents, login_)
    client = panel.app.test_client()
    login(client, "sofia")
    snap = client.get("/api/wallboard").json
    groups = {g["skill"]: g for g in snap["groups"]}
    assert list(groups) == [s for s in panel.cfg.skills]  # the configuration's order
    gen = groups["general"]
    assert gen["queues"] == ["general_es", "general_en"]
    assert (gen["offered"], gen["answered"], gen["abandoned"]) == (25, 20, 5)
    assert gen["waiting"] == 10 and 199 <= gen["longest_wait_s"] <= 202
    # 1001 (available, both queues) and 1003 (paused, general_es): two agents, one free
    assert (gen["logged_in"], gen["available_agents"]) == (2, 1)
    # the two queues' formulas differ: the group falls back to answered (17 of 20)
    assert gen["sl_formula"] == "answered" and gen["service_level"] == 85.0
    tot = snap["totals"]
    assert tot["offered"] == 29 and tot["answered"] == 24
    assert (tot["logged_in"], tot["available_agents"]) == (3, 1)
    assert tot["target_percent"] == panel.cfg.queue_defaults.wallboard.sl_warn_percent


def _events(chunks, until: str, limit_s: float = 3.0) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """SSE events read until one named `until` (name -> last data)."""
    out: dict[str, str] = {}
    buf = ""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        buf += next(chunks).decode()
        while "\n\n" in buf:
            block, buf = buf.split("\n\n", 1)
            name = next((ln[7:] for ln in block.split("\n") if ln.startswith("event: ")), "")
            data = next((ln[6:] for ln in block.split("\n") if ln.startswith("data: ")), "")
            if name:
                out[name] = data
                if name == until:
                    return out
    raise AssertionError(f"no {until!r} event within {limit_s} s; got {sorted(out)}")


def test_every_connection_starts_with_the_whole_board(panel: Panel) -> None:
    """A board that reconnects is rebuilt from what the first frames carry."""
    _seed_live_state(panel)
    client = panel.app.test_client()
    login(client, "sofia")
    for _ in range(2):
        resp = client.get("/supervisor/stream", buffered=False)
        got = _events(iter(resp.response), "tick")  # type: ignore[arg-type]
        assert {"queues", "groups", "totals", "agents", "incidents", "chart"} <= set(got)
        tick = json.loads(got["tick"])
        assert tick["healthy"] is True and abs(tick["now"] - time.time()) < 2
        agents = json.loads(got["agents"])
        assert agents[0]["login"] == "1003" and "in_state_s" not in agents[0]
        assert abs(agents[0]["since"] - (time.time() - 130)) < 3  # the board ticks it itself
        resp.close()


def test_one_build_serves_every_board(panel: Panel) -> None:
    """Boards share the process's snapshot: more boards, not more builds."""
    from cti_panel.views_supervisor import feed

    client = panel.app.test_client()
    login(client, "sofia")
    streams = [client.get("/supervisor/stream", buffered=False) for _ in range(6)]
    iters = [iter(r.response) for r in streams]  # type: ignore[arg-type]
    for it in iters:
        _events(it, "tick")
    with panel.app.app_context():
        f = feed()
    before = f.builds
    time.sleep(1.0)
    builds = f.builds - before
    # polled every 0.5 s: about two builds a second in all, whatever the number of boards
    assert 1 <= builds <= 4
    for r in streams:
        r.close()


def test_chart_counts_today_per_local_15_minutes(panel: Panel) -> None:
    from zoneinfo import ZoneInfo

    from cti_panel.wallboard_chart import intervals
    from servicedesk.db import make_engine, make_sessionmaker, session_scope
    from servicedesk.models import Call

    tz = ZoneInfo(panel.cfg.service.timezone)
    now = datetime(2026, 3, 9, 10, 40, tzinfo=tz)
    calls = [  # (entered local time, queue, outcome, hold)
        ((9, 1), "network_es", "answered", 5),
        ((9, 14), "network_es", "answered", 25),  # over network_es's 20 s
        ((9, 16), "network_es", "abandoned", 8),
        ((10, 31), "email_es", "answered", 3),
        ((23, 50), "email_es", "answered", 3),  # after `now`: not counted
    ]
    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        for i, ((h, m), q, outcome, hold) in enumerate(calls):
            entered = datetime(2026, 3, 9, h, m, tzinfo=tz)
            s.add(
                Call(
                    pbx_id="pbx1",
                    linkedid=f"l{i}",
                    uniqueid=f"u{i}",
                    queue=q,
                    started_at=entered - timedelta(seconds=30),
                    entered_queue_at=entered,
                    hold_seconds=hold,
                    talk_seconds=60 if outcome == "answered" else None,
                    outcome=outcome,
                )
            )
        s.add(  # the evening before, local time: not today
            Call(
                pbx_id="pbx1",
                linkedid="old",
                uniqueid="old",
                queue="network_es",
                started_at=datetime(2026, 3, 8, 23, 59, tzinfo=tz),
                entered_queue_at=datetime(2026, 3, 8, 23, 59, 30, tzinfo=tz),
                hold_seconds=1,
                outcome="answered",
            )
        )
    with make_sessionmaker(engine)() as s:
        rows = intervals(panel.cfg, s, now)
    engine.dispose()
    assert [(r["start"], r["offered"], r["answered"], r["service_level"]) for r in rows] == [
        ("09:00", 2, 2, 50.0),
        ("09:15", 1, 0, None),
        ("10:30", 1, 1, 100.0),
    ]


def test_feed_survives_failing_builds_and_reports_them(panel: Panel, caplog) -> None:  # type: ignore[no-untyped-def]
    """A build that fails is logged with its cause, the feed says it is unhealthy, and it
    carries on by itself once the cause is gone."""
    from cti_panel.wallboard_feed import WallboardFeed

    calls = {"n": 0}

    def build() -> dict[str, object]:
        calls["n"] += 1
        if calls["n"] <= 2:
            raise RuntimeError("redis said WRONGTYPE")
        return {"now": time.time(), "queues": [calls["n"]], "agents": []}

    feed = WallboardFeed(build, panel.bus, poll_s=0.1, retry_s=0.1, idle_s=0.5)
    feed.subscribe()
    seen: dict[str, int] = {}
    parts, _built, healthy = feed.wait(seen, 3.0)
    assert healthy is True and dict(parts)["agents"] == "[]"
    assert feed.failures == 2 and "redis said WRONGTYPE" in caplog.text
    # nothing new: a quiet wait returns nothing but the feed's health
    parts, _built, healthy = feed.wait({**seen, "queues": 10**9}, 0.3)
    assert parts == [] and healthy
    feed.unsubscribe()
    deadline = time.monotonic() + 3
    while feed._thread is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert feed._thread is None  # no board: the thread has stopped


def test_incident_figures_keep_their_last_value_when_the_database_fails(
    panel: Panel, caplog
) -> None:  # type: ignore[no-untyped-def]
    from cti_panel.wallboard import IncidentRiskCache
    from servicedesk import incidents as core
    from servicedesk.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(panel.db_url)
    now = datetime.now(UTC)
    with session_scope(make_sessionmaker(engine)) as s:
        core.create_incident(
            s, panel.cfg, title="x", actor="system", priority="high", now=now - timedelta(days=10)
        )
    cache = IncidentRiskCache(ttl=0)
    good = cache.get(panel.cfg, make_sessionmaker(engine), now)
    assert good["high"]["breached"] == 1

    def broken():  # type: ignore[no-untyped-def]
        raise OSError("database unreachable")

    assert cache.get(panel.cfg, broken, now) == good  # type: ignore[arg-type]
    assert "reading open incidents failed" in caplog.text
    engine.dispose()
