"""Who may act on which incident, and what the incident page offers in each state."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from servicedesk import incidents as core
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.models import Call, Contact, Incident, IncidentCall, Organisation
from tests.panel.conftest import Panel, login


def _forms(page: str) -> set[str]:
    return set(re.findall(r'<form [^>]*id="form-([a-z]+)"', page))


def _seed(panel: Panel) -> dict[str, int]:
    """INC 1 new/unowned network; 2 owned by 1003; 3 new erp (not ana's skill); 4 L2 unowned;
    5 resolved, owned by 1004, with a call ana answered linked to it."""
    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        org = Organisation(name="Aceros del Bajío")
        s.add(org)
        s.flush()
        contact = Contact(organisation_id=org.id, name="Rosa Delgado")
        s.add(contact)
        s.flush()

        def new(title: str, category: str | None) -> Incident:
            return core.create_incident(
                s, panel.cfg, title=title, actor="ivr", category=category, reporter_id=contact.id
            )

        new("Sin red", "network")
        core.assign(s, new("Correo lento", "email"), assignee="1003", actor="sofia")
        new("ERP caído", "erp")
        core.escalate(s, new("Switch dañado", "network"), 2, actor="1005")
        five = new("Impresora", "hardware")
        core.assign(s, five, assignee="1004", actor="sofia")
        core.resolve(s, five, actor="1004", resolution="Se reemplazó el fusor")
        call = Call(
            pbx_id=panel.cfg.connections.pbx_id,
            linkedid="1800000000.7",
            uniqueid="1800000000.7",
            started_at=datetime.now(UTC),
            agent_login="1001",
            contact_id=contact.id,
        )
        s.add(call)
        s.flush()
        s.add(IncidentCall(incident_id=five.id, call_id=call.id, linked_by="1001"))
        ids = {"contact": contact.id}
    engine.dispose()
    return ids


def _incident(panel: Panel, number: int) -> Incident:
    engine = make_engine(panel.db_url)
    with make_sessionmaker(engine)() as s:
        inc = s.scalar(select(Incident).where(Incident.number == number))
        s.expunge_all()
    engine.dispose()
    return inc


def test_agent_sees_only_what_policy_and_lifecycle_allow(panel: Panel) -> None:
    _seed(panel)
    client = panel.app.test_client()
    login(client, "ana")  # 1001: network + general, tier 1
    page = client.get("/incidents/1").get_data(as_text=True)
    assert _forms(page) == {"assign", "start", "escalate", "resolve", "update", "comment"}
    assert "Tomarlo" in page  # she can take it, not hand it to anyone
    assert re.findall(r'name="assignee"><option value="(\w+)"', page) == ["1001"]
    for number in (2, 3, 4):  # someone else's / not her skill / above her tier
        page = client.get(f"/incidents/{number}").get_data(as_text=True)
        assert _forms(page) == set(), number
        assert 'id="no-actions"' in page
    page = client.get("/incidents/5").get_data(as_text=True)  # asked to verify: her call
    assert _forms(page) == {"verify", "comment"}


def test_agent_cannot_act_on_others_incidents_even_by_posting(panel: Panel) -> None:
    _seed(panel)
    client = panel.app.test_client()
    token = login(client, "ana")
    r = client.post("/incidents/2/assign", data={"csrf_token": token, "assignee": "1001"})
    assert r.status_code == 302
    page = client.get("/incidents/2").get_data(as_text=True)
    assert "No puede cambiar este incidente" in page and 'id="refusal-assign"' in page
    assert _incident(panel, 2).assignee_login == "1003"
    client.post("/incidents/3/resolve", data={"csrf_token": token, "solution": "a" * 40})
    assert _incident(panel, 3).status == "new"


def test_resolving_an_unowned_incident_needs_a_solution_and_makes_an_owner(panel: Panel) -> None:
    _seed(panel)
    client = panel.app.test_client()
    token = login(client, "ana")
    client.post("/incidents/1/resolve", data={"csrf_token": token, "solution": "x"})
    page = client.get("/incidents/1").get_data(as_text=True)
    assert 'id="refusal-resolve"' in page and "al menos 3 palabras" in page
    assert _incident(panel, 1).status == "new"
    client.post(
        "/incidents/1/resolve",
        data={"csrf_token": token, "solution": "Se reinició el router del piso dos"},
    )
    inc = _incident(panel, 1)
    assert inc.status == "resolved" and inc.assignee_login == "1001"
    page = client.get("/incidents/1").get_data(as_text=True)
    assert 'id="inc-assignee">Ana López<' in page


def test_escalation_offers_people_of_that_level_and_keeps_the_owners(panel: Panel) -> None:
    _seed(panel)
    client = panel.app.test_client()
    token = login(client, "ana")
    client.post("/incidents/1/assign", data={"csrf_token": token, "assignee": "1001"})
    page = client.get("/incidents/1").get_data(as_text=True)
    targets = re.findall(r'<select name="target"[^>]*>(.*?)</select>', page, re.S)[0]
    offered = re.findall(r'<option value="([\w]+)"', targets)
    tier2 = [a.login for a in panel.cfg.agents if a.tier >= 2]
    assert offered == ["group", *tier2] and tier2
    assert "+525512345101" in page  # the level's directory, with phones and hours
    assert "lun–vie 08:00–20:00; sáb 09:00–14:00" in page
    client.post(
        "/incidents/1/escalate",
        data={"csrf_token": token, "level": "2", "target": tier2[0], "note": "requiere N2"},
    )
    inc = _incident(panel, 1)
    assert inc.level == 2 and inc.assignee_login == tier2[0]
    page = client.get("/incidents/1").get_data(as_text=True)
    name = next(a.name for a in panel.cfg.agents if a.login == tier2[0])
    assert re.search(rf'id="inc-owners">[^<]*Ana López → {name}', page)
    # now it is the level-2 person's: ana only reads it
    assert _forms(page) == set()


def test_contact_cards_only_through_own_calls_or_staff(panel: Panel) -> None:
    ids = _seed(panel)
    bruno = panel.app.test_client()
    # bruno (1002) needs an account: create it like the CLI does
    from cti_panel.users import ensure_user
    from tests.panel.conftest import PASSWORD

    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        ensure_user(s, "bruno", PASSWORD, "agent", agent_login="1002")
    engine.dispose()
    login(bruno, "bruno")
    assert bruno.get(f"/api/caller?contact_id={ids['contact']}").status_code == 403
    ana = panel.app.test_client()
    login(ana, "ana")  # answered a call from this contact
    card = ana.get(f"/api/caller?contact_id={ids['contact']}")
    assert card.status_code == 200 and card.json["contact"]["name"] == "Rosa Delgado"
    sofia = panel.app.test_client()
    login(sofia, "sofia")
    assert sofia.get(f"/api/caller?contact_id={ids['contact']}").status_code == 200
    # wrap-up of someone else's call is refused
    h = {"X-CSRFToken": login(panel.app.test_client(), "bruno")}
    assert bruno.post(
        "/api/calls/1800000000.7/wrapup", json={"code": "info_given"}, headers=h
    ).status_code in (400, 403)


def test_local_times_on_the_incident_page(panel: Panel) -> None:
    """Created 12:30 in Mexico City (18:30 UTC) reads 12:30, never 18:30."""
    engine = make_engine(panel.db_url)
    created = datetime(2026, 3, 3, 18, 30, tzinfo=UTC)
    with session_scope(make_sessionmaker(engine)) as s:
        core.create_incident(s, panel.cfg, title="Reloj", actor="ivr", now=created)
    engine.dispose()
    client = panel.app.test_client()
    login(client, "ana")
    page = client.get("/incidents/1").get_data(as_text=True)
    created_html = re.search(r'id="inc-created">(.*?)</span>', page, re.S).group(1)
    visible = re.sub(r"<[^>]+>", "", created_html)
    assert visible.startswith("3 mar 2026, 12:30") and "18:30" not in visible
    assert 'datetime="2026-03-03T18:30:00+00:00"' in created_html
    assert "México" in page  # the zone is named


def test_a_supervisor_without_an_extension_assigns_before_resolving(panel: Panel) -> None:
    _seed(panel)
    client = panel.app.test_client()
    token = login(client, "sofia")  # supervisor, no agent login, English
    client.post(
        "/incidents/1/resolve",
        data={"csrf_token": token, "solution": "Router restarted on the second floor"},
    )
    page = client.get("/incidents/1").get_data(as_text=True)
    assert "Assign this incident to the person who solved it" in page
    assert _incident(panel, 1).status == "new"
    # staff may give an L2 incident only to people of that level
    page = client.get("/incidents/4").get_data(as_text=True)
    offered = re.findall(r'name="assignee">(.*?)</select>', page, re.S)[0]
    logins = re.findall(r'<option value="(\w+)"', offered)
    assert logins == [a.login for a in panel.cfg.agents if a.tier >= 2]
    client.post("/incidents/4/assign", data={"csrf_token": token, "assignee": "1001"})
    assert _incident(panel, 4).assignee_login is None  # 1001 is level 1: refused
