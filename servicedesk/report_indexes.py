"""Indexes that serve the monthly report's incident counts (migration
`reportspeed_call_summaries`): each count reads its index alone, not the table."""

from __future__ import annotations

from sqlalchemy import Index

from servicedesk.models import Incident

Index(
    "ix_incident_created_priority_channel", Incident.created_at, Incident.priority, Incident.channel
)
Index("ix_incident_resolved_priority", Incident.resolved_at, Incident.priority)
Index("ix_incident_closed_priority", Incident.closed_at, Incident.priority)
Index(
    "ix_incident_contract_created_priority",
    Incident.contract_id,
    Incident.created_at,
    Incident.priority,
)
