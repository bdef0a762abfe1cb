"""Wallboard supervision through the panel: only supervisors with a phone, audited at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cti_panel.app import create_app
from servicedesk.calling_models import SupervisionEvent
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.outbound import requests_stream
from tests.panel.conftest import Panel, login


@pytest.fixture()
def panel_sup(panel: Panel) -> Panel:
    calling = panel.cfg.calling.model_copy(
        update={"supervisor_endpoints": ["sup1"], "supervisor_phones": {"sofia": "sup1"}}
    )
    cfg = panel.cfg.model_copy(update={"calling": calling})
    app = create_app(
        cfg,
        database_url=panel.db_url,
        bus=panel.bus,
        secret_key="test-secret-key-0123456789abcdef",
        secure_cookies=False,
        testing=True,
    )
    return Panel(app, panel.bus, cfg, panel.db_url)


def test_supervisor_whispers_from_the_wallboard(panel_sup: Panel) -> None:
    client = panel_sup.app.test_client()
    token = login(client, "sofia")
    html = client.get("/supervisor/").get_data(as_text=True)
    assert 'id="supervise"' in html and "supervise.js" in html
    resp = client.post(
        "/api/calling/supervise",
        json={"agent": "1001", "mode": "whisper"},
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == 202, resp.get_json()
    rid = resp.get_json()["request_id"]
    ((_id, fields),) = panel_sup.bus.read(requests_stream("centralita"))
    assert fields == {
        "kind": "spy",
        "request_id": rid,
        "endpoint": "sup1",
        "agent": "1001",
        "mode": "whisper",
        "actor": "sofia",
    }
    with session_scope(make_sessionmaker(make_engine(panel_sup.db_url))) as s:
        (ev,) = s.scalars(select(SupervisionEvent)).all()
        assert (ev.kind, ev.mode, ev.actor, ev.source, ev.agent_login) == (
            "requested",
            "whisper",
            "sofia",
            "panel",
            "1001",
        )


def test_bad_requests_and_roles(panel_sup: Panel) -> None:
    client = panel_sup.app.test_client()
    token = login(client, "sofia")
    h = {"X-CSRFToken": token}
    bad_mode = client.post("/api/calling/supervise", json={"agent": "1001", "mode": "x"}, headers=h)
    assert bad_mode.status_code == 400
    ghost = client.post("/api/calling/supervise", json={"agent": "9", "mode": "listen"}, headers=h)
    assert ghost.status_code == 404
    agent = panel_sup.app.test_client()
    token = login(agent, "ana")
    resp = agent.post(
        "/api/calling/supervise",
        json={"agent": "1001", "mode": "listen"},
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == 403
    admin = panel_sup.app.test_client()
    token = login(admin, "root")  # staff, but no supervisor phone
    resp = admin.post(
        "/api/calling/supervise",
        json={"agent": "1001", "mode": "listen"},
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == 409 and resp.get_json()["code"] == "no_phone"
    assert "supervise.js" not in admin.get("/supervisor/").get_data(as_text=True)
    assert panel_sup.bus.read(requests_stream("centralita")) == []
