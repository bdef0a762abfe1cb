"""Agent console: queue commands through the listener contract, pops over SSE, caller card."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.models import Call, Contact, ContactPhone, Contract, Organisation
from servicedesk.routing import memberships
from tests.panel.conftest import Panel, login
from tests.panel.contract import FakeListener, publish_pop


def _agents(panel: Panel) -> dict[str, tuple[str, str]]:
    return {a.login: (a.interface, a.name) for a in panel.cfg.agents}


def _sse_frames(
    client: FlaskClient, path: str, headers: dict[str, str] | None = None
) -> list[dict]:
    """Reads one whole SSE response (the test app ends streams after 2 s)."""
    resp = client.get(path, headers=headers or {}, buffered=False)
    assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
    text = b"".join(resp.response).decode()  # type: ignore[arg-type]
    frames = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line.startswith(":") or ": " not in line:
                continue
            k, v = line.split(": ", 1)
            fields[k] = v
        if "data" in fields:
            frames.append(
                {
                    "id": fields.get("id"),
                    "event": fields.get("event"),
                    "data": json.loads(fields["data"]),
                }
            )
    return frames


def test_join_leave_pause_go_through_the_commands_stream(panel: Panel) -> None:
    client = panel.app.test_client()
    token = login(client, "ana")
    h = {"X-CSRFToken": token}
    ana = next(a for a in panel.cfg.agents if a.login == "1001")
    with FakeListener(panel.bus, _agents(panel)) as listener:
        resp = client.post("/api/agent/queues/join", headers=h)
        assert resp.status_code == 200
        results = resp.json["results"]
        assert {r["queue"] for r in results} == set(memberships(panel.cfg, ana))
        assert all(r["response"] == "Success" for r in results)
        sent = {c["queue"]: c for c in listener.executed}
        for q, penalty in memberships(panel.cfg, ana).items():
            assert sent[q]["action"] == "QueueAdd"
            assert sent[q]["penalty"] == str(penalty)
            assert sent[q]["interface"] == "PJSIP/1001" and sent[q]["member_name"] == ana.name
            assert sent[q]["requested_by"] == "ana"
        state = client.get("/api/agent/state").json["state"]
        assert json.loads(state["queues"]) == memberships(panel.cfg, ana)

        assert (
            client.post(
                "/api/agent/pause", json={"paused": True, "reason": "nap"}, headers=h
            ).status_code
            == 400
        )
        r = client.post("/api/agent/pause", json={"paused": True, "reason": "lunch"}, headers=h)
        assert r.json["results"][0]["response"] == "Success"
        st = client.get("/api/agent/state").json["state"]
        assert (st["state"], st["pause_reason"]) == ("paused", "lunch")
        client.post("/api/agent/pause", json={"paused": False}, headers=h)
        assert client.get("/api/agent/state").json["state"]["state"] == "available"

        r = client.post("/api/agent/queues/leave", headers=h)
        assert {x["queue"] for x in r.json["results"]} == set(memberships(panel.cfg, ana))
        assert client.get("/api/agent/state").json["state"]["state"] == "logged_out"


def test_pops_stream_in_order_and_resume_after_last_event_id(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "ana")
    first = publish_pop(panel.bus, "1001", "c1", "ring")
    second = publish_pop(panel.bus, "1001", "c1", "answer")
    publish_pop(panel.bus, "1002", "other", "ring")  # another agent's pop never leaks
    frames = _sse_frames(client, "/agent/pops?last_id=0-0")
    assert [(f["id"], f["data"]["type"]) for f in frames] == [(first, "ring"), (second, "answer")]
    assert all(f["event"] == "pop" and f["data"]["agent"] == "1001" for f in frames)

    # "disconnected": two pops arrive; the browser comes back with Last-Event-ID
    third = publish_pop(panel.bus, "1001", "c1", "end")
    fourth = publish_pop(panel.bus, "1001", "c2", "ring", caller_name="Otro")
    frames = _sse_frames(client, "/agent/pops", headers={"Last-Event-ID": second})
    assert [f["id"] for f in frames] == [third, fourth]


def test_fresh_page_replays_the_live_call_but_not_finished_ones(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "ana")
    publish_pop(panel.bus, "1001", "old", "ring")
    publish_pop(panel.bus, "1001", "old", "end")
    assert _sse_frames(client, "/agent/pops") == []
    live = publish_pop(panel.bus, "1001", "live", "ring")
    frames = _sse_frames(client, "/agent/pops")
    assert [f["id"] for f in frames] == [live]


def test_bad_last_event_id_is_ignored_not_passed_to_redis(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "ana")
    live = publish_pop(panel.bus, "1001", "x", "ring")
    frames = _sse_frames(client, "/agent/pops", headers={"Last-Event-ID": "$ FLUSHALL"})
    assert [f["id"] for f in frames] == [live]


def _directory(panel: Panel) -> dict[str, int]:
    engine = make_engine(panel.db_url)
    now = datetime.now(UTC)
    with session_scope(make_sessionmaker(engine)) as s:
        org = Organisation(name="Cementos del Golfo S.A.B.", customer_number="10006", vip=True)
        s.add(org)
        s.flush()
        contract = Contract(
            number="CT-1",
            organisation_id=org.id,
            plan="basic",
            starts_on=now - timedelta(days=30),
            ends_on=None,
        )
        old = Contract(
            number="CT-0",
            organisation_id=org.id,
            plan="advanced",
            starts_on=now - timedelta(days=900),
            ends_on=now - timedelta(days=31),
        )
        contact = Contact(organisation_id=org.id, name="Rosa Delgado", email="rosa@example.mx")
        contact.phones.append(ContactPhone(e164="+522291234567", raw="2291234567"))
        s.add_all([contract, old, contact])
        s.flush()
        call = Call(
            pbx_id=panel.cfg.connections.pbx_id,
            linkedid="1700000000.42",
            uniqueid="1700000000.42",
            caller_num="+522291234567",
            contact_id=contact.id,
            started_at=now,
            queue="network_es",
            agent_login="1001",  # answered by ana
        )
        s.add(call)
        s.flush()
        ids = {"org": org.id, "contract": contract.id, "contact": contact.id, "call": call.id}
    engine.dispose()
    return ids


def test_incident_from_the_pop_is_prefilled_and_linked(panel: Panel) -> None:
    ids = _directory(panel)
    client = panel.app.test_client()
    token = login(client, "ana")
    h = {"X-CSRFToken": token}
    body = {
        "call_id": "1700000000.42",
        "contact_id": str(ids["contact"]),
        "title": "Sin red en planta",
        "category": "network",
        "impact": "high",
        "urgency": "medium",
        "channel": "phone",
    }
    r = client.post("/api/incidents", json=body, headers=h)
    assert r.status_code == 201, r.json
    assert r.json["priority"] == panel.cfg.priority.priority("high", "medium")
    number = r.json["number"]

    card = client.get(f"/api/caller?contact_id={ids['contact']}&incident={number}").json
    assert card["contact"]["name"] == "Rosa Delgado"
    assert card["organisation"]["name"] == "Cementos del Golfo S.A.B." and card["vip"] is True
    assert card["contract"]["number"] == "CT-1"  # the expired contract is not the active one
    usage = card["contract"]["usage"]
    assert usage[r.json["priority"]] == {
        "used": 1,
        "allowed": panel.cfg.contracts.plans["basic"].allotments[r.json["priority"]],
    }
    assert [i["number"] for i in card["open_incidents"]] == [number]
    assert card["keyed_incident"]["number"] == number

    page = client.get(f"/incidents/{number}").get_data(as_text=True)
    assert "Rosa Delgado" in page and "Sin red en planta" in page
    assert "+522291234567" in page  # the linked call, with its caller number
    # linking the same call again is idempotent; wrap-up goes on the Call
    assert (
        client.post(
            f"/api/incidents/{number}/link-call", json={"call_id": "1700000000.42"}, headers=h
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/api/calls/1700000000.42/wrapup", json={"code": "bogus"}, headers=h
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/calls/1700000000.42/wrapup", json={"code": "incident_created"}, headers=h
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/api/calls/nope/wrapup", json={"code": "incident_created"}, headers=h
        ).status_code
        == 404
    )
    engine = make_engine(panel.db_url)
    with make_sessionmaker(engine)() as s:
        assert s.get(Call, ids["call"]).wrapup_code == "incident_created"
    engine.dispose()


def test_incident_form_refuses_bad_input_clearly(panel: Panel) -> None:
    client = panel.app.test_client()
    h = {"X-CSRFToken": login(client, "ana")}
    assert (
        client.post("/api/incidents", json={"title": ""}, headers=h).json["error"]
        == "«Título» es obligatorio."
    )
    assert (
        client.post("/api/incidents", json={"title": "x", "impact": "huge"}, headers=h).json[
            "error"
        ]
        == "Elija un valor de la lista."
    )
    for bad in ("²", "-1", "1" * 30, "0x10"):
        r = client.post("/api/incidents", json={"title": "x", "contact_id": bad}, headers=h)
        assert r.status_code == 400 and "contact_id" in r.json["error"], bad
    assert (
        client.post("/api/incidents", json={"title": "x", "category": "<b>"}, headers=h).status_code
        == 400
    )
    assert (
        client.post(
            "/api/incidents", json={"title": "x", "contact_id": "99999"}, headers=h
        ).status_code
        == 400
    )


def test_fake_listener_keeps_its_stream_position(panel: Panel) -> None:
    """A command published while the listener is between two reads is still executed."""
    import time

    from cti_panel.membership import command

    ana = next(a for a in panel.cfg.agents if a.login == "1001")
    listener = FakeListener(panel.bus, _agents(panel))
    panel.bus.publish(panel.bus.keys.commands, command("QueuePause", ana, "old", paused=True))
    with listener:
        # published before the thread's first XREAD can block: `$` would skip these
        for _ in range(3):
            panel.bus.publish(
                panel.bus.keys.commands, command("QueuePause", ana, "ana", paused=True)
            )
        deadline = time.monotonic() + 5
        while len(listener.executed) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [c["requested_by"] for c in listener.executed] == ["ana", "ana", "ana"]
