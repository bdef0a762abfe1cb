"""Several PBXs in one config: each listener sees only its own link."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from servicedesk.config import ConfigError, load_config
from servicedesk.pbx import for_pbx, listener_metrics_port
from tests.ops.conftest import EXAMPLE, TWO_PBXS, config_with


def test_single_pbx_desk_needs_no_name() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.connections.pbx_ids() == ["pbx-cdmx-1"]
    assert for_pbx(cfg, None) is cfg
    assert for_pbx(cfg, "pbx-cdmx-1") is cfg
    with pytest.raises(ConfigError, match="no PBX 'mty'"):
        for_pbx(cfg, "mty")


def test_each_pbx_gets_its_own_ami_link(tmp_path: Path) -> None:
    cfg = load_config(config_with(tmp_path, TWO_PBXS.format(port_a=5038, port_b=6038)))
    assert cfg.connections.pbx_ids() == ["cdmx", "mty"]
    mty = for_pbx(cfg, "mty")
    assert mty.connections.pbx_id == "mty"
    assert (mty.connections.ami.port, mty.connections.ami.username) == (6038, "centralita_mty")
    assert mty.connections.ami.secret_env == "CENTRALITA_AMI_SECRET_MTY"
    # the desk's own settings are untouched: one database, one Redis, same queues
    assert mty.connections.database == cfg.connections.database
    assert mty.queues == cfg.queues
    assert cfg.connections.pbx_id == "pbx-cdmx-1"
    # metrics ports never collide between listeners on one machine
    assert listener_metrics_port(cfg, "cdmx") != listener_metrics_port(cfg, "mty")


def test_a_multi_pbx_desk_refuses_an_unnamed_listener(tmp_path: Path) -> None:
    cfg = load_config(config_with(tmp_path, TWO_PBXS.format(port_a=5038, port_b=6038)))
    with pytest.raises(ConfigError, match=re.escape("choose one with --pbx cdmx | mty")):
        for_pbx(cfg, None)


def test_a_bad_pbx_id_is_a_config_error(tmp_path: Path) -> None:
    bad = TWO_PBXS.format(port_a=5038, port_b=6038).replace("pbxs.mty", 'pbxs."m ty"')
    with pytest.raises(ConfigError, match="PBX id 'm ty'"):
        load_config(config_with(tmp_path, bad))


def test_conf_generate_writes_one_set_per_pbx(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = config_with(tmp_path, TWO_PBXS.format(port_a=5038, port_b=6038))
    out = tmp_path / "etc"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "centralita.cli",
            "conf",
            "generate",
            "--config",
            str(config),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["cdmx", "mty"]
    cdmx = (out / "cdmx" / "manager.conf").read_text()
    mty = (out / "mty" / "manager.conf").read_text()
    assert "[centralita]" in cdmx and "[centralita_mty]" not in cdmx
    assert "[centralita_mty]" in mty
    # the call handling is the same on every box; the dialplan names its own PBX
    for name in ("queues.conf", "queuerules.conf"):
        assert (out / "cdmx" / name).read_text() == (out / "mty" / name).read_text(), name
    ext_cdmx = (out / "cdmx" / "extensions.conf").read_text()
    ext_mty = (out / "mty" / "extensions.conf").read_text()
    assert "CENTRALITA_PBX = cdmx" in ext_cdmx and "CENTRALITA_PBX = mty" in ext_mty
    assert ext_cdmx.replace("CENTRALITA_PBX = cdmx", "CENTRALITA_PBX = mty") == ext_mty


def test_postgresql_pools_are_sized_per_process_role(pg_server) -> None:  # type: ignore[no-untyped-def]
    from servicedesk.db import POOL_SIZES, make_engine

    url = pg_server.url()
    for role, (size, overflow) in POOL_SIZES.items():
        engine = make_engine(url, role=role)
        assert (engine.pool.size(), engine.pool._max_overflow) == (size, overflow)  # noqa: SLF001
        engine.dispose()
    # a desk of 2 listeners, 1 IVR and 4 panel workers fits PostgreSQL's default 100
    peak = 2 * sum(POOL_SIZES["listener"]) + sum(POOL_SIZES["ivr"]) + 4 * sum(POOL_SIZES["panel"])
    assert peak < 100


def test_agents_belong_to_their_box(tmp_path: Path) -> None:
    extra = TWO_PBXS.format(port_a=5038, port_b=6038)
    text = config_with(tmp_path, extra).read_text()
    # the first agent's phone registers on mty
    first = text.index("[[agents]]")
    text = text[:first] + text[first:].replace("\n", '\npbx = "mty"\n', 1)
    path = tmp_path / "agents.toml"
    path.write_text(text)
    cfg = load_config(path)
    first_login = cfg.agents[0].login
    assert cfg.agents[0].pbx == "mty"
    assert first_login not in {a.login for a in for_pbx(cfg, "cdmx").agents}
    assert first_login in {a.login for a in for_pbx(cfg, "mty").agents}
    assert len(for_pbx(cfg, "cdmx").agents) == len(cfg.agents) - 1
    path.write_text(text.replace('pbx = "mty"', 'pbx = "gdl"', 1))
    with pytest.raises(ConfigError, match="agents\\[0\\].pbx: unknown PBX 'gdl'"):
        load_config(path)


def test_every_process_reads_the_configs_env_file(tmp_path: Path) -> None:
    """The listener and the panel read `connections.env_file` as the IVR does: a secret
    missing from the environment is taken from the file beside the config."""
    import os
    import subprocess
    import sys

    (tmp_path / "centralita.env").write_text("CENTRALITA_AMI_SECRET=from-the-file\n")
    text = EXAMPLE.read_text().replace(
        'pbx_id = "pbx-cdmx-1"', 'pbx_id = "pbx-cdmx-1"\nenv_file = "centralita.env"', 1
    )
    config = tmp_path / "centralita.toml"
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "CENTRALITA_AMI_SECRET"}
    env["CENTRALITA_DATABASE_URL"] = f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "centralita.cli", "listener", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    # past the secret check (it came from the file): the next check, the database, fails
    assert done.returncode == 2
    assert "AMI secret is not set" not in done.stderr
    assert "database" in done.stderr.lower()
    (tmp_path / "centralita.env").write_text("not a pair\n")
    done = subprocess.run(
        [sys.executable, "-m", "centralita.cli", "listener", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2 and "connections.env_file" in done.stderr
