"""`centralita panel user` creates accounts that can log in; the panel refuses to start unsigned."""

from __future__ import annotations

import pytest

from centralita.cli import main
from cti_panel.app import create_app
from tests.conftest import EXAMPLE_CONFIG
from tests.panel.conftest import Panel, login


def test_panel_user_command_creates_a_working_account(
    panel: Panel, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    cfg_path = tmp_path / "centralita.toml"
    cfg_path.write_text(
        EXAMPLE_CONFIG.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    monkeypatch.setenv("CENTRALITA_DATABASE_URL", panel.db_url)
    monkeypatch.setenv("CENTRALITA_PANEL_PASSWORD", "short")
    assert (
        main(
            [
                "panel",
                "user",
                "lucia",
                "--role",
                "agent",
                "--agent",
                "1004",
                "--config",
                str(cfg_path),
            ]
        )
        == 1
    )
    monkeypatch.setenv("CENTRALITA_PANEL_PASSWORD", "una clave larga")
    assert (
        main(
            [
                "panel",
                "user",
                "lucia",
                "--role",
                "agent",
                "--agent",
                "1004",
                "--language",
                "en",
                "--config",
                str(cfg_path),
            ]
        )
        == 0
    )
    client = panel.app.test_client()
    login(client, "lucia", "una clave larga")
    assert client.get("/api/agent/state").json["memberships"]
    admin = panel.app.test_client()
    login(admin, "root")
    audit = admin.get("/admin/audit").get_data(as_text=True)
    assert '<tr data-action="create">' in audit and "lucia" in audit and "cli:" in audit


def test_panel_refuses_to_start_without_a_secret_key(
    panel: Panel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(panel.cfg.panel.secret_key_env, raising=False)
    with pytest.raises(RuntimeError, match=panel.cfg.panel.secret_key_env):
        create_app(panel.cfg, database_url=panel.db_url, bus=panel.bus)
