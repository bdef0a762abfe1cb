"""Shared fixtures: real redis-server and PostgreSQL, and a database per test on both engines."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicedesk.config import CentralitaConfig, load_config
from servicedesk.db import make_engine, make_sessionmaker
from servicedesk.models import Base
from tests.servers import PostgresServer, RedisServer

# Property tests are derandomized (the same examples on every run of a given hypothesis
# version) and have no per-example deadline: CI machines are shared and noisy, and a
# red CI must mean a real defect, not a slow scheduler.
settings.register_profile(
    "centralita", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("centralita")

ROOT = Path(__file__).resolve().parent.parent
TRACES = ROOT.parent / "shared" / "asterisk-traces"

# Every process the tests start keeps its state and caches in a throwaway folder, never in
# the user's ~/.local/state or ~/.cache, where one run's files would change the next run.
_ISOLATED = Path(tempfile.mkdtemp(prefix="centralita-tests-"))
os.environ.setdefault("CENTRALITA_STATE_DIR", str(_ISOLATED / "state"))
os.environ.setdefault("CENTRALITA_CACHE_DIR", str(_ISOLATED / "cache"))
EXAMPLE_CONFIG = ROOT / "centralita.example.toml"


@pytest.fixture(scope="session")
def traces_dir() -> Path:
    assert TRACES.is_dir(), f"traces not found at {TRACES}"
    return TRACES


@pytest.fixture(scope="session")
def example_config() -> CentralitaConfig:
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    yield server
    server.stop()


@pytest.fixture()
def redis_url(redis_server: RedisServer) -> str:
    client = redis_lib.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database on each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture()
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture()
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)
