"""The env file a config names, and paths relative to the config's folder."""

from __future__ import annotations

import pytest

from servicedesk.config_files import (
    EnvFileError,
    apply_env_file,
    read_env_file,
    resolve_path,
    resolve_sqlite_url,
)


def test_relative_sqlite_paths_mean_the_config_folder(tmp_path) -> None:
    base = tmp_path / "etc"
    assert resolve_sqlite_url("sqlite:///centralita.db", base) == f"sqlite:///{base}/centralita.db"
    assert resolve_sqlite_url("sqlite+pysqlite:///db/c.db?timeout=5", base) == (
        f"sqlite+pysqlite:///{base}/db/c.db?timeout=5"
    )
    for same in (
        "sqlite:////var/lib/centralita.db",
        "sqlite:///:memory:",
        "sqlite://",
        "postgresql://u@db/centralita",
    ):
        assert resolve_sqlite_url(same, base) == same
    assert resolve_path("/var/log/x.log", base).as_posix() == "/var/log/x.log"
    assert resolve_path("x.env", base) == base / "x.env"


def test_env_file_sets_only_what_is_missing(tmp_path) -> None:
    path = tmp_path / "centralita.env"
    path.write_text(
        "# secrets for the AGI script\n\n"
        "CENTRALITA_DATABASE_URL=postgresql://u:p@db/c\n"
        "export CENTRALITA_REDIS_URL='redis://10.0.0.5:6379/0'\n"
        'CENTRALITA_AMI_SECRET="s3 cret=x"\n'
    )
    assert read_env_file(path)["CENTRALITA_AMI_SECRET"] == "s3 cret=x"
    env = {"CENTRALITA_DATABASE_URL": "sqlite:///given.db"}
    added = apply_env_file(path, env)
    assert added == ["CENTRALITA_REDIS_URL", "CENTRALITA_AMI_SECRET"]
    assert env["CENTRALITA_DATABASE_URL"] == "sqlite:///given.db"  # the environment wins
    assert env["CENTRALITA_REDIS_URL"] == "redis://10.0.0.5:6379/0"


@pytest.mark.parametrize("bad", ["JUST TEXT", "1ABC=x", "=x", "A B=c"])
def test_env_file_refuses_lines_that_are_not_assignments(tmp_path, bad) -> None:
    path = tmp_path / "bad.env"
    path.write_text(f"OK=1\n{bad}\n")
    with pytest.raises(EnvFileError, match=r"bad.env:2: expected NAME=value"):
        read_env_file(path)
