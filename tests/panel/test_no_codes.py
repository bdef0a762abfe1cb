"""No stored code reaches a person: every code has words in es and en, every catalogue
entry is translated, and rendered pages and pops read as sentences."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from asterisk_conf.prompt_catalogue import AFTER_HOURS_DIGITS, MAIN_MENU_DIGITS
from cti_panel import labels
from servicedesk.models import (
    CALL_OUTCOMES,
    CHANNELS,
    HANGUP_PARTIES,
    INCIDENT_STATUSES,
    PRIORITIES,
)
from tests.panel.conftest import Panel, login
from tests.panel.contract import publish_pop

ROOT = Path(__file__).resolve().parents[2]
PANEL = ROOT / "cti_panel"
# words spelled the same in both languages
SAME_IN_BOTH = {
    "VIP",
    "ASA",
    "AHT",
    "web",
    "plan",
    "no",
    "Error",
    "Error:",
    "%(s)s s",
    "ext. %(ext)s",
    "s",
    "supervisor",
}


def _extracted(tmp_path: Path) -> list[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            ".",
        ],
        cwd=PANEL,
        check=True,
        capture_output=True,
    )
    return [m.id for m in read_po(pot.open("rb")) if m.id]


def test_every_template_and_script_string_is_translated(tmp_path: Path) -> None:
    ids = _extracted(tmp_path)
    assert len(ids) > 300
    es = read_po((PANEL / "translations/es/LC_MESSAGES/messages.po").open("rb"))
    missing = [i for i in ids if i not in es or not es[i].string]
    assert missing == [], f"untranslated in es: {missing[:10]}"
    untranslated = [i for i in ids if es[i].string == i and i not in SAME_IN_BOTH and len(i) > 3]
    assert untranslated == [], untranslated[:10]


def _codes_ami_listener_can_send() -> set[str]:
    src = (ROOT / "ami_listener" / "service.py").read_text(encoding="utf-8")
    return set(re.findall(r'"message": "([^"]+)"', src))


@pytest.mark.parametrize("lang", ["es", "en"])
def test_every_stored_code_has_words(panel: Panel, lang: str) -> None:
    cfg = panel.cfg
    tables = [
        (labels.STATUS, INCIDENT_STATUSES),
        (labels.PRIORITY, PRIORITIES),
        (labels.CHANNEL, CHANNELS),
        (labels.OUTCOME, CALL_OUTCOMES),
        (labels.HANGUP, HANGUP_PARTIES),
        (labels.PAUSE, cfg.panel.pause_reasons),
        (labels.WRAPUP, cfg.panel.wrapup_codes),
        (labels.MENU, MAIN_MENU_DIGITS),
        (labels.AFTER_HOURS, AFTER_HOURS_DIGITS),
        (labels.IDENT, ("ani", "customer_number", "unknown", "withheld", "failed", "ambiguous")),
        (labels.LANGUAGE, ("es", "en")),
        (labels.AMI_MESSAGE, _codes_ami_listener_can_send()),
        (labels.COMMAND, ("QueueAdd", "QueueRemove", "QueuePause")),
    ]
    with panel.app.test_request_context(headers={"Accept-Language": lang}):
        for table, codes in tables:
            for code in codes:
                assert code in table, (code, "has no label")
                words = labels.label(table, code)
                assert words and "_" not in words, (lang, code, words)
                if lang == "es":
                    assert words != code or code in SAME_IN_BOTH, code
        names = labels.Names(cfg, lang)
        for q in cfg.queue_definitions():
            assert names.queue(q) != q and "_" not in names.queue(q)
        for plan in cfg.contracts.plans:
            assert names.plan(plan) and names.plan(plan) != plan
        assert names.plan("intermediate") == "Intermedio"  # the plan's name in the config
        for line in cfg.lines:
            assert names.line(line) != line
        for a in cfg.agents:
            assert names.agent(a.login) == a.name
        js = labels.js_strings()
        assert all(v and "_" not in v for v in js.values())


def test_the_script_string_table_is_translated(panel: Panel) -> None:
    tables = {}
    for lang in ("es", "en"):
        with panel.app.test_request_context(headers={"Accept-Language": lang}):
            tables[lang] = labels.js_strings()
    same = {k for k, v in tables["es"].items() if v == tables["en"][k] and v not in SAME_IN_BOTH}
    assert same == set(), same


def test_the_pop_reads_as_sentences(panel: Panel) -> None:
    client = panel.app.test_client()
    login(client, "ana")
    publish_pop(panel.bus, "1001", "1700000001.1", "ring")
    resp = client.get("/agent/pops", buffered=False)
    body = b""
    for chunk in resp.response:  # type: ignore[union-attr]
        body += chunk
        if b"event: pop" in body and body.endswith(b"\n\n"):
            break
    resp.close()
    data = json.loads(re.search(rb"event: pop\ndata: (.*)\n", body).group(1))
    words = data["words"]
    assert words["ivr"] == "Llamó por: Red e internet · habla español · identificado por su número"
    assert words["queue"] == "Red e internet (español)"
    assert words["category"] == "Red e internet" and words["priority"] == "media"
    assert re.fullmatch(r"\d\d:\d\d:\d\d", words["at"])  # local, 24-hour


CODE_LIKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def _visible(html: str) -> str:
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return html


def test_rendered_pages_show_no_codes(panel: Panel) -> None:
    from datetime import UTC, datetime

    from servicedesk import incidents as core
    from servicedesk.db import make_engine, make_sessionmaker, session_scope
    from servicedesk.models import Call, IncidentCall

    engine = make_engine(panel.db_url)
    with session_scope(make_sessionmaker(engine)) as s:
        inc = core.create_incident(
            s, panel.cfg, title="Sin red", actor="ivr", category="network", channel="phone"
        )
        core.start_work(s, inc, actor="1001")
        call = Call(
            pbx_id=panel.cfg.connections.pbx_id,
            linkedid="1.1",
            uniqueid="1.1",
            started_at=datetime.now(UTC),
            queue="network_es",
            outcome="exit_empty",
            hung_up_by="caller",
            wrapup_code="info_given",
            agent_login="1001",
        )
        s.add(call)
        s.flush()
        s.add(IncidentCall(incident_id=inc.id, call_id=call.id, linked_by="1001"))
    engine.dispose()
    for user in ("ana", "sofia", "root"):
        client = panel.app.test_client()
        login(client, user)
        for path in (
            "/incidents/",
            "/incidents/1",
            "/incidents/new",
            "/admin/",
            "/admin/config",
            "/admin/audit",
            "/agent/",
        ):
            r = client.get(path)
            if r.status_code != 200:
                continue
            text = _visible(r.get_data(as_text=True))
            codes = set(CODE_LIKE.findall(text))
            assert codes == set(), (user, path, codes)
            for raw in ("in_progress", "network_es", "intermediate", "exit_empty", "Forbidden"):
                assert raw not in text, (user, path, raw)


def test_a_sites_own_pause_reason_reads_from_the_config(panel: Panel) -> None:
    from servicedesk.config import CodeLabel

    panel.cfg.panel.pause_reasons.append("coaching")
    panel.cfg.panel.labels["coaching"] = CodeLabel(es="retroalimentación", en="coaching session")
    try:
        for lang, words in (("es", "retroalimentación"), ("en", "coaching session")):
            with panel.app.test_request_context(headers={"Accept-Language": lang}):
                assert labels.label(labels.PAUSE, "coaching") == words
                assert labels.js_strings()["pause.coaching"] == words
        client = panel.app.test_client()
        login(client, "ana")
        assert '<option value="coaching">retroalimentación</option>' in client.get(
            "/agent/"
        ).get_data(as_text=True)
    finally:
        panel.cfg.panel.pause_reasons.remove("coaching")
        del panel.cfg.panel.labels["coaching"]
