"""quarantined_row: records the database refused, kept for an admin

Revision ID: faults_quarantine
Revises: 0001_initial
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "faults_quarantine"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quarantined_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_row")),
    )
    op.create_index(op.f("ix_quarantined_row_at"), "quarantined_row", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_quarantined_row_at"), table_name="quarantined_row")
    op.drop_table("quarantined_row")
