"""Every route × role × ownership, with malformed numbers on every parameter: never a 500.

The walk is generated from the app's url_map, so a new route is covered the day
it is added. Values include '²' (str.isdigit() says True), 30-digit numbers
(overflow the INTEGER columns), negatives, hex, NUL and SQL-looking text.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from servicedesk import incidents as core
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.models import Call, Contact, Incident, Organisation
from tests.panel.conftest import Panel, login

BAD = ["²", "1" * 30, "-1", "0x1f", "1e3", "\x00", "' OR 1=1 --", "٣", "1-٣", ""]
QUERY_PARAMS = [
    "q",
    "organisation",
    "page",
    "contact_id",
    "incident",
    "agent",
    "status",
    "priority",
    "sla",
    "last_id",
    "lang",
    "next",
]
BODY_FIELDS = [
    "contact_id",
    "level",
    "target",
    "assignee",
    "accepted",
    "title",
    "category",
    "impact",
    "urgency",
    "code",
    "call_id",
    "paused",
    "reason",
    "solution",
    "note",
    "role",
    "agent_login",
    "language",
    "username",
    "password",
    "active",
]
PATH_VALUES = {"number": ["1", "999999"], "user_id": ["999999"], "linkedid": ["1800000000.7"]}
PATH_VALUES["action"] = ["assign", "resolve", "escalate", "verify", "comment", "nope"]
BAD_PATH = {"number": BAD[:5], "user_id": BAD[:5], "linkedid": ["²", "1" * 300], "action": ["²"]}


def _seed(panel: Panel) -> None:
    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        org = Organisation(name="Aceros")
        s.add(org)
        s.flush()
        contact = Contact(organisation_id=org.id, name="Rosa")
        s.add(contact)
        s.flush()
        inc = core.create_incident(s, panel.cfg, title="Ajeno", actor="ivr", category="email")
        core.assign(s, inc, assignee="1003", actor="sofia")
        s.add(
            Call(
                pbx_id=panel.cfg.connections.pbx_id,
                linkedid="1800000000.7",
                uniqueid="1800000000.7",
                started_at=datetime.now(UTC),
                agent_login="1003",
                contact_id=contact.id,
            )
        )
    engine.dispose()


def _fill(rule, values: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
    return path


def _paths(rule) -> list[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    """(path, well-formed): every good combination, and each bad value in each place."""
    names = sorted(rule.arguments)
    out = []
    for combo in itertools.product(*(PATH_VALUES.get(n, ["1"]) for n in names)):
        out.append((_fill(rule, dict(zip(names, combo, strict=True))), True))
    for name in names:
        for bad in BAD_PATH.get(name, []):
            good = {n: PATH_VALUES.get(n, ["1"])[0] for n in names}
            out.append((_fill(rule, {**good, name: bad}), False))
    return out


@pytest.mark.parametrize("role", ["anonymous", "ana", "sofia", "root"])
def test_no_route_answers_500_to_any_role_or_value(panel: Panel, role: str) -> None:
    _seed(panel)
    panel.app.config["WTF_CSRF_ENABLED"] = False  # reach the handlers, not the CSRF check
    panel.app.extensions["centralita"].sse_max_seconds = 0.05
    panel.app.extensions["centralita"].sse_block_ms = 10
    panel.app.extensions["centralita"].command_timeout_s = 0.01  # no listener here
    client = panel.app.test_client()
    if role != "anonymous":
        login(client, role)
    seen = 0
    for rule in panel.app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule in ("/logout", "/login"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for path, well_formed in _paths(rule):
                for bad in BAD if well_formed else BAD[:1]:
                    if method == "GET":
                        resp = client.get(path, query_string={p: bad for p in QUERY_PARAMS})
                    else:
                        body = {f: bad for f in BODY_FIELDS}
                        resp = (
                            client.post(path, json=body)
                            if path.startswith("/api/")
                            else client.post(path, data=body)
                        )
                    assert resp.status_code < 500, (role, method, path, repr(bad), resp.status_code)
                    if resp.status_code == 400 and not path.startswith("/api/"):
                        assert 'id="error-page"' in resp.get_data(as_text=True)
                    resp.close()
                    seen += 1
    assert seen > 300
    # ownership: whatever ana posted, the incident of 1003 is unchanged
    engine = make_engine(panel.db_url)
    with make_sessionmaker(engine)() as s:
        inc = s.scalar(select(Incident).where(Incident.number == 1))
        if role == "ana":
            assert (inc.status, inc.assignee_login, inc.level) == ("assigned", "1003", 1)
            assert s.get(Call, 1).wrapup_code is None  # not her call
    engine.dispose()


def test_malformed_numbers_are_400_or_404_with_a_friendly_page(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "sofia")
    assert client.get("/incidents/" + "9" * 30).status_code == 404
    assert client.get("/incidents/²").status_code == 404
    r = client.get("/incidents/?organisation=²")
    assert r.status_code == 400 and "organisation" in r.get_data(as_text=True)
    assert client.get("/incidents/?page=²").status_code == 200  # a bad page is page 1
    r = client.get("/api/caller?contact_id=" + "1" * 30)
    assert r.status_code == 400 and "contact_id" in r.json["error"]
    assert client.get("/api/caller?incident=²").status_code == 400
    page = client.get("/no/such/page").get_data(as_text=True)
    assert "Page not found" in page and "Werkzeug" not in page and "Not Found" not in page


def test_an_unexpected_error_is_a_friendly_500_and_is_logged(panel: Panel, caplog) -> None:  # type: ignore[no-untyped-def]
    from cti_panel.security import roles_required

    @roles_required("agent", "supervisor", "admin")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("kaput")

    panel.app.add_url_rule("/boom", "boom", boom)
    client = panel.app.test_client()
    login(client, "ana")
    with caplog.at_level("ERROR", logger="centralita.panel"):
        r = client.get("/boom")
    html = r.get_data(as_text=True)
    assert r.status_code == 500 and "Algo salió mal" in html and "kaput" not in html
    assert "Traceback" not in html and any(
        "kaput" in (rec.exc_text or str(rec.exc_info)) for rec in caplog.records
    )
