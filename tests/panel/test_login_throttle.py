"""Login throttling: guessing slows down, nobody can lock another person out,
and login keeps working while Redis is down."""

from __future__ import annotations

import socket

import redis as redis_lib
from flask.testing import FlaskClient

from cti_panel.app import create_app
from cti_panel.throttle import Limits, LoginThrottle
from servicedesk.bus import Bus
from tests.panel.conftest import PASSWORD, Panel, csrf_from, login


def _client(panel: Panel, ip: str) -> FlaskClient:
    client = panel.app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def _try(client: FlaskClient, username: str, password: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_an_attacker_cannot_lock_the_owner_out(panel: Panel) -> None:
    limit = panel.cfg.panel.login_attempts_per_minute
    ana_desk = _client(panel, "10.0.0.5")
    login(ana_desk, "ana")  # her browser is now a known device for "ana"
    token = csrf_from(ana_desk.get("/incidents/").get_data(as_text=True))
    ana_desk.post("/logout", data={"csrf_token": token})
    attacker = _client(panel, "203.0.113.9")
    codes = [_try(attacker, "ana", f"guess-{i}").status_code for i in range(limit + 3)]
    assert codes[:limit] == [401] * limit and codes[-1] == 429
    r = _try(attacker, "ana", PASSWORD)
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 60
    # Ana at her own desk gets straight in with the right password
    assert _try(ana_desk, "ana", PASSWORD).status_code == 302
    # the counters were cleared by her success
    assert panel.bus.r.exists("centralita:panel:loginfail:user:ana") == 0


def test_a_new_browser_waits_at_most_a_minute_never_a_lockout(panel: Panel) -> None:
    limit = panel.cfg.panel.login_attempts_per_minute
    attacker = _client(panel, "203.0.113.9")
    for i in range(limit + 10):
        _try(attacker, "ana", f"guess-{i}")
    stranger = _client(panel, "198.51.100.7")
    r = _try(stranger, "ana", PASSWORD)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) <= 60
    assert "segundos" in r.get_data(as_text=True) or "seconds" in r.get_data(as_text=True)


def test_spraying_many_users_from_one_address_is_slowed(panel: Panel) -> None:
    sprayer = _client(panel, "203.0.113.50")
    codes = [_try(sprayer, f"user{i}", "Password1!").status_code for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[-1] == 429
    # even a right password from that address waits; other addresses are unaffected
    assert _try(sprayer, "sofia", PASSWORD).status_code == 429
    assert _try(_client(panel, "192.0.2.1"), "sofia", PASSWORD).status_code == 302


def test_delays_grow_and_are_capped(panel: Panel) -> None:
    t = LoginThrottle(panel.bus.r, "centralita", Limits(account_free=2, account_cap_s=60))
    now = 1_000_000.0
    waits = []
    for i in range(10):
        t.failed("bob", f"10.0.{i}.1", now=now)  # a different address each time
        v = t.check("bob", "10.9.9.9", known_device=False, now=now)
        waits.append(v.retry_after_s)
    assert waits[0] == 0 and waits[1] > 0
    assert waits == sorted(waits) and max(waits) <= 61
    assert t.check("bob", "10.9.9.9", known_device=False, now=now + 61).allowed
    assert t.check("bob", "10.9.9.9", known_device=True, now=now).allowed


def _dead_redis_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return f"redis://127.0.0.1:{port}/0"


def test_login_works_and_live_views_say_503_while_redis_is_down(panel: Panel) -> None:
    dead = redis_lib.Redis.from_url(_dead_redis_url(), decode_responses=True)
    app = create_app(
        panel.cfg,
        database_url=panel.db_url,
        bus=Bus(dead, "centralita"),
        secret_key="test-secret-key-0123456789abcdef",
        secure_cookies=False,
        testing=True,
    )
    client = app.test_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": "sofia", "password": "wrong", "csrf_token": token})
    assert r.status_code == 401
    r = client.post("/login", data={"username": "sofia", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    r = client.get("/api/wallboard")
    assert r.status_code == 503 and "Redis" in r.json["error"]
    assert client.get("/incidents/").status_code == 200  # the database still serves
    agent = app.test_client()
    login(agent, "ana")
    page = agent.get("/agent/")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert 'id="error-page"' in text and "en vivo" in text  # Spanish, friendly, no traceback


def test_a_known_device_is_not_held_by_its_shared_address(panel: Panel) -> None:
    """Office NAT: a sprayer behind the same address must not keep Ana out."""
    office = "198.51.100.20"
    ana = _client(panel, office)
    login(ana, "ana")
    token = csrf_from(ana.get("/incidents/").get_data(as_text=True))
    ana.post("/logout", data={"csrf_token": token})
    sprayer = _client(panel, office)
    for i in range(15):
        _try(sprayer, f"user{i}", "Password1!")
    assert _try(sprayer, "sofia", PASSWORD).status_code == 429  # strangers wait
    assert _try(ana, "ana", PASSWORD).status_code == 302  # Ana does not


def test_behind_a_proxy_the_forwarded_address_counts(panel: Panel, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CENTRALITA_PANEL_PROXIES", "1")
    app = create_app(
        panel.cfg,
        database_url=panel.db_url,
        bus=panel.bus,
        secret_key="test-secret-key-0123456789abcdef",
        secure_cookies=False,
        testing=True,
    )
    c = app.test_client()
    for i in range(12):
        token = csrf_from(c.get("/login").get_data(as_text=True))
        c.post(
            "/login",
            data={"username": f"u{i}", "password": "x", "csrf_token": token},
            headers={"X-Forwarded-For": "203.0.113.77"},
        )
    keys = panel.bus.r.keys("centralita:panel:loginfail:ip:*")
    assert keys == ["centralita:panel:loginfail:ip:203.0.113.77"]
    monkeypatch.setenv("CENTRALITA_PANEL_PROXIES", "²")
    import pytest

    with pytest.raises(RuntimeError):
        create_app(panel.cfg, database_url=panel.db_url, bus=panel.bus, testing=True)
