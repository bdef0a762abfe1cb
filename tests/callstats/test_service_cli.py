"""`centralita stats monthly | staffing | recipients` as a person runs them: the files
they write, the e-mail a real SMTP server (aiosmtpd, started here) receives, and one
clear line — never a traceback, never a stray database file — when the database is
missing, unconfigured or not migrated."""

from __future__ import annotations

import base64
import email
import email.policy
import io
import json
import socket
import subprocess
import sys
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from centralita.cli import main as centralita_main
from tests.callstats.service_fixture import ALFA, BETA, seed_month

ROOT = Path(__file__).resolve().parents[2]
# a 1×1 PNG
LOGO_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
EXAMPLE = (ROOT / "centralita.example.toml").read_text(encoding="utf-8")


def write_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    text = EXAMPLE.replace('url = "sqlite:///centralita.db"', f'url = "{url}"')
    text = text.replace(
        'url_env = "CENTRALITA_DATABASE_URL"', 'url_env = "CENTRALITA_TEST_NO_SUCH_VAR"'
    )
    path = tmp_path / "centralita.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command line in a fresh process (no pytest capture tricks)."""
    return subprocess.run(
        [sys.executable, "-m", "centralita", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={
            "PYTHONPATH": str(ROOT),
            "PATH": "/usr/bin:/bin",
            "CENTRALITA_STATE_DIR": str(cwd.parent / "state"),  # relative SQLite paths land here
        },
        timeout=120,
    )


def test_database_errors_are_one_line(tmp_path: Path) -> None:
    work = tmp_path / "w"
    work.mkdir()
    # a missing SQLite file: no stray file, one line naming the fix
    cfg = write_config(tmp_path, "sqlite:///centralita.db")
    res = run(
        ["stats", "monthly", "--config", str(cfg), "--month", "2026-03", "--format", "json"], work
    )
    assert res.returncode == 2 and res.stdout == ""
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert "does not exist" in res.stderr and "centralita db upgrade" in res.stderr
    assert list(work.iterdir()) == [] and not (tmp_path / "centralita.db").exists()
    assert not (tmp_path / "state" / "centralita.db").exists()  # nor in the state dir
    # no database configured at all
    cfg = write_config(tmp_path, "")
    res = run(["stats", "staffing", "--config", str(cfg)], work)
    assert res.returncode == 2 and "no database configured" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    # a database without the schema
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    cfg = write_config(tmp_path, f"sqlite:///{empty}")
    res = run(
        [
            "stats",
            "monthly",
            "--config",
            str(cfg),
            "--month",
            "2026-03",
            "--format",
            "pdf",
            "--out",
            "x.pdf",
        ],
        work,
    )
    assert (
        res.returncode == 2
        and "not migrated" in res.stderr
        and "centralita db upgrade" in res.stderr
    )
    assert len(res.stderr.strip().splitlines()) == 1 and not (work / "x.pdf").exists()
    # PostgreSQL that refuses the connection
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cfg = write_config(tmp_path, f"postgresql://u:secret@127.0.0.1:{port}/nodb")
    res = run(["stats", "monthly", "--config", str(cfg), "--month", "2026-03"], work)
    assert (
        res.returncode == 2 and "cannot open database" in res.stderr and "secret" not in res.stderr
    )
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


@pytest.fixture()
def seeded_db(db_url: str, engine, session_factory: sessionmaker[Session]) -> str:  # type: ignore[no-untyped-def]
    seed_month(session_factory)
    return db_url


def test_monthly_files(seeded_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the desk's name and logo from [reports]; the logo's path is relative to the config file
    (tmp_path / "logo.png").write_bytes(LOGO_PNG)
    cfg = str(
        write_config(
            tmp_path, seeded_db, '\n[reports]\ndesk_name = "Mesa TI Anáhuac"\nlogo = "logo.png"\n'
        )
    )
    base = ["stats", "monthly", "--config", cfg, "--month", "2026-03"]
    pdf, xlsx, html = tmp_path / "r.pdf", tmp_path / "r.xlsx", tmp_path / "r.html"
    assert (
        centralita_main([*base, "--organisation", ALFA, "--format", "pdf", "--out", str(pdf)]) == 0
    )
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Informe mensual de servicio" in text and ALFA in text  # Spanish by default
    assert "Mesa TI Anáhuac" in text
    assert (
        centralita_main(
            [*base, "--contract", "A-1", "--lang", "en", "--format", "xlsx", "--out", str(xlsx)]
        )
        == 0
    )
    wb = load_workbook(io.BytesIO(xlsx.read_bytes()))
    assert "Calls per queue" in wb.sheetnames and "Definitions" in wb.sheetnames
    assert (
        centralita_main([*base, "--edition", "internal", "--format", "html", "--out", str(html)])
        == 0
    )
    page = html.read_text(encoding="utf-8")
    assert (
        "Edición interna" in page
        and "Dimensionamiento" in page
        and BETA.replace("&", "&amp;") in page
    )
    assert centralita_main([*base, "--organisation", ALFA, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    total = next(r for r in data["tables"]["calls"] if r["queue"] == "TOTAL")
    assert total["offered"] == 8 and total["sl_formula"] == "answered"
    assert data["period"]["overall_sl_formula"] == "answered" and data["period"]["scope"] == ALFA
    assert {r["priority"]: r["opened"] for r in data["tables"]["incidents"]}["TOTAL"] == 13
    # mistakes a person makes
    assert centralita_main([*base, "--format", "pdf"]) == 2
    assert "--out" in capsys.readouterr().err
    assert centralita_main([*base, "--organisation", "Nadie", "--format", "json"]) == 2
    assert "no organisation named 'Nadie'" in capsys.readouterr().err


def test_staffing_cli(seeded_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(write_config(tmp_path, seeded_db))
    assert (
        centralita_main(
            [
                "stats",
                "staffing",
                "--config",
                cfg,
                "--date",
                "2026-04-01",
                "--all",
                "--format",
                "json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["period"]["week_of"] == "2026-04-06"
    rows = data["tables"]["staffing"]
    monday = next(
        r
        for r in rows
        if r["queue"] == "network_es" and r["weekday"] == "mon" and r["interval"] == "10:00"
    )
    assert monday["needed"] >= 1 and monday["calls"] > 0


class _Collector(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)


def test_send_by_email_end_to_end(
    seeded_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = _Collector()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Controller(handler, hostname="127.0.0.1", port=port)
    server.start()
    try:
        smtp = f'\n[reports.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\nfrom_address = "informes@mesa.example"\n'
        cfg = str(write_config(tmp_path, seeded_db, smtp))
        rc = ["stats", "recipients", "--config", cfg]
        assert (
            centralita_main(
                [*rc, "add", "--organisation", ALFA, "--email", "ana@alfa.example", "--name", "Ana"]
            )
            == 0
        )
        assert (
            centralita_main(
                [*rc, "add", "--organisation", "200", "--email", "bob@beta.example", "--lang", "en"]
            )
            == 0
        )
        assert (
            centralita_main([*rc, "add", "--organisation", ALFA, "--email", "not an address"]) == 2
        )
        capsys.readouterr()
        assert centralita_main([*rc, "list"]) == 0
        assert "ana@alfa.example" in capsys.readouterr().out
        assert (
            centralita_main(["stats", "monthly", "--config", cfg, "--month", "2026-03", "--send"])
            == 0
        )
        out = capsys.readouterr().out
        assert out.count(": sent") == 2
    finally:
        server.stop()
    by_to = {m["To"]: m for m in handler.messages}
    assert set(by_to) == {"ana@alfa.example", "bob@beta.example"}
    es = email.message_from_bytes(by_to["ana@alfa.example"].as_bytes(), policy=email.policy.default)
    assert "informe mensual de servicio de marzo de 2026" in es["Subject"] and ALFA in es["Subject"]
    assert "informes@mesa.example" in es["From"]
    parts = {p.get_filename(): p for p in es.walk() if p.get_filename()}
    assert set(parts) == {
        "informe-2026-03-alfa-manufacturas-s-a-de-c-v.pdf",
        "informe-2026-03-alfa-manufacturas-s-a-de-c-v.xlsx",
    }
    pdf = parts["informe-2026-03-alfa-manufacturas-s-a-de-c-v.pdf"].get_payload(decode=True)
    path = tmp_path / "got.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert ALFA in text and BETA not in text
    en = email.message_from_bytes(by_to["bob@beta.example"].as_bytes(), policy=email.policy.default)
    assert "monthly service report for March 2026" in en["Subject"]
    xlsx = next(p for p in en.walk() if (p.get_filename() or "").endswith(".xlsx")).get_payload(
        decode=True
    )
    assert "Executive summary" in load_workbook(io.BytesIO(xlsx)).sheetnames
