"""service reports: report recipients per organisation, indexes for the monthly GROUP BYs

Revision ID: reports_service_report
Revises: faults_quarantine
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reports_service_report"
down_revision: str | None = "faults_quarantine"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_report_recipient_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_recipient")),
        sa.UniqueConstraint(
            "organisation_id", "email", name=op.f("uq_report_recipient_organisation_id")
        ),
    )
    with op.batch_alter_table("report_recipient", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_recipient_organisation_id"), ["organisation_id"], unique=False
        )
    op.create_index("ix_call_entered_queue_at", "call", ["entered_queue_at"], unique=False)
    op.create_index(
        "ix_incident_org_created", "incident", ["organisation_id", "created_at"], unique=False
    )
    op.create_index("ix_incident_resolved_at", "incident", ["resolved_at"], unique=False)
    op.create_index("ix_incident_closed_at", "incident", ["closed_at"], unique=False)
    op.create_index("ix_agent_session_login_at", "agent_session", ["login_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_agent_session_login_at", table_name="agent_session")
    op.drop_index("ix_incident_closed_at", table_name="incident")
    op.drop_index("ix_incident_resolved_at", table_name="incident")
    op.drop_index("ix_incident_org_created", table_name="incident")
    op.drop_index("ix_call_entered_queue_at", table_name="call")
    with op.batch_alter_table("report_recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_recipient_organisation_id"))
    op.drop_table("report_recipient")
