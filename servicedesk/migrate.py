"""Alembic, driven from Python: `centralita db upgrade` and schema checks.

The Alembic environment lives inside the package (`servicedesk/migrations`) and
takes the database URL programmatically, so no alembic.ini with a URL (or a
password) ever sits in the repository.

Regenerate the migration after editing the models (from the repo root):

    python -m servicedesk.migrate revision "what changed"     # new revision on top of head
    python -m servicedesk.migrate regenerate                   # rewrite the initial revision

Both autogenerate against a scratch SQLite database; review the result.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

HERE = Path(__file__).resolve().parent
SCRIPT_LOCATION = HERE / "migrations"
INITIAL_REVISION = "0001_initial"


def alembic_config(url: str) -> Config:
    """An Alembic Config for `url`, with no ini file."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision` (idempotent at head)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    from servicedesk.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def schema_diff(url: str) -> list[Any]:
    """Differences between the models and the database (empty means in sync)."""
    from servicedesk.db import make_engine
    from servicedesk.migrations.options import context_options
    from servicedesk.models import Base

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts=context_options(conn.dialect.name))
            return list(compare_metadata(ctx, Base.metadata))
    finally:
        engine.dispose()


def revision(message: str) -> None:
    """Autogenerate a new revision on top of head (against a scratch SQLite at head)."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        upgrade(url)
        command.revision(alembic_config(url), message=message, autogenerate=True)


def regenerate() -> None:
    """Rewrite the initial revision from the models (before any release only)."""
    for old in (SCRIPT_LOCATION / "versions").glob("*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        command.revision(
            alembic_config(url),
            message="schema",
            autogenerate=True,
            rev_id=INITIAL_REVISION,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicedesk.migrate")
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser("revision", help="autogenerate a new revision on top of head")
    rev.add_argument("message")
    sub.add_parser("regenerate", help="rewrite the initial revision from the models")
    chk = sub.add_parser("check", help="print differences between models and a database")
    chk.add_argument("url")
    args = parser.parse_args(argv)
    if args.cmd == "revision":
        revision(args.message)
    elif args.cmd == "regenerate":
        regenerate()
    else:
        diff = schema_diff(args.url)
        for d in diff:
            print(d)
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
