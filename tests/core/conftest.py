"""Fixtures shared by the core-domain tests.

`session` runs each test inside one outer transaction on a database shared by
the whole test session (one per engine) and rolls it back afterwards: creating
a PostgreSQL database per test costs ~0.6 s, and the lifecycle tests are many.
Code under test may still commit or roll back: those act on a SAVEPOINT.
Tests that need real commits across connections (concurrency) use
`session_factory`, which gives a fresh database per test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from servicedesk.db import make_engine
from servicedesk.models import Base


def _sqlite_real_savepoints(engine: Engine) -> None:
    # pysqlite's implicit BEGIN handling breaks SAVEPOINT; take over BEGIN
    # ourselves (the recipe from SQLAlchemy's SQLite dialect documentation).
    @event.listens_for(engine, "connect")
    def _no_implicit(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def shared_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("core") / "shared.db"
        engine = make_engine(f"sqlite:///{path}")
        _sqlite_real_savepoints(engine)
    else:
        engine = make_engine(request.getfixturevalue("pg_server").create_database())
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture()
def session(shared_engine: Engine) -> Iterator[Session]:
    """A session whose every change is rolled back after the test."""
    conn = shared_engine.connect()
    outer = conn.begin()
    s = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield s
    finally:
        s.close()
        outer.rollback()
        conn.close()
