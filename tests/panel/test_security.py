"""Every route is role-checked, CSRF-checked, rate-limited where it matters, and sends safe headers."""

from __future__ import annotations

import pytest

from tests.panel.conftest import PASSWORD, Panel, login

PUBLIC_ENDPOINTS = {"auth.login", "ops.health", "ops.live", "ops.metrics", "static"}


def _url(rule) -> str:  # type: ignore[no-untyped-def]
    values = {arg: "1" for arg in rule.arguments}
    if "action" in rule.arguments:
        values["action"] = "assign"
    return (
        rule.rule.replace("<int:number>", "1")
        .replace("<int:user_id>", "1")
        .replace("<linkedid>", "1")
        .replace("<action>", values.get("action", "1"))
        .replace("<path:filename>", "panel.css")
    )


def test_every_route_declares_roles_or_is_deliberately_public(panel: Panel) -> None:
    for rule in panel.app.url_map.iter_rules():
        view = panel.app.view_functions[rule.endpoint]
        if rule.endpoint in PUBLIC_ENDPOINTS:
            assert rule.endpoint == "static" or getattr(view, "public", False), rule.endpoint
            continue
        roles = getattr(view, "required_roles", None)
        assert roles, f"{rule.rule} ({rule.endpoint}) has no roles_required"
        assert roles <= {"agent", "supervisor", "admin"}


def test_anonymous_requests_are_refused_everywhere(panel: Panel) -> None:
    client = panel.app.test_client()
    panel.app.config["WTF_CSRF_ENABLED"] = False  # reach the role check, not the CSRF check
    checked = 0
    for rule in panel.app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            resp = client.open(_url(rule), method=method)
            if rule.rule.startswith("/api/"):
                assert resp.status_code == 401, (method, rule.rule, resp.status_code)
            else:
                assert resp.status_code == 302, (method, rule.rule, resp.status_code)
                assert "/login" in resp.headers["Location"]
            checked += 1
    assert checked >= 20


def test_agent_cannot_reach_supervisor_pages_or_api(panel: Panel) -> None:
    client = panel.app.test_client()
    token = login(client, "ana")
    staff_only = [
        r
        for r in panel.app.url_map.iter_rules()
        if getattr(panel.app.view_functions[r.endpoint], "required_roles", None)
        == {"supervisor", "admin"}
    ]
    assert {r.rule for r in staff_only} >= {"/supervisor/", "/supervisor/stream", "/api/wallboard"}
    for rule in staff_only:
        if "GET" in rule.methods:
            resp = client.get(_url(rule))
        else:  # POST-only actions (e.g. supervision): past CSRF, refused by role
            resp = client.post(_url(rule), headers={"X-CSRFToken": token})
        assert resp.status_code == 403, rule.rule


def test_supervisor_cannot_use_the_agent_console(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "sofia")
    assert client.get("/agent/").status_code == 403
    assert client.post("/api/agent/queues/join").status_code in (
        400,
        403,
    )  # CSRF or role: never allowed
    assert client.get("/supervisor/").status_code == 200


def test_post_without_csrf_token_is_refused(panel: Panel) -> None:
    client = panel.app.test_client()
    token = login(client, "ana")
    before = panel.bus.r.xlen(panel.bus.keys.commands)
    resp = client.post("/api/agent/pause", json={"paused": True, "reason": "lunch"})
    assert resp.status_code == 400
    assert panel.bus.r.xlen(panel.bus.keys.commands) == before
    resp = client.post(
        "/api/agent/pause",
        json={"paused": True, "reason": "lunch"},
        headers={"X-CSRFToken": "forged"},
    )
    assert resp.status_code == 400
    # the same request with the session's token goes through (the listener is absent: pending)
    resp = client.post(
        "/api/agent/pause", json={"paused": True, "reason": "lunch"}, headers={"X-CSRFToken": token}
    )
    assert resp.status_code == 200
    assert panel.bus.r.xlen(panel.bus.keys.commands) == before + 1


def test_login_form_needs_csrf_too(panel: Panel) -> None:
    client = panel.app.test_client()
    resp = client.post("/login", data={"username": "ana", "password": PASSWORD})
    assert resp.status_code == 400


def test_security_headers_and_cookie_flags(panel: Panel) -> None:
    panel.app.config["SESSION_COOKIE_SECURE"] = True
    client = panel.app.test_client()
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_pages_have_no_inline_script(panel: Panel) -> None:
    import re

    client = panel.app.test_client()
    for user, path in (("ana", "/agent/"), ("sofia", "/supervisor/"), ("sofia", "/incidents/")):
        c = panel.app.test_client()
        login(c, user)
        html = c.get(path).get_data(as_text=True)
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert " on" + "click=" not in html
    health = client.get("/healthz")
    assert health.status_code == 200
    assert (health.json["ready"], health.json["database"]) == (True, "ok")


def test_login_redirect_refuses_other_sites(panel: Panel) -> None:
    client = panel.app.test_client()
    from tests.panel.conftest import csrf_from

    token = csrf_from(client.get("/login").get_data(as_text=True))
    resp = client.post(
        "/login?next=//evil.example/x",
        data={"username": "ana", "password": PASSWORD, "csrf_token": token},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/agent/"


@pytest.mark.parametrize(
    ("user", "lang", "expected"), [("ana", "es", "Consola"), ("sofia", "en", "Wallboard")]
)
def test_each_user_sees_their_language_and_can_switch(
    panel: Panel, user: str, lang: str, expected: str
) -> None:
    client = panel.app.test_client()
    token = login(client, user)
    home = "/agent/" if user == "ana" else "/supervisor/"
    html = client.get(home).get_data(as_text=True)
    assert f'<html lang="{lang}">' in html and expected in html
    other = "en" if lang == "es" else "es"
    resp = client.post("/language", data={"language": other, "next": home, "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == home
    html = client.get(home).get_data(as_text=True)
    assert f'<html lang="{other}">' in html
    assert (">Incidents<" if other == "en" else ">Incidentes<") in html


def test_catalogues_compile_into_the_cache_never_into_the_checkout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from cti_panel.i18n import TRANSLATIONS, compile_catalogues

    src = tmp_path / "t"
    shutil.copytree(TRANSLATIONS, src)
    for mo in src.glob("*/LC_MESSAGES/messages.mo"):
        mo.unlink()
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    out = compile_catalogues(src, cache=tmp_path / "cache")
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before  # source untouched
    assert {p.parent.parent.name for p in out.glob("*/LC_MESSAGES/messages.mo")} == {"es", "en"}
    from babel.support import Translations

    es = Translations.load(str(out), ["es"])
    assert es.gettext("Join my queues") == "Entrar a mis colas"
    # an edited catalogue compiles into a new folder (no mtime guessing); the same one is reused
    assert compile_catalogues(src, cache=tmp_path / "cache") == out
    po = src / "es" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert compile_catalogues(src, cache=tmp_path / "cache") != out


def test_admin_reaches_agent_and_supervisor_views(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "root")
    for path in (
        "/agent/",
        "/supervisor/",
        "/incidents/",
        "/api/wallboard",
        "/api/agent/state",
        "/admin/",
        "/admin/audit",
        "/admin/config",
    ):
        assert client.get(path).status_code == 200, path
