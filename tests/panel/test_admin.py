"""Administration screens: accounts, their audit trail, read-only configuration, error pages."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from sqlalchemy import select

from servicedesk.db import make_engine, make_sessionmaker
from servicedesk.models import PanelAudit, PanelUser
from tests.panel.conftest import PASSWORD, Panel, csrf_from, login


def _user(panel: Panel, username: str) -> PanelUser | None:
    engine = make_engine(panel.db_url)
    with make_sessionmaker(engine)() as s:
        u = s.scalar(select(PanelUser).where(PanelUser.username == username))
        s.expunge_all()
    engine.dispose()
    return u


def _audit(panel: Panel) -> list[tuple[str, str, str]]:
    engine = make_engine(panel.db_url)
    with make_sessionmaker(engine)() as s:
        rows = [
            (a.actor, a.action, a.target)
            for a in s.scalars(select(PanelAudit).order_by(PanelAudit.id))
        ]
    engine.dispose()
    return rows


def test_admin_lands_on_administration_and_manages_accounts(panel: Panel) -> None:
    client = panel.app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": "root", "password": PASSWORD, "csrf_token": token})
    assert r.headers["Location"] == "/admin/"
    page = client.get("/admin/").get_data(as_text=True)
    token = csrf_from(page)
    assert set(re.findall(r'<tr data-user="([a-z.]+)"', page)) == {"ana", "sofia", "root"}
    assert "Ana López" in page  # the linked agent by name

    r = client.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "username": "carla",
            "password": "una-clave-larga-1",
            "role": "agent",
            "agent_login": "1003",
            "language": "es",
        },
    )
    assert r.status_code == 302
    carla = _user(panel, "carla")
    assert carla is not None and carla.agent_login == "1003" and carla.active
    assert PasswordHasher().verify(carla.password_hash, "una-clave-larga-1")
    # refusals: taken name, short password, agent already linked
    for bad in (
        {"username": "carla", "password": "x" * 12, "role": "agent", "agent_login": "1004"},
        {"username": "dora", "password": "short", "role": "agent", "agent_login": "1004"},
        {"username": "dora", "password": "x" * 12, "role": "agent", "agent_login": "1003"},
        {"username": "Dora Mal", "password": "x" * 12, "role": "supervisor"},
    ):
        client.post("/admin/users", data={"csrf_token": token, "language": "es", **bad})
    assert _user(panel, "dora") is None and _user(panel, "Dora Mal") is None

    # edit role and agent link
    client.post(
        f"/admin/users/{carla.id}",
        data={"csrf_token": token, "role": "supervisor", "agent_login": "", "language": "en"},
    )
    carla = _user(panel, "carla")
    assert (carla.role, carla.agent_login, carla.language) == ("supervisor", None, "en")

    # reset: a generated password shown once; the old one stops working
    before_reset = panel.app.test_client()
    login(before_reset, "carla", "una-clave-larga-1")
    assert before_reset.get("/incidents/").status_code == 200
    page = client.post(f"/admin/users/{carla.id}/password", data={"csrf_token": token})
    assert before_reset.get("/incidents/").status_code == 302  # her open session ended
    new_pw = re.search(
        r'<code id="new-password">([^<]+)</code>', page.get_data(as_text=True)
    ).group(1)
    other = panel.app.test_client()
    login(other, "carla", new_pw)
    stale = panel.app.test_client()
    t = csrf_from(stale.get("/login").get_data(as_text=True))
    assert (
        stale.post(
            "/login", data={"username": "carla", "password": "una-clave-larga-1", "csrf_token": t}
        ).status_code
        == 401
    )

    # disable: her open session ends and she cannot log in again
    client.post(f"/admin/users/{carla.id}/active", data={"csrf_token": token, "active": "0"})
    assert other.get("/incidents/").status_code == 302
    t = csrf_from(stale.get("/login").get_data(as_text=True))
    assert (
        stale.post(
            "/login", data={"username": "carla", "password": new_pw, "csrf_token": t}
        ).status_code
        == 401
    )
    # the admin cannot disable or delete themself
    root = _user(panel, "root")
    client.post(f"/admin/users/{root.id}/active", data={"csrf_token": token, "active": "0"})
    client.post(f"/admin/users/{root.id}/delete", data={"csrf_token": token})
    assert _user(panel, "root").active
    client.post(f"/admin/users/{carla.id}/delete", data={"csrf_token": token})
    assert _user(panel, "carla") is None

    assert _audit(panel) == [
        ("root", "create", "carla"),
        ("root", "edit", "carla"),
        ("root", "reset_password", "carla"),
        ("root", "disable", "carla"),
        ("root", "delete", "carla"),
    ]
    page = client.get("/admin/audit").get_data(as_text=True)
    assert re.findall(r'<tr data-action="(\w+)"', page) == [
        "delete",
        "disable",
        "reset_password",
        "edit",
        "create",
    ]
    assert "password reset" in page and "una-clave" not in page and new_pw not in page


def test_configuration_pages_are_read_only_and_name_the_file(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "root")
    page = client.get("/admin/config").get_data(as_text=True)
    assert "centralita.toml" in page
    for agent in panel.cfg.agents:
        assert agent.name in page
    for line in panel.cfg.lines.values():
        assert line.did in page
    assert "<form" not in page.split("</header>", 1)[1]  # nothing to submit here
    assert "network_es" not in page  # queues by name, not by code


def test_other_roles_get_a_friendly_403_in_their_language(panel: Panel) -> None:
    for user, text in (("ana", "No disponible para su rol"), ("sofia", "Not for your role")):
        client = panel.app.test_client()
        login(client, user)
        r = client.get("/admin/")
        assert r.status_code == 403
        html = r.get_data(as_text=True)
        assert text in html and 'id="error-page"' in html and "Forbidden" not in html
