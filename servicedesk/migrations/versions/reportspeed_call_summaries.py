"""reportspeed: call summaries kept by triggers, and indexes for the monthly report

The whole desk's monthly figures read `call_slot_summary`, `call_agent_summary`
and `call_survey_summary` (one row per PBX, queue or agent, 15-minute slot)
instead of every call row; triggers on `call` and `ring_attempt` keep them
exact (see `servicedesk.call_summary`). The upgrade counts the calls already
stored, with the default service-level thresholds; `centralita db summary`
recounts with the configuration's (the report counts the rows until then).

Revision ID: reportspeed_call_summaries
Revises: calling_features
Create Date: 2026-12-04 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from servicedesk import call_summary

revision: str = "reportspeed_call_summaries"
down_revision: str | None = "calling2_outbound_outcome"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, table, columns): the incident counts read from the index alone; one
# organisation's calls of a month found from its contacts
INDEXES = (
    ("ix_call_contact_entered", "call", ["contact_id", "entered_queue_at"]),
    ("ix_call_contact_started", "call", ["contact_id", "started_at"]),
    ("ix_incident_created_priority_channel", "incident", ["created_at", "priority", "channel"]),
    ("ix_incident_resolved_priority", "incident", ["resolved_at", "priority"]),
    ("ix_incident_closed_priority", "incident", ["closed_at", "priority"]),
    (
        "ix_incident_contract_created_priority",
        "incident",
        ["contract_id", "created_at", "priority"],
    ),
)


def upgrade() -> None:
    call_summary.install(op.get_bind())
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
    call_summary.uninstall(op.get_bind())
