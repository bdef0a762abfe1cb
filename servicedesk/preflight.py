"""Start-up checks with one clear line each, and a watch on the SQLite file.

Why: a missing database directory used to surface as a raw traceback, a bad
Redis URL as a stack of redis-py internals, and a database file deleted under a
running process silently swallowed writes (SQLite keeps writing to the unlinked
inode). `check_*` return a sentence or None; `DatabaseWatch.problem()` tells
whether the file the process opened is still the one on disk and writable.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other engines and in-memory databases)."""
    try:
        parsed = make_url(url)
    except Exception:
        return None
    if not parsed.drivername.startswith("sqlite"):
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database).resolve()


def check_database(url: str, table: str = "call") -> str | None:
    """None when the database is reachable, writable and migrated; else what is wrong."""
    try:
        make_url(url)
    except Exception as exc:
        return f"bad database URL: {exc}"
    path = sqlite_path(url)
    if path is not None:
        if not path.parent.is_dir():
            return f"database directory {path.parent} does not exist"
        if not path.exists():
            return f"database file {path} does not exist (run `centralita db upgrade`)"
        if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK):
            return f"database {path} is not writable (SQLite needs the file and its directory)"
    from servicedesk.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(table):
                return f"database has no {table!r} table (run `centralita db upgrade`)"
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"database unreachable: {first}"
    finally:
        engine.dispose()
    return None


def check_redis_url(url: str) -> str | None:
    """A malformed Redis URL is an error; an unreachable server is not (live views only)."""
    if not url:
        return None
    import redis

    try:
        redis.Redis.from_url(url)
    except ValueError as exc:
        return f"bad Redis URL {url!r}: {exc}"
    return None


def check_host(host: str, port: int, what: str) -> str | None:
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        return f"bad {what} address {host!r}:{port}: {exc}"
    return None


class DatabaseWatch:
    """Is the SQLite file this process opened still there, the same file, writable?"""

    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self.ident: tuple[int, int] | None = None
        if self.path is not None:
            try:
                st = self.path.stat()
                self.ident = (st.st_dev, st.st_ino)
            except OSError:
                self.ident = None

    def problem(self) -> str | None:
        if self.path is None or self.ident is None:
            return None
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return f"database file {self.path} was deleted"
        except OSError as exc:
            return f"database file {self.path} cannot be read: {exc}"
        if (st.st_dev, st.st_ino) != self.ident:
            return f"database file {self.path} was replaced by another file"
        if not os.access(self.path, os.W_OK) or not os.access(self.path.parent, os.W_OK):
            return f"database file {self.path} became read-only"
        return None
