"""Alembic environment: the URL comes from `Config.attributes["url"]` (see migrate.py)."""

from __future__ import annotations

from alembic import context

from servicedesk.db import make_engine
from servicedesk.migrations.options import context_options
from servicedesk.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL: use servicedesk.migrate.upgrade(url)")
    return str(url)


def run_offline() -> None:
    url = _url()
    dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
    context.configure(
        url=url.replace("postgresql://", "postgresql+psycopg://", 1),
        target_metadata=target_metadata,
        literal_binds=True,
        **context_options(dialect),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            context.configure(
                connection=conn,
                target_metadata=target_metadata,
                **context_options(conn.dialect.name),
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
