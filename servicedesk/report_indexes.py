"""Indexes that serve the monthly report (migration `reportspeed_call_summaries`):
the incident counts read their index alone, not the table; one organisation's
calls of a month are found from its contacts, not among every call of the month."""

from __future__ import annotations

from sqlalchemy import Index

from servicedesk.models import Call, Incident

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
Index("ix_call_contact_entered", Call.contact_id, Call.entered_queue_at)
Index("ix_call_contact_started", Call.contact_id, Call.started_at)
