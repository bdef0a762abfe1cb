"""Tables of the calling features: outbound calls, callback places, supervision audit.

Imported at the end of `servicedesk.models` so they share its metadata; the
migration is `calling_features`. Statuses are strings checked by CHECK
constraints, like the rest of the schema.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from servicedesk.models import Base, _in, utcnow

OUTBOUND_PURPOSES = ("click_to_call", "verification", "callback")
OUTBOUND_STATUSES = (
    "requested",  # accepted by the panel, waiting for the dialer
    "agent_ringing",  # Originate sent: the agent's phone rings
    "agent_unreachable",  # the agent's phone did not answer (OriginateResponse Failure)
    "dialling",  # the agent answered; the customer is being dialled
    "answered",  # the customer answered
    "no_answer",
    "busy",
    "failed",  # refused by Asterisk or the trunk, or the link was lost
    "ended",  # answered and over
)
VERDICTS = ("accepted", "rejected")
CALLBACK_STATUSES = ("waiting", "offered", "dialling", "retry", "done", "failed", "cancelled")
SPY_MODES = ("listen", "whisper", "barge")


class OutboundCall(Base):
    """One call the desk places: click-to-call, a verification of closure or a callback try."""

    __tablename__ = "outbound_call"
    __table_args__ = (
        CheckConstraint(_in("purpose", OUTBOUND_PURPOSES), name="purpose"),
        CheckConstraint(_in("status", OUTBOUND_STATUSES), name="status"),
        CheckConstraint(f"verdict IS NULL OR {_in('verdict', VERDICTS)}", name="verdict"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(String(32), unique=True)  # also the ActionID
    purpose: Mapped[str] = mapped_column(String(16))
    agent_login: Mapped[str] = mapped_column(String(32), index=True)
    requested_by: Mapped[str] = mapped_column(String(64))
    number: Mapped[str] = mapped_column(String(20))  # E.164
    number_kind: Mapped[str] = mapped_column(String(16))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incident.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    callback_id: Mapped[int | None] = mapped_column(
        ForeignKey("callback_request.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="requested")
    reason: Mapped[str] = mapped_column(String(120), default="")
    uniqueid: Mapped[str | None] = mapped_column(String(64), index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    agent_answered_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    verdict: Mapped[str | None] = mapped_column(String(8))
    verdict_at: Mapped[datetime | None]


class CallbackPlace(Base):
    """A callback request's virtual place in its queue, and its dialling state.

    `place_at` is when the caller joined the queue: a callback is offered when no
    caller still waiting joined before it. `dial_token` is set once per try under a
    row lock, so two dialers can never dial the same try twice.
    """

    __tablename__ = "callback_place"
    __table_args__ = (
        CheckConstraint(_in("status", CALLBACK_STATUSES), name="status"),
        Index("ix_callback_place_queue_status", "queue", "status", "place_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    callback_id: Mapped[int] = mapped_column(
        ForeignKey("callback_request.id", ondelete="CASCADE"), unique=True
    )
    queue: Mapped[str] = mapped_column(String(80))
    place_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime | None]
    offered_to: Mapped[str | None] = mapped_column(String(32))
    offered_at: Mapped[datetime | None]
    dial_token: Mapped[str | None] = mapped_column(String(32), unique=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SupervisionEvent(Base):
    """Audit: every listen, whisper or barge, from the wallboard or a supervisor phone."""

    __tablename__ = "supervision_event"
    __table_args__ = (CheckConstraint(_in("mode", SPY_MODES), name="mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # panel user, or the supervisor endpoint
    source: Mapped[str] = mapped_column(String(8))  # panel | phone
    kind: Mapped[str] = mapped_column(String(16))  # requested | started | stopped | refused
    mode: Mapped[str] = mapped_column(String(8))
    agent_login: Mapped[str | None] = mapped_column(String(32), index=True)
    spyer_channel: Mapped[str] = mapped_column(String(120), default="")
    spyee_channel: Mapped[str] = mapped_column(String(120), default="")
    request_id: Mapped[str | None] = mapped_column(String(32))
