"""The contact picker's search, and incidents created from a pop the listener has not written yet."""

from __future__ import annotations

from sqlalchemy import select

from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.models import Call, Contact, ContactPhone, Incident, IncidentCall, Organisation
from tests.panel.conftest import Panel, login
from tests.panel.contract import publish_pop


def _directory(panel: Panel) -> dict[str, int]:
    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        org = Organisation(name="Farmacias Santa Lucía", customer_number="10007")
        s.add(org)
        s.flush()
        rosa = Contact(organisation_id=org.id, name="Rosa Delgado", email="rosa@sl.example")
        rosa.phones.append(ContactPhone(e164="+529981112233", raw="998 111 2233"))
        pct = Contact(organisation_id=None, name="100% Cobertura")
        s.add_all([rosa, pct])
        s.flush()
        ids = {"rosa": rosa.id, "pct": pct.id}
    engine.dispose()
    return ids


def test_search_by_phone_in_any_format_name_and_organisation(panel: Panel) -> None:
    ids = _directory(panel)
    client = panel.app.test_client()
    login(client, "ana")
    for q in (
        "998 111 2233",
        "(998) 111-2233",
        "+52 998 111 2233",
        "+52 1 998 111 2233",
        "9981112233",
        "111 2233",
        "rosa",
        "DELGADO",
        "santa lucía",
        "10007",
    ):
        results = client.get("/api/contacts", query_string={"q": q}).json["results"]
        assert [r["id"] for r in results] == [ids["rosa"]], q
    hit = client.get("/api/contacts?q=rosa").json["results"][0]
    assert hit["phones"] == ["+52 998 111 2233"] and hit["organisation"] == "Farmacias Santa Lucía"
    assert set(hit) == {
        "id",
        "name",
        "organisation",
        "phones",
        "email",
    }  # no contract, no incidents
    # LIKE wildcards are literal text
    assert [r["id"] for r in client.get("/api/contacts?q=100%25").json["results"]] == [ids["pct"]]
    assert client.get("/api/contacts?q=%25%25").json["results"] == []
    assert client.get("/api/contacts?q=r").json["results"] == []  # too short to search
    for junk in ("²²²²", "1" * 300, "\x00\x00"):
        assert client.get("/api/contacts", query_string={"q": junk}).status_code == 200


def test_creating_from_a_fresh_pop_links_the_call_before_the_listener_writes_it(
    panel: Panel,
) -> None:
    ids = _directory(panel)
    publish_pop(
        panel.bus, "1001", "1910.5", "ring", contact_id=str(ids["rosa"]), caller_num="+529981112233"
    )
    ana = panel.app.test_client()
    h = {"X-CSRFToken": login(ana, "ana")}
    r = ana.post(
        "/api/incidents",
        json={"call_id": "1910.5", "title": "Sin sistema de cobro", "category": "erp"},
        headers=h,
    )
    assert r.status_code == 201, r.json
    assert r.json["url"] == f"/incidents/{r.json['number']}" and r.json["linked_call"] == "1910.5"
    assert r.json["incident"]["title"] == "Sin sistema de cobro"
    engine = make_engine(panel.db_url)
    with make_sessionmaker(engine)() as s:
        call = s.scalar(select(Call).where(Call.linkedid == "1910.5"))
        assert call is not None and call.agent_login == "1001" and call.contact_id == ids["rosa"]
        inc = s.scalar(select(Incident).where(Incident.number == r.json["number"]))
        assert inc.reporter_id == ids["rosa"]
        assert (
            s.scalar(select(IncidentCall.call_id).where(IncidentCall.incident_id == inc.id))
            == call.id
        )
    engine.dispose()
    # the same call id is not another agent's to use
    from cti_panel.users import ensure_user
    from tests.panel.conftest import PASSWORD

    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        ensure_user(s, "bruno", PASSWORD, "agent", agent_login="1002")
    engine.dispose()
    bruno = panel.app.test_client()
    hb = {"X-CSRFToken": login(bruno, "bruno")}
    r = bruno.post("/api/calls/1910.5/wrapup", json={"code": "info_given"}, headers=hb)
    assert r.status_code == 403 and r.json["error"] == "Esta no es una de sus llamadas."
    r = bruno.post("/api/incidents", json={"call_id": "1911.9", "title": "x"}, headers=hb)
    assert r.status_code == 404  # never popped to him, not recorded: nothing to link
