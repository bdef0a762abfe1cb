"""panel administration audit trail

Revision ID: panel_work_admin_audit
Revises: reports_service_report
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "panel_work_admin_audit"
down_revision: str | None = "reports_service_report"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "panel_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_audit")),
    )
    op.create_index(op.f("ix_panel_audit_at"), "panel_audit", ["at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_panel_audit_at"), table_name="panel_audit")
    op.drop_table("panel_audit")
