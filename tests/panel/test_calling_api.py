"""Click-to-call and verification by phone through the panel's API (real Redis and database)."""

from __future__ import annotations

from sqlalchemy import select

from servicedesk import incidents as core
from servicedesk.calling_models import OutboundCall
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.models import Contact, ContactPhone, Incident
from servicedesk.outbound import requests_stream
from tests.panel.conftest import Panel, login


def _incident(panel: Panel, resolved: bool = True) -> int:
    with session_scope(make_sessionmaker(make_engine(panel.db_url))) as s:
        contact = Contact(name="Rosa Díaz")
        contact.phones.append(ContactPhone(e164="+525512345678", raw="55 1234 5678"))
        s.add(contact)
        s.flush()
        inc = core.create_incident(s, panel.cfg, title="VPN", actor="1001", reporter_id=contact.id)
        if resolved:
            core.start_work(s, inc, actor="1001")
            core.resolve(s, inc, actor="1001", resolution="ok")
        return inc.number


def _rows(panel: Panel) -> list[OutboundCall]:
    with session_scope(make_sessionmaker(make_engine(panel.db_url))) as s:
        return list(s.scalars(select(OutboundCall)))


def test_incident_page_offers_verification_by_phone(panel: Panel) -> None:
    number = _incident(panel)
    client = panel.app.test_client()
    login(client, "ana")
    html = client.get(f"/incidents/{number}").get_data(as_text=True)
    assert 'id="calling"' in html and 'data-purpose="verification"' in html
    assert 'data-number="+525512345678"' in html and "calling.js" in html


def test_dial_stores_the_request_and_hands_it_to_the_dialer(panel: Panel) -> None:
    number = _incident(panel)
    client = panel.app.test_client()
    token = login(client, "ana")
    resp = client.post(
        "/api/calling/dial",
        json={"number": "55 1234 5678", "incident": str(number), "purpose": "verification"},
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == 202, resp.get_json()
    view = resp.get_json()
    assert view["status"] == "requested" and view["number"] == "+525512345678"
    assert view["status_text"] == "llamando a tu teléfono…"  # ana works in Spanish
    (row,) = _rows(panel)
    assert (row.agent_login, row.purpose, row.number_kind) == ("1001", "verification", "national")
    entries = panel.bus.read(requests_stream("centralita"))
    assert [f["request_id"] for _i, f in entries] == [row.request_id]
    status = client.get(f"/api/calling/calls/{row.request_id}")
    assert status.status_code == 200 and status.get_json()["can_record_verdict"] is False


def test_refused_numbers_get_a_translated_reason(panel: Panel) -> None:
    client = panel.app.test_client()
    token = login(client, "ana")
    h = {"X-CSRFToken": token}
    resp = client.post("/api/calling/dial", json={"number": "+1 212 555 0100"}, headers=h)
    assert resp.status_code == 400
    assert resp.get_json() == {
        "error": "No se pueden marcar números de este tipo desde la mesa.",
        "code": "not_allowed",
    }
    resp = client.post("/api/calling/dial", json={"number": "900 123 4567"}, headers=h)
    assert resp.get_json()["code"] == "not_allowed"
    resp = client.post("/api/calling/dial", json={"number": "<script>"}, headers=h)
    assert resp.get_json()["code"] == "invalid"
    assert _rows(panel) == [] and panel.bus.read(requests_stream("centralita")) == []


def test_rate_limit_and_roles(panel: Panel) -> None:
    client = panel.app.test_client()
    token = login(client, "ana")
    h = {"X-CSRFToken": token}
    codes = [
        client.post("/api/calling/dial", json={"number": "5512345678"}, headers=h).status_code
        for _ in range(panel.cfg.calling.calls_per_agent + 1)
    ]
    assert codes == [202] * panel.cfg.calling.calls_per_agent + [429]
    assert len(_rows(panel)) == panel.cfg.calling.calls_per_agent
    sup = panel.app.test_client()
    token = login(sup, "sofia")
    resp = sup.post(
        "/api/calling/dial", json={"number": "5512345678"}, headers={"X-CSRFToken": token}
    )
    assert resp.status_code == 403
    no_csrf = client.post("/api/calling/dial", json={"number": "5512345678"})
    assert no_csrf.status_code == 400


def test_verdict_only_after_the_customer_answered(panel: Panel) -> None:
    number = _incident(panel)
    client = panel.app.test_client()
    token = login(client, "ana")
    h = {"X-CSRFToken": token}
    rid = client.post(
        "/api/calling/dial",
        json={"number": "5512345678", "incident": str(number), "purpose": "verification"},
        headers=h,
    ).get_json()["request_id"]
    url = f"/api/calling/calls/{rid}/verdict"
    assert client.post(url, json={"accepted": True}, headers=h).status_code == 409
    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        row = s.scalars(select(OutboundCall).where(OutboundCall.request_id == rid)).one()
        row.status = "answered"
    resp = client.post(url, json={"accepted": True, "note": "todo bien"}, headers=h)
    assert resp.status_code == 200 and resp.get_json()["incident_status"] == "closed"
    assert client.post(url, json={"accepted": False}, headers=h).status_code == 409
    with session_scope(make_sessionmaker(engine)) as s:
        inc = s.scalars(select(Incident).where(Incident.number == number)).one()
        assert inc.status == "closed" and inc.events[-1].data["via"] == "phone"


def test_verification_needs_a_resolved_incident(panel: Panel) -> None:
    number = _incident(panel, resolved=False)
    client = panel.app.test_client()
    token = login(client, "ana")
    resp = client.post(
        "/api/calling/dial",
        json={"number": "5512345678", "incident": str(number), "purpose": "verification"},
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == 409 and resp.get_json()["code"] == "not_resolved"


def test_transfer_request_goes_to_the_dialer(panel: Panel) -> None:
    client = panel.app.test_client()
    token = login(client, "ana")
    h = {"X-CSRFToken": token}
    assert (
        client.post("/api/calling/transfer", json={"queue": "nope"}, headers=h).status_code == 404
    )
    resp = client.post("/api/calling/transfer", json={"queue": "erp_es"}, headers=h)
    assert resp.status_code == 202
    ((_id, fields),) = panel.bus.read(requests_stream("centralita"))
    assert fields == {
        "kind": "transfer",
        "request_id": resp.get_json()["request_id"],
        "agent": "1001",
        "queue": "erp_es",
    }


def test_agent_console_offers_transfer(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "ana")
    html = client.get("/agent/").get_data(as_text=True)
    assert 'id="transfer"' in html and "transfer.js" in html
    # the queue by its name in the UI language, its code only as the value sent
    assert '<option value="erp_es">ERP y sistemas de negocio (español)</option>' in html
    assert "Transferir la llamada" in html


def test_attended_transfer_steps_go_to_the_dialer(panel: Panel) -> None:
    """start (with a known queue), complete and cancel reach the dialer's stream; an unknown
    step or queue is refused with a translated message and sends nothing."""
    client = panel.app.test_client()
    token = login(client, "ana")
    h = {"X-CSRFToken": token}
    bad_step = client.post("/api/calling/atxfer", json={"step": "swap"}, headers=h)
    assert bad_step.status_code == 400 and bad_step.get_json()["code"] == "step"
    bad_queue = client.post(
        "/api/calling/atxfer", json={"step": "start", "queue": "nope"}, headers=h
    )
    assert bad_queue.status_code == 404
    assert panel.bus.read(requests_stream("centralita")) == []
    ids = []
    for body in ({"step": "start", "queue": "erp_es"}, {"step": "complete"}, {"step": "cancel"}):
        resp = client.post("/api/calling/atxfer", json=body, headers=h)
        assert resp.status_code == 202
        ids.append(resp.get_json()["request_id"])
    sent = [fields for _id, fields in panel.bus.read(requests_stream("centralita"))]
    assert sent == [
        {
            "kind": "atxfer",
            "request_id": ids[0],
            "agent": "1001",
            "step": "start",
            "queue": "erp_es",
        },
        {"kind": "atxfer", "request_id": ids[1], "agent": "1001", "step": "complete"},
        {"kind": "atxfer", "request_id": ids[2], "agent": "1001", "step": "cancel"},
    ]


def test_agent_console_offers_attended_transfer_only_on_a_call(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "ana")
    html = client.get("/agent/").get_data(as_text=True)
    # disabled until the pops say the agent is on a call; complete/cancel hidden until consulting
    assert '<button type="button" id="transfer-consult" disabled>' in html
    assert '<button type="button" id="transfer-go" disabled>' in html
    assert '<span id="transfer-consulting" hidden>' in html
    assert "Consultar antes" in html and "Completar la transferencia" in html
