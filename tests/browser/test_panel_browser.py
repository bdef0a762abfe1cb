"""The panel in real Chromium: pop to incident to wallboard, XSS, CSRF, roles, SSE resume.

The listener's side is played by tests.panel.contract (pops, command results, counters)
exactly per the Redis contract; tests/e2e drives the same path through pbxsim.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from playwright.sync_api import expect

from cti_panel.wallboard import today
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.models import Contact, ContactPhone, Contract, Organisation
from tests.panel.conftest import Panel
from tests.panel.contract import FakeListener, ivr_json, publish_pop

XSS = "<img src=x onerror=alert(1)>"


def _contact(panel: Panel, name: str) -> int:
    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        org = Organisation(name="Grupo Hotelero Caribe Maya", vip=True)
        s.add(org)
        s.flush()
        s.add(
            Contract(
                number="CT-10004",
                organisation_id=org.id,
                plan="advanced",
                starts_on=datetime(2025, 1, 1, tzinfo=UTC),
            )
        )
        c = Contact(organisation_id=org.id, name=name)
        c.phones.append(ContactPhone(e164="+529981234567", raw="9981234567"))
        s.add(c)
        s.flush()
        cid = c.id
    engine.dispose()
    return cid


def test_pop_to_incident_to_wallboard(panel: Panel, open_session) -> None:  # type: ignore[no-untyped-def]
    cid = _contact(panel, "Verónica Herrera")
    agents = {a.login: (a.interface, a.name) for a in panel.cfg.agents}
    with FakeListener(panel.bus, agents):
        agent = open_session()
        page = agent.login("ana")
        expect(page).to_have_url(re.compile(r"/agent/$"))
        # logged out: only joining makes sense
        expect(page.locator("#agent-state")).to_have_attribute("data-state", "logged_out")
        for hidden in ("#leave", "#pause", "#unpause", "#pause-reason"):
            expect(page.locator(hidden)).to_be_hidden()
        page.click("#join")
        expect(page.locator("#command-results li.ok").first).to_be_visible()
        expect(page.locator("#agent-state")).to_have_attribute("data-state", "available")
        expect(page.locator("#join")).to_be_hidden()
        expect(page.locator("#leave")).to_be_visible()
        expect(page.locator("#pause")).to_be_visible()
        expect(page.locator("#unpause")).to_be_hidden()
        expect(page.locator("#agent-queues")).to_contain_text("Red e internet (español)")
        expect(page.locator("#sse-status")).to_have_text("En vivo")

        supervisor = open_session()
        wb = supervisor.login("sofia")
        expect(wb).to_have_url(re.compile(r"/supervisor/$"))
        row = wb.locator('#wb-queues tr[data-queue="network_es"]')
        expect(row.locator("td.answered")).to_have_text("0")

        ivr = ivr_json(
            lang="es",
            menu="new_incident",
            category="network",
            ident="ani",
            note="piso 3; área=ventas",
        )
        publish_pop(
            panel.bus,
            "1001",
            "1732.77",
            "ring",
            caller_num="+529981234567",
            caller_name="VERONICA H",
            contact_id=str(cid),
            contact_name="Verónica Herrera",
            organisation="Grupo Hotelero Caribe Maya",
            vip="1",
            ivr=ivr,
            category="network",
            priority="high",
        )
        expect(page.locator("#pop-status")).to_have_text("Llamada entrante")
        expect(page.locator("#pop-caller-name")).to_have_text("VERONICA H")
        expect(page.locator("#pop-vip")).to_be_visible()
        expect(page.locator("#pop-ivr")).to_have_text(
            "Llamó por: Red e internet · habla español · identificado por su número"
        )
        expect(page.locator("#pop-queue")).to_have_text("Red e internet (español)")
        expect(page.locator("#pop-contract")).to_have_text("CT-10004 · plan Avanzado")
        expect(page.locator("#pop-allotment td:first-child")).to_have_text(
            ["crítica", "alta", "media", "baja", "planificada"]
        )
        expect(page.locator("#pop-org")).to_have_text("Grupo Hotelero Caribe Maya")
        expect(page.locator("#inc-category")).to_have_value("network")
        publish_pop(
            panel.bus,
            "1001",
            "1732.77",
            "answer",
            caller_num="+529981234567",
            contact_id=str(cid),
            contact_name="Verónica Herrera",
            ivr=ivr,
        )
        expect(page.locator("#pop-status")).to_have_text("En conversación")

        page.fill("#inc-title", "Sin internet en recepción")
        page.select_option("#inc-impact", "high")
        page.click("#inc-create")
        expect(page.locator("#incident-result")).to_contain_text("INC-000001")
        link = page.locator("#incident-result-link")
        expect(link).to_have_attribute("href", "/incidents/1")
        expect(page.locator("#inc-title")).to_have_value("")  # the form is cleared
        expect(page.locator('#pop-open-incidents li[data-number="1"]')).to_contain_text(
            "Sin internet en recepción"
        )
        expect(page.locator("#pop-log li").first).not_to_contain_text("1732.77")  # no call ids

        # the listener counts the answered call and notifies the wallboard
        key = panel.bus.keys.counters(today(panel.cfg, datetime.now(UTC)), "network_es")
        panel.bus.r.hincrby(key, "offered", 1)
        panel.bus.r.hincrby(key, "answered", 1)
        panel.bus.r.hincrby(key, "answered_within_sl", 1)
        panel.bus.r.hincrby(key, "hold_total_s", 7)
        panel.bus.publish(panel.bus.keys.wallboard, {"queue": "network_es"})
        expect(row.locator("td.answered")).to_have_text("1", timeout=2000)
        expect(row.locator("td.sl")).to_have_text("100 %")
        expect(wb.locator('#wb-agents [data-login="1001"] .state')).to_have_text("available")
    for s in (agent, supervisor):
        assert s.dialogs == [] and s.console_errors == []


def test_hostile_caller_name_is_plain_text_everywhere(panel: Panel, open_session) -> None:  # type: ignore[no-untyped-def]
    cid = _contact(panel, XSS)
    s = open_session()
    page = s.login("ana")
    expect(page.locator("#sse-status")).to_have_text("En vivo")
    hostile_ivr = ivr_json(lang="es", menu=XSS)
    publish_pop(
        panel.bus,
        "1001",
        "evil.1",
        "ring",
        caller_name=XSS,
        contact_id=str(cid),
        contact_name=XSS,
        organisation=XSS,
        ivr=hostile_ivr,
        category=XSS,
        queue=XSS,
    )
    expect(page.locator("#pop-caller-name")).to_have_text(XSS)
    expect(page.locator("#pop-contact")).to_have_text(XSS)
    expect(page.locator("#pop-ivr")).to_contain_text(XSS)
    assert page.locator("#pop img").count() == 0
    page.fill("#inc-title", XSS)
    page.click("#inc-create")
    expect(page.locator("#incident-result")).to_contain_text("INC-000001")
    page.goto("/incidents/")
    expect(page.locator("#incident-list td.title")).to_have_text([XSS])
    expect(page.locator("#incident-list td.reporter")).to_have_text([XSS])
    page.goto("/incidents/1")
    expect(page.locator("#inc-title")).to_have_text(XSS)
    expect(page.locator("#inc-reporter")).to_have_text(XSS)
    assert page.locator("main img").count() == 0
    time.sleep(0.2)  # an onerror would have fired by now
    assert s.dialogs == []


def test_post_without_csrf_token_is_refused(panel: Panel, open_session) -> None:  # type: ignore[no-untyped-def]
    s = open_session()
    page = s.login("ana")
    before = panel.bus.r.xlen(panel.bus.keys.commands)
    status = page.evaluate(
        """async () => (await fetch('/api/agent/pause', {method: 'POST', headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({paused: true, reason: 'lunch'})})).status"""
    )
    assert status == 400
    status = page.evaluate(
        """async () => (await fetch('/incidents/new', {method: 'POST', body: new URLSearchParams({title: 'x'})})).status"""
    )
    assert status == 400
    assert panel.bus.r.xlen(panel.bus.keys.commands) == before


def test_agent_cannot_open_supervisor_pages_or_api(panel: Panel, open_session) -> None:  # type: ignore[no-untyped-def]
    s = open_session()
    page = s.login("ana")
    assert page.goto("/supervisor/").status == 403
    for path in ("/api/wallboard", "/supervisor/stream"):
        assert page.evaluate(f"async () => (await fetch('{path}')).status") == 403
    assert page.locator("a[href='/supervisor/']").count() == 0
    page.goto("/agent/")
    expect(page.locator("#join")).to_be_visible()


def test_sse_resumes_after_dropped_connections_without_losing_a_pop(
    panel: Panel, open_session
) -> None:  # type: ignore[no-untyped-def]
    connections: list[str | None] = []

    @panel.app.before_request
    def _count() -> None:
        from flask import request

        if request.path == "/agent/pops":
            connections.append(request.headers.get("Last-Event-ID"))

    s = open_session()
    page = s.login("ana")
    expect(page.locator("#sse-status")).to_have_text("En vivo")
    # the test app ends every stream after 2 s; EventSource reconnects after 1 s,
    # so pops published across 6 s land on live connections and in the gaps
    ids = []
    for i in range(12):
        ids.append(f"call-{i}")
        publish_pop(panel.bus, "1001", f"call-{i}", "ring")
        time.sleep(0.5)
    expect(page.locator("#pop-log li")).to_have_count(12, timeout=5000)
    got = [li.get_attribute("data-call-id") for li in page.locator("#pop-log li").all()]
    assert got == ids  # every pop, once, in order
    assert len(connections) >= 3, connections
    assert all(re.fullmatch(r"\d+-\d+", c or "") for c in connections[1:]), connections
