"""The Alembic migration builds exactly the models' schema, on both engines."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from servicedesk import migrate
from servicedesk.db import make_engine
from servicedesk.models import Base

ROOT = Path(__file__).resolve().parents[2]


REGENERATE = "models changed: regenerate with `python -m servicedesk.migrate regenerate`"


def test_single_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_upgrade_matches_models_and_round_trips(db_url: str) -> None:
    migrate.upgrade(db_url)
    head = ScriptDirectory.from_config(migrate.alembic_config(db_url)).get_current_head()
    assert migrate.current_revision(db_url) == head
    diff = migrate.schema_diff(db_url)  # `alembic check`: nothing left to autogenerate
    assert diff == [], f"{REGENERATE}: {diff}"

    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        # CHECK constraints are not compared by autogenerate: prove they exist.
        now = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO incident (number, title, description, impact, urgency,"
                    " priority, priority_overridden, status, level, channel, created_at,"
                    " created_by, updated_at) VALUES (1, 't', '', 'medium', 'medium',"
                    " 'medium', false, 'lost', 1, 'phone', :now, 'x', :now)"
                ),
                {"now": now},
            )
    finally:
        engine.dispose()

    migrate.upgrade(db_url)  # idempotent at head
    migrate.downgrade(db_url, "base")
    engine = make_engine(db_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    migrate.upgrade(db_url)
    assert migrate.schema_diff(db_url) == [], REGENERATE


def test_diff_detects_a_missing_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE incident DROP COLUMN recording_path"))
    engine.dispose()
    diff = migrate.schema_diff(url)
    assert any(d[0] == "add_column" and d[3].name == "recording_path" for d in diff), diff


def test_db_upgrade_command(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    proc = subprocess.run(
        [sys.executable, "-m", "centralita", "db", "upgrade", "--url", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "database at head" in proc.stdout
    assert migrate.schema_diff(f"sqlite:///{db}") == []


def _upgrade(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "centralita", "db", "upgrade", "--url", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_db_upgrade_refuses_tables_it_did_not_make_in_one_line(tmp_path: Path) -> None:
    """A database built by `create_all` (no migration record): Alembic would die on
    "table already exists" with a traceback; the command says what is wrong instead."""
    url = f"sqlite:///{tmp_path / 'made_by_hand.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    proc = _upgrade(url)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "no migration record" in line and "centralita db upgrade" in line


def test_db_upgrade_unreachable_server_in_one_line() -> None:
    proc = _upgrade("postgresql://u:p@127.0.0.1:1/none")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: 127.0.0.1:1/none: cannot open the database")
    assert "u:p" not in line  # never the password
