"""The wallboard in real Chromium: a wall at 1920 px, a laptop at 800 px, live and accessible.

Screenshots of every width are written to tests/browser/artifacts/ (git-ignored) for a
person to look at; axe-core (vendored, MPL-2.0) must find nothing serious or critical.
"""

from __future__ import annotations

import json
import random
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from cti_panel.demo.desk import seed_incidents
from cti_panel.users import ensure_user
from cti_panel.wallboard import today
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from tests.browser.wallboard_scene import seed_history, seed_live
from tests.panel.conftest import PASSWORD, Panel

HERE = Path(__file__).resolve().parent
AXE = HERE / "vendor" / "axe.min.js"
ARTIFACTS = HERE / "artifacts"
WIDTHS = {800: 900, 1366: 768, 1920: 1080}


def _spanish_supervisor(panel: Panel) -> None:
    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        ensure_user(s, "marta", PASSWORD, "supervisor", language="es")
        seed_incidents(s, panel.cfg, [], {}, random.Random(5), datetime.now(UTC))
    engine.dispose()


def _board(open_session, panel: Panel, width: int, user: str = "marta") -> Page:  # type: ignore[no-untyped-def]
    s = open_session()
    s.page.set_viewport_size({"width": width, "height": WIDTHS.get(width, 900)})
    page = s.login(user)
    page.goto("/supervisor/")
    expect(page.locator("#wallboard")).to_have_attribute("data-state", "live")
    expect(page.locator('#wb-queues [data-group="network"]')).to_be_visible()
    expect(page.locator("#wb-chart :is(svg, p)")).to_be_visible()
    page.session = s  # type: ignore[attr-defined]
    return page


def _axe(page: Page) -> list[dict[str, object]]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_board_at_each_width_is_readable_accessible_and_uncut(
    panel: Panel,
    open_session,  # type: ignore[no-untyped-def]
    width: int,
) -> None:
    _spanish_supervisor(panel)
    seed_live(panel)
    assert seed_history(panel) > 0
    page = _board(open_session, panel, width)
    page.wait_for_timeout(1200)  # a second of ticking: waits and times in state filled in
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"wallboard-es-{width}.png"), full_page=True)
    # nothing is cut off or pushes the page sideways
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{overflow} px of horizontal overflow at {width} px"
    # words, not codes: queue and skill names from the configuration, in Spanish
    text = page.locator("#wallboard").inner_text()
    assert "Red e internet" in text and "Atención general" in text
    assert not re.search(r"\b\w+_(es|en)\b", text), "a raw queue code is on screen"
    assert "Todas las colas" in text
    violations = _axe(page)
    assert violations == [], json.dumps(violations, ensure_ascii=False, indent=1)
    assert page.session.dialogs == [] and page.session.console_errors == []  # type: ignore[attr-defined]
    if width == 1920:  # the wall: all on one screen, big figures big enough for three metres
        height = page.evaluate("() => document.documentElement.scrollHeight")
        assert height <= 1080, f"the board needs {height} px: a 1080 p screen cuts it"
        px = page.locator('[data-group="all"] .wb-metric.sl .wb-value').evaluate(
            "n => parseFloat(getComputedStyle(n).fontSize)"
        )
        assert px >= 44


def test_colours_follow_the_target_and_the_wait_ticks_on_the_board(
    panel: Panel,
    open_session,  # type: ignore[no-untyped-def]
) -> None:
    _spanish_supervisor(panel)
    seed_live(panel)
    page = _board(open_session, panel, 1366)
    wb = panel.cfg.queue_defaults.wallboard
    crit = page.locator('#wb-queues tr[data-queue="network_es"] td.longest')
    expect(crit).to_have_attribute("data-level", "crit")  # 21 s on a 20 s target
    rgb = "rgb({}, {}, {})".format(*(int(wb.color_crit[i : i + 2], 16) for i in (1, 3, 5)))
    assert crit.evaluate("n => getComputedStyle(n).backgroundColor") == rgb
    # a caller 13 s into a 20 s target: green now, amber at 15 s, with no new data sent
    now = datetime.now(UTC).timestamp()
    panel.bus.set_state(
        panel.bus.keys.queue_state("email_en"),
        {"waiting": 1, "longest_wait_since": f"{now - 13:.3f}", "available_agents": 1},
    )
    panel.bus.publish(panel.bus.keys.wallboard, {"kind": "queue", "queue": "email_en"})
    cell = page.locator('#wb-queues tr[data-queue="email_en"] td.longest')
    expect(cell).to_have_attribute("data-level", "ok")
    expect(cell).to_have_attribute("data-level", "warn", timeout=4000)
    expect(cell).to_have_text(re.compile(r"^1[5-9] s$"))
    # the group tile takes the worst of its queues, the totals too
    expect(page.locator('[data-group="network"] .wb-metric.longest')).to_have_attribute(
        "data-level", "crit"
    )
    expect(page.locator('[data-group="all"] .wb-metric.longest')).to_have_attribute(
        "data-level", "crit"
    )
    # agents show state, pause reason and a ticking time in state
    carla = page.locator('#wb-agents [data-login="1003"]')
    expect(carla.locator(".state")).to_have_text("en pausa")
    expect(carla.locator(".reason")).to_have_text("comida")
    expect(carla.locator(".time")).to_have_text(re.compile(r"^2[01]:\d\d$"))
    expect(page.locator('#wb-agents [data-login="1015"]')).to_have_count(0)  # logged out


def test_clock_is_local_24_hour_in_spanish(panel: Panel, open_session) -> None:  # type: ignore[no-untyped-def]
    _spanish_supervisor(panel)
    page = _board(open_session, panel, 1366)
    shown = page.locator("#wb-clock").inner_text()
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}", shown), shown
    local = datetime.now(ZoneInfo(panel.cfg.service.timezone))
    h, m, _s = (int(x) for x in shown.split(":"))
    shown_min = h * 60 + m
    assert min(abs(shown_min - (local.hour * 60 + local.minute)) % 1440, 1) <= 1


def test_board_stays_live_and_rebuilds_after_each_reconnect(
    panel: Panel,
    open_session,  # type: ignore[no-untyped-def]
) -> None:
    """The test panel ends every stream after 2 s: the board reconnects and carries on."""
    _spanish_supervisor(panel)
    page = _board(open_session, panel, 1366)
    answered = page.locator('#wb-queues tr[data-queue="network_es"] td.answered')
    expect(answered).to_have_text("0")
    expect(page.locator("#wallboard")).to_have_attribute("data-connects", re.compile(r"[2-9]"))
    key = panel.bus.keys.counters(today(panel.cfg, datetime.now(UTC)), "network_es")
    for n in (1, 2):
        panel.bus.r.hincrby(key, "offered", 1)
        panel.bus.r.hincrby(key, "answered", 1)
        panel.bus.publish(panel.bus.keys.wallboard, {"kind": "counters", "queue": "network_es"})
        expect(answered).to_have_text(str(n), timeout=1500)
        time.sleep(2.2)  # across the next reconnect
    # the board is rebuilt from each connection's first frames, not patched: one set of tiles
    expect(page.locator("#wb-queues article")).to_have_count(1 + len(panel.cfg.skills))
    expect(page.locator("#wallboard")).to_have_attribute("data-state", "live")


def test_keyboard_reaches_the_chart_data(panel: Panel, open_session) -> None:  # type: ignore[no-untyped-def]
    _spanish_supervisor(panel)
    seed_history(panel)
    page = _board(open_session, panel, 1366)
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.tagName") == "SUMMARY":
            break
    assert page.evaluate("() => document.activeElement.textContent") == "Datos de la gráfica"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    page.keyboard.press("Enter")
    expect(page.locator("#wb-chart-table tbody tr").first).to_be_visible()


def test_english_board_uses_the_english_names(panel: Panel, open_session) -> None:  # type: ignore[no-untyped-def]
    seed_live(panel)
    page = _board(open_session, panel, 1366, user="sofia")  # sofia reads English
    text = page.locator("#wallboard").inner_text()
    assert "All queues" in text and "Network and internet" in text and "General support" in text
    expect(page.locator('#wb-queues tr[data-queue="network_en"] th.name')).to_have_text("English")
    assert "Red e internet" not in text
    assert _axe(page) == []


def test_board_says_when_its_data_stops_and_recovers_by_itself(
    panel: Panel,
    open_session,  # type: ignore[no-untyped-def]
) -> None:
    _spanish_supervisor(panel)
    seed_live(panel)
    page = _board(open_session, panel, 1366)
    banner = page.locator("#wb-stale")
    expect(banner).to_be_hidden()
    agents = panel.bus.keys.agents
    members = panel.bus.r.smembers(agents)
    panel.bus.r.delete(agents)
    panel.bus.r.set(agents, "not a set")  # every snapshot now fails (WRONGTYPE)
    expect(banner).to_be_visible(timeout=6000)
    expect(page.locator("#wallboard")).to_have_attribute("data-state", "stale")
    panel.bus.r.delete(agents)
    panel.bus.r.sadd(agents, *members)
    expect(banner).to_be_hidden(timeout=6000)
    expect(page.locator("#wallboard")).to_have_attribute("data-state", "live")
    expect(page.locator('#wb-agents [data-login="1003"] .reason')).to_have_text("comida")
