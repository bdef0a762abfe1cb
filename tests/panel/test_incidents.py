"""Incident views and workflow through the panel's forms, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from servicedesk import incidents as core
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.models import Contact, Incident, Organisation
from tests.panel.conftest import Panel, login


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'panel.db'}"
    return request.getfixturevalue("pg_server").create_database()


def _make(panel: Panel, n: int = 30) -> dict[str, int]:
    engine = make_engine(panel.db_url)
    now = datetime.now(UTC)
    with session_scope(make_sessionmaker(engine)) as s:
        a = Organisation(name="Aceros del Bajío")
        b = Organisation(name="Farmacias Santa Lucía")
        s.add_all([a, b])
        s.flush()
        evil = Contact(organisation_id=a.id, name="<img src=x onerror=alert(1)>")
        s.add(evil)
        s.flush()
        for i in range(n):
            inc = core.create_incident(
                s,
                panel.cfg,
                title=f"Falla {i:02d}",
                actor="system",
                impact=("high", "medium", "low")[i % 3],
                urgency="medium",
                organisation_id=(a.id if i % 2 else b.id),
                reporter_id=evil.id if i == 7 else None,
                now=now - timedelta(days=3) if i == 0 else now,
            )
            if i % 4 == 0:
                core.assign(s, inc, assignee="1003", actor="1003")
        ids = {"a": a.id, "b": b.id}
    engine.dispose()
    return ids


def _numbers(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-number="(\d+)"', html)]


def test_list_filters_search_and_pages(panel: Panel) -> None:
    ids = _make(panel)
    client = panel.app.test_client()
    login(client, "sofia")
    page1 = client.get("/incidents/").get_data(as_text=True)
    assert len(_numbers(page1)) == 25 and "Página" not in page1 and "Page 1 of 2" in page1
    page2 = client.get("/incidents/?page=2").get_data(as_text=True)
    assert len(_numbers(page2)) == 5 and not set(_numbers(page1)) & set(_numbers(page2))
    assert (
        len(_numbers(client.get(f"/incidents/?organisation={ids['a']}").get_data(as_text=True)))
        == 15
    )
    assert len(_numbers(client.get("/incidents/?agent=1003").get_data(as_text=True))) == 8
    assert len(_numbers(client.get("/incidents/?status=assigned").get_data(as_text=True))) == 8
    crit = panel.cfg.priority.priority("high", "medium")
    assert len(_numbers(client.get(f"/incidents/?priority={crit}").get_data(as_text=True))) == 10
    assert _numbers(client.get("/incidents/?q=Falla 07").get_data(as_text=True)) == [8]
    assert _numbers(client.get("/incidents/?q=INC-000012").get_data(as_text=True)) == [12]
    assert _numbers(client.get("/incidents/?q=onerror").get_data(as_text=True)) == [
        8
    ]  # reporter name
    # the incident opened three days ago is past its response target: breached
    breached = _numbers(client.get("/incidents/?sla=breached").get_data(as_text=True))
    assert breached == [1]
    html = client.get("/incidents/?q=Falla 07").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_workflow_through_the_detail_forms(panel: Panel) -> None:
    """The owner works the incident through the forms the lifecycle offers at each step."""
    _make(panel, n=1)  # INC-000001, assigned to 1003 (Carla Méndez, tier 2)
    client = panel.app.test_client()
    token = login(client, "sofia")  # a supervisor may act on any incident

    def act(action: str, **form: str) -> str:
        r = client.post(f"/incidents/1/{action}", data={"csrf_token": token, **form})
        assert r.status_code == 302
        return client.get("/incidents/1").get_data(as_text=True)

    def forms(page: str) -> set[str]:
        return set(re.findall(r'<form [^>]*id="form-([a-z]+)"', page))

    page = client.get("/incidents/1").get_data(as_text=True)
    assert forms(page) == {"assign", "start", "escalate", "resolve", "update", "comment"}
    level2 = panel.cfg.escalation.levels["2"]
    assert all(c.name in page and c.phone in page for c in level2.contacts)
    assert "Carla Méndez" in page  # the owner by name, not by extension

    page = act("update", title="Router caído", impact="high", urgency="high", note="peor")
    assert "Router caído" in page
    assert 'data-status="assigned"' in act("assign", assignee="1001")
    page = act("start")
    assert 'data-status="in_progress"' in page and "form-start" not in page
    page = act("escalate", level="2", target="1003", note="requiere N2")
    assert 'data-status="escalated"' in page and 'id="inc-level">L2<' in page
    assert re.search(r'id="inc-owners">[^<]*Ana López → Carla Méndez', page)
    level3 = panel.cfg.escalation.levels["3"]
    assert all(c.name in page for c in level3.contacts)  # next level's directory now shown
    page = act("escalate", level="2", target="group")
    assert "Escalate to a higher support level." in page  # refused next to the action
    assert 'id="refusal-escalate"' in page
    page = act("resolve", solution="x")
    assert 'data-status="escalated"' in page and 'id="refusal-resolve"' in page
    page = act("resolve", solution="Se cambió el switch del tercer piso")
    assert 'data-status="resolved"' in page
    assert forms(page) == {"verify", "comment"}
    assert 'data-status="in_progress"' in act("verify", accepted="0", note="sigue fallando")
    act("resolve", solution="Se reemplazó también el cable de enlace")
    page = act("verify", accepted="1")
    assert 'data-status="closed"' in page and forms(page) == set()
    assert 'id="no-actions"' in page
    page = act("resolve", solution="otra vez resuelto sin sentido alguno")
    assert 'data-status="closed"' in page  # nothing changes a closed incident
    engine = make_engine(panel.db_url)
    with make_sessionmaker(engine)() as s:
        inc = s.scalar(select(Incident).where(Incident.number == 1))
        kinds = [e.kind for e in inc.events]
        resolutions = [e.note for e in inc.events if e.kind == "resolved"]
    engine.dispose()
    page = client.get("/incidents/1").get_data(as_text=True)
    assert re.findall(r'<li data-kind="([a-z_]+)"', page) == kinds
    assert kinds[:6] == ["created", "assigned", "updated", "assigned", "started", "escalated"]
    assert kinds.count("resolved") == 2 and "reopened" in kinds and "verified" in kinds
    assert resolutions[0] == "Se cambió el switch del tercer piso"


def test_new_incident_page_and_unknown_action(panel: Panel) -> None:
    client = panel.app.test_client()
    token = login(client, "sofia")
    r = client.post(
        "/incidents/new",
        data={"csrf_token": token, "title": "Alta de usuario", "category": "general"},
    )
    assert r.status_code == 302
    assert "Alta de usuario" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert client.post("/incidents/1/delete", data={"csrf_token": token}).status_code == 404
    assert client.get("/incidents/999").status_code == 404
