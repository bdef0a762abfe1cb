"""Open the reports' database or say, in one line, what to do instead.

`centralita stats` only reads: it must never create a database (SQLite makes an
empty file on connect) nor print a driver's traceback. Missing configuration, a
database that does not exist and one without the schema each get one sentence
naming the fix, usually `centralita db upgrade`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from servicedesk.config import CentralitaConfig
from servicedesk.db import make_engine

NEEDED_TABLES = ("call", "incident", "organisation", "contract", "agent_session")


class DatabaseUnavailable(Exception):
    """One line for the user: what is wrong with the database and what to run."""


def _where(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def open_engine(
    cfg: CentralitaConfig, config_path: str, tables: tuple[str, ...] = NEEDED_TABLES
) -> Engine:
    """An engine on the configured database, checked to exist and to have `tables`."""
    db = cfg.connections.database
    url = db.resolved_url().strip()
    upgrade = f"centralita db upgrade --config {config_path}"
    if not url:
        raise DatabaseUnavailable(
            f"no database configured: set ${db.url_env} or [connections.database] url in "
            f"{config_path}, then run `{upgrade}`"
        )
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable(f"database URL {url!r} is not valid (${db.url_env})") from None
    if parsed.get_backend_name() == "sqlite":
        name = parsed.database or ""
        if name in ("", ":memory:") or name.startswith("file:"):
            raise DatabaseUnavailable(f"database {_where(url)}: reports need a database file")
        if not Path(name).is_file():
            raise DatabaseUnavailable(
                f"database {Path(name).resolve()} does not exist: run `{upgrade}` to create it"
            )
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            have = set(inspect(conn).get_table_names())
    except SQLAlchemyError as exc:
        engine.dispose()
        detail = str(getattr(exc, "orig", exc)).strip().splitlines()
        reason = detail[0] if detail else type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot open database {_where(url)}: {reason} (create it, then run `{upgrade}`)"
        ) from None
    missing = [t for t in tables if t not in have]
    if missing:
        engine.dispose()
        raise DatabaseUnavailable(
            f"database {_where(url)} is not migrated (no table {', '.join(missing)}): "
            f"run `{upgrade}`"
        )
    return engine
