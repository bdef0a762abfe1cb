"""Panel fixtures: the real app on a real database (both engines) and a real Redis."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from cti_panel.app import create_app
from cti_panel.users import ensure_user
from servicedesk.bus import Bus
from servicedesk.config import CentralitaConfig
from servicedesk.db import make_sessionmaker, session_scope

PASSWORD = "correct horse battery"


@dataclass
class Panel:
    app: Flask
    bus: Bus
    cfg: CentralitaConfig
    db_url: str


def seed_users(engine: Engine) -> None:
    with session_scope(make_sessionmaker(engine)) as s:
        ensure_user(s, "ana", PASSWORD, "agent", agent_login="1001", language="es")
        ensure_user(s, "sofia", PASSWORD, "supervisor", language="en")
        ensure_user(s, "root", PASSWORD, "admin", agent_login="1002", language="en")


@pytest.fixture()
def bus(redis_url: str) -> Iterator[Bus]:
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    yield Bus(client, "centralita")
    client.close()


@pytest.fixture()
def panel(engine: Engine, db_url: str, bus: Bus, example_config: CentralitaConfig) -> Panel:
    seed_users(engine)
    app = create_app(
        example_config,
        database_url=db_url,
        bus=bus,
        secret_key="test-secret-key-0123456789abcdef",
        secure_cookies=False,
        sse_max_seconds=2.0,
        command_timeout_s=1.0,
        testing=True,
    )
    return Panel(app, bus, example_config, db_url)


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, "page has no CSRF meta tag"
    return m.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> str:
    """Logs in through the real form (with its CSRF token); returns a fresh token for later POSTs."""
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    resp = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    home = client.get(resp.headers["Location"])
    return csrf_from(home.get_data(as_text=True))


@pytest.fixture()
def db_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Security and SSE behaviour does not depend on the engine: SQLite keeps these fast.
    Modules that touch engine-specific SQL (incidents) override this with both engines."""
    return f"sqlite:///{tmp_path / 'panel.db'}"
