"""The agent, incident and admin pages in Chromium: local times, keyboard use,
axe-core (zero serious or critical violations) and screenshots at three widths.

Screenshots are kept in $CENTRALITA_ARTIFACTS/panel (default: the temp dir's
centralita-artifacts/panel), never in the checkout.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from axe_playwright_python.sync_playwright import Axe
from babel.dates import format_datetime
from playwright.sync_api import Page, expect

from servicedesk import incidents as core
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.models import Contact, ContactPhone, Contract, Organisation
from servicedesk.sla import due_times
from tests.panel.conftest import PASSWORD, Panel
from tests.panel.contract import publish_pop

ARTIFACTS = (
    Path(
        os.environ.get("CENTRALITA_ARTIFACTS")
        or Path(tempfile.gettempdir()) / "centralita-artifacts"
    )
    / "panel"
)
WIDTHS = (800, 1366, 1920)
CREATED = datetime(2026, 3, 3, 18, 30, tzinfo=UTC)  # 12:30 in Mexico City
DESK_TZ = ZoneInfo("America/Mexico_City")


def _seed(panel: Panel) -> dict[str, int]:
    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        org = Organisation(name="Grupo Hotelero Caribe Maya", vip=True)
        s.add(org)
        s.flush()
        s.add(
            Contract(
                number="CT-10004",
                organisation_id=org.id,
                plan="intermediate",
                starts_on=datetime(2025, 1, 1, tzinfo=UTC),
            )
        )
        rosa = Contact(organisation_id=org.id, name="Rosa Delgado", email="rosa@caribe.example")
        rosa.phones.append(ContactPhone(e164="+525512340001", raw="55 1234 0001"))
        other = Contact(organisation_id=org.id, name="Roberto Díaz")
        other.phones.append(ContactPhone(e164="+529981112233", raw="998 111 2233"))
        s.add_all([rosa, other])
        s.flush()
        inc = core.create_incident(
            s,
            panel.cfg,
            title="Sin red en recepción",
            actor="ivr",
            category="network",
            impact="high",
            urgency="medium",
            reporter_id=rosa.id,
            now=CREATED,
        )
        core.start_work(s, inc, actor="1001", now=CREATED)
        ids = {"rosa": rosa.id, "incident": inc.number}
    engine.dispose()
    return ids


def _axe(page: Page, name: str) -> None:
    results = Axe().run(page)
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], (name, bad)


def _shoot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def test_incident_times_are_the_desks_local_times(panel: Panel, browser, base_url: str) -> None:  # type: ignore[no-untyped-def]
    """The desk runs on America/Mexico_City; the browser runs on Tokyo time: the page
    shows Mexico City times (12:30, not 18:30 UTC nor 03:30 Tokyo)."""
    assert panel.cfg.service.timezone == "America/Mexico_City"
    ids = _seed(panel)
    context = browser.new_context(base_url=base_url, timezone_id="Asia/Tokyo", locale="ja-JP")
    try:
        page = context.new_page()
        page.goto("/login")
        page.fill("#username", "ana")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.goto(f"/incidents/{ids['incident']}")
        created = page.locator("#inc-created time")
        expect(created).to_have_text("3 mar 2026, 12:30")
        expect(created).to_have_attribute("datetime", "2026-03-03T18:30:00+00:00")
        response_due, resolution_due = due_times(panel.cfg, "high", CREATED)
        for locator, due in (
            ("#inc-response-due time", response_due),
            ("#inc-resolution-due time", resolution_due),
        ):
            assert due is not None
            expected = format_datetime(due, "d MMM yyyy, HH:mm", tzinfo=DESK_TZ, locale="es")
            expect(page.locator(locator)).to_have_text(expected)
        expect(page.locator("#inc-times")).to_contain_text("hora de México")
        expect(page.locator("#inc-created .rel")).to_contain_text("hace")
        # the relative words follow the clock without a reload
        page.clock.install(time=CREATED.timestamp() + 6 * 60 + 25)
        page.reload()
        page.clock.run_for(31_000)
        expect(page.locator("#inc-created .rel")).to_have_text("(hace 7 minutos)")
    finally:
        context.close()


def test_contact_picker_by_keyboard_and_pages_pass_axe(panel: Panel, open_session) -> None:  # type: ignore[no-untyped-def]
    ids = _seed(panel)
    s = open_session()
    page = s.login("ana")
    # a pop, so the console shows a caller, IVR sentence and contract
    publish_pop(
        panel.bus,
        "1001",
        "1900.1",
        "ring",
        contact_id=str(ids["rosa"]),
        contact_name="Rosa Delgado",
        organisation="Grupo Hotelero Caribe Maya",
        caller_num="+525512340001",
    )
    expect(page.locator("#pop-ivr")).to_contain_text("Llamó por: Red e internet")
    expect(page.locator("#pop-contract")).to_contain_text("plan Intermedio")
    expect(page.locator("#pop-reporter-input")).to_have_value("Rosa Delgado")
    _axe(page, "agent console")
    _shoot(page, "agent-console")

    # new incident: everything by keyboard, the reporter found by a phone typed any way
    page.goto("/incidents/new")
    page.locator("input[name=title]").focus()
    page.keyboard.type("Impresora atascada")
    page.keyboard.press("Tab")  # description
    page.keyboard.press("Tab")  # the picker
    expect(page.locator("#new-reporter-input")).to_be_focused()
    page.keyboard.type("(998) 111-2233")
    expect(page.locator("#new-reporter-list [role=option]")).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator("#new-reporter-id")).not_to_have_value("")
    expect(page.locator("#new-reporter-chosen")).to_contain_text("Roberto Díaz")
    _axe(page, "new incident")
    _shoot(page, "incident-new")
    page.locator("#new-reporter-input").focus()
    for _ in range(4):
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the submit button
    expect(page).to_have_url(re.compile(r"/incidents/2$"))
    expect(page.locator("#inc-reporter")).to_have_text("Roberto Díaz")
    # the picker by name and organisation too, with arrow keys
    page.goto("/incidents/new")
    page.fill("#new-reporter-input", "caribe")
    expect(page.locator("#new-reporter-list [role=option]")).to_have_count(2)
    page.keyboard.press("ArrowDown")
    expect(page.locator("#new-reporter-input")).to_have_attribute(
        "aria-activedescendant", "new-reporter-list-opt-1"
    )

    for path, name in (
        ("/incidents/", "incident-list"),
        (f"/incidents/{ids['incident']}", "incident-detail"),
    ):
        page.goto(path)
        _axe(page, name)
        _shoot(page, name)
    # a refusal next to the action, in Spanish
    page.goto(f"/incidents/{ids['incident']}")
    page.fill("#form-resolve textarea[name=solution]", "ok")
    page.locator("#form-resolve textarea[name=solution]").evaluate(
        "e => e.removeAttribute('minlength')"
    )
    page.click("#form-resolve button[type=submit]")
    expect(page.locator("#refusal-resolve")).to_contain_text("al menos 3 palabras")
    _axe(page, "incident refusal")
    page.goto("/no/such/page")
    expect(page.locator("#error-page h1")).to_have_text("Página no encontrada")
    _axe(page, "404")
    _shoot(page, "error-404")
    assert s.console_errors == [] and s.dialogs == []


def test_admin_pages_pass_axe_and_are_shot(panel: Panel, open_session) -> None:  # type: ignore[no-untyped-def]
    _seed(panel)
    s = open_session()
    page = s.login("root")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    _axe(page, "admin users")
    _shoot(page, "admin-users")
    page.fill("input[name=username]", "carla")
    page.fill("input[name=password]", "una-clave-larga-1")
    page.select_option("select[name=role]", "agent")
    page.select_option("#admin-create select[name=agent_login]", "1003")
    page.click("#admin-create button[type=submit]")
    expect(page.locator('tr[data-user="carla"]')).to_contain_text("Carla Méndez")
    page.click('tr[data-user="carla"] a')
    page.click("#admin-reset button")
    expect(page.locator("#new-password")).to_have_text(re.compile(r"\S{12,}"))
    _axe(page, "admin user")
    _shoot(page, "admin-user")
    for path, name in (("/admin/audit", "admin-audit"), ("/admin/config", "admin-config")):
        page.goto(path)
        _axe(page, name)
        _shoot(page, name)
    expect(page.locator("#config-source")).to_contain_text("centralita.toml")
    forbidden = open_session()
    p2 = forbidden.login("ana")
    assert p2.goto("/admin/").status == 403
    expect(p2.locator("#error-page h1")).to_have_text("No disponible para su rol")
    _axe(p2, "403")
    _shoot(p2, "error-403")
    login_page = open_session().page
    login_page.goto("/login")
    _axe(login_page, "login")
    _shoot(login_page, "login")


def test_report_pages_pass_axe_and_are_shot(panel: Panel, open_session) -> None:  # type: ignore[no-untyped-def]
    """The supervisor's reports in the panel: the monthly service report (both editions)
    and the interval report, read by axe and shot at three widths like every other page."""
    _seed(panel)
    s = open_session()
    page = s.login("sofia")
    for path, name in (
        ("/reports/?month=2026-03", "report-monthly"),
        ("/reports/?month=2026-03&edition=internal", "report-monthly-internal"),
        ("/reports/interval?day=2026-03-03", "report-interval"),
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        expect(page.locator("main h1, h1").first).to_be_visible()
        _axe(page, name)
        _shoot(page, name)
    assert s.console_errors == [] and s.dialogs == []
