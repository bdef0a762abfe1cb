"""pgwrite: PostgreSQL's summary triggers run once per statement

The listener writes a batch of calls as one statement; on PostgreSQL the call
and ring summary triggers now run once per statement over its transition
tables (set-based) instead of once per row (see `servicedesk.call_summary`).
The counts they keep are the same, so nothing is recounted. SQLite keeps its
row triggers (re-created unchanged).

Revision ID: pgwrite_statement_triggers
Revises: reportspeed_call_summaries
Create Date: 2026-12-05 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from servicedesk import call_summary

revision: str = "pgwrite_statement_triggers"
down_revision: str | None = "reportspeed_call_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _replace_triggers(*, statement_level: bool) -> None:
    bind = op.get_bind()
    name = bind.dialect.name
    for stmt in call_summary.drop_sql(name) + call_summary.trigger_sql(
        name, statement_level=statement_level
    ):
        bind.exec_driver_sql(stmt)


def upgrade() -> None:
    _replace_triggers(statement_level=True)


def downgrade() -> None:
    _replace_triggers(statement_level=False)
