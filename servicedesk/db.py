"""Engine and session factory, the same code for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the panel read while the listener writes; busy_timeout rides out
    # the short write locks instead of failing with "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


# PostgreSQL connections per process role: (pool_size, max_overflow). Each listener writes
# from one thread and reads contacts from another; the IVR looks callers up from a few
# threads; a panel worker serves up to its thread count, most of them idle SSE streams that
# hold no connection. Sized so that a desk of 2 listeners, 1 IVR and 4 panel workers stays
# well under PostgreSQL's default max_connections (100).
POOL_SIZES: dict[str, tuple[int, int]] = {
    "listener": (2, 2),
    "ivr": (4, 6),
    "panel": (6, 6),
    "stats": (2, 0),
}


def make_engine(url: str, *, role: str | None = None, **kwargs: Any) -> Engine:
    """`role` sizes the PostgreSQL pool for the process (see POOL_SIZES); SQLite ignores it."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 10})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if role == "listener":
        # as SQLite's synchronous=NORMAL: a commit returns before its WAL reaches the
        # disk. A server crash may lose the last moments (never corrupts); the listener
        # replays them from Asterisk's queue_log on start, the durable record.
        kwargs.setdefault("connect_args", {"options": "-c synchronous_commit=off"})
    if role is not None:
        size, overflow = POOL_SIZES[role]
        kwargs.setdefault("pool_size", size)
        kwargs.setdefault("max_overflow", overflow)
        kwargs.setdefault("pool_timeout", 10)  # fail loudly rather than hang a request
        kwargs.setdefault("pool_recycle", 1800)  # ride out server-side idle timeouts
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
