"""The domain model, SQLAlchemy 2.0 typed, identical on SQLite and PostgreSQL.

Times are stored as timezone-aware UTC (`UtcDateTime`), because SQLite keeps no
zone and the SLA clocks, call metrics and reports must agree across engines.
Enumerations are plain strings checked by CHECK constraints, so a migration
never has to alter a native enum type on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

CALL_OUTCOMES = (
    "answered",
    "abandoned",
    "timeout",
    "exit_empty",
    "join_empty",
    "exit_key",
    "withdraw",
    "transferred",
    "callback_requested",
    "ivr_only",
    "outbound_answered",  # a call the desk placed (click-to-call, callback): customer answered
    "outbound_no_answer",  # ... not answered (agent's phone or customer; outbound_call says)
)
HANGUP_PARTIES = ("caller", "agent", "system")
RING_RESULTS = ("answered", "noanswer", "canceled", "busy", "failed")
AGENT_STATE_KINDS = ("login", "logout", "pause", "unpause", "ringing", "oncall", "wrapup", "idle")
INCIDENT_STATUSES = (
    "new",
    "assigned",
    "in_progress",
    "escalated",
    "resolved",
    "closed",
)
PRIORITIES = ("critical", "high", "medium", "low", "planned")
CHANNELS = ("phone", "email", "web", "monitoring")
ROLES = ("agent", "supervisor", "admin")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every engine."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON}


# --- Directory -----------------------------------------------------------


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    customer_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contracts: Mapped[list[Contract]] = relationship(back_populates="organisation")
    contacts: Mapped[list[Contact]] = relationship(back_populates="organisation")


class Contract(Base):
    """A support contract; `plan` names a plan in the configuration file."""

    __tablename__ = "contract"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    plan: Mapped[str] = mapped_column(String(40))
    starts_on: Mapped[datetime]
    ends_on: Mapped[datetime | None]
    critical_24x7: Mapped[bool] = mapped_column(Boolean, default=False)

    organisation: Mapped[Organisation] = relationship(back_populates="contracts")


class Contact(Base):
    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="es")
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation | None] = relationship(back_populates="contacts")
    phones: Mapped[list[ContactPhone]] = relationship(
        back_populates="contact", cascade="all, delete-orphan"
    )


class ContactPhone(Base):
    """A contact's number, normalised to E.164; `e164` is indexed for ANI lookup."""

    __tablename__ = "contact_phone"
    __table_args__ = (UniqueConstraint("contact_id", "e164"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    extension: Mapped[str | None] = mapped_column(String(10))
    raw: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="work")

    contact: Mapped[Contact] = relationship(back_populates="phones")


# --- Agents, skills and queues -------------------------------------------


class Skill(Base):
    __tablename__ = "skill"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_es: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))


class Queue(Base):
    __tablename__ = "queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id"))
    language: Mapped[str] = mapped_column(String(2))
    servicelevel: Mapped[int] = mapped_column(Integer, default=20)
    short_abandon: Mapped[int] = mapped_column(Integer, default=5)


class Agent(Base):
    __tablename__ = "agent"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    interface: Mapped[str] = mapped_column(String(120), unique=True)
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    skills: Mapped[list[AgentSkill]] = relationship(
        back_populates="agent", cascade="all, delete-orphan"
    )


class AgentSkill(Base):
    __tablename__ = "agent_skill"
    __table_args__ = (
        UniqueConstraint("agent_id", "skill_id"),
        CheckConstraint("level BETWEEN 1 AND 10", name="level_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"))
    skill_id: Mapped[int] = mapped_column(ForeignKey("skill.id"))
    level: Mapped[int] = mapped_column(Integer)

    agent: Mapped[Agent] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()


class AgentSession(Base):
    """One login period of an agent in a queue (QueueAdd .. QueueRemove)."""

    __tablename__ = "agent_session"
    __table_args__ = (Index("ix_agent_session_open", "agent_login", "queue", "logout_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx_id: Mapped[str] = mapped_column(String(32), default="pbx1")
    agent_login: Mapped[str] = mapped_column(String(32), index=True)
    interface: Mapped[str] = mapped_column(String(120))
    queue: Mapped[str] = mapped_column(String(80))
    penalty: Mapped[int] = mapped_column(Integer, default=0)
    login_at: Mapped[datetime]
    logout_at: Mapped[datetime | None]


class AgentStateChange(Base):
    __tablename__ = "agent_state_change"
    __table_args__ = (
        CheckConstraint(_in("kind", AGENT_STATE_KINDS), name="kind"),
        UniqueConstraint(
            "pbx_id", "agent_login", "at", "kind", "queue", name="uq_agent_state_change_event"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx_id: Mapped[str] = mapped_column(String(32), default="pbx1")
    agent_login: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(80))
    queue: Mapped[str] = mapped_column(String(80), default="")


# --- Calls ---------------------------------------------------------------


class Call(Base):
    """One record per caller call, keyed by (pbx_id, linkedid)."""

    __tablename__ = "call"
    __table_args__ = (
        UniqueConstraint("pbx_id", "linkedid", name="uq_call_pbx_linkedid"),
        CheckConstraint(_in("outcome", CALL_OUTCOMES), name="outcome"),
        CheckConstraint(
            f"hung_up_by IS NULL OR {_in('hung_up_by', HANGUP_PARTIES)}", name="hung_up_by"
        ),
        Index("ix_call_queue_entered", "queue", "entered_queue_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx_id: Mapped[str] = mapped_column(String(32))
    linkedid: Mapped[str] = mapped_column(String(64))
    uniqueid: Mapped[str] = mapped_column(String(64), index=True)
    line_did: Mapped[str | None] = mapped_column(String(32))
    caller_num: Mapped[str | None] = mapped_column(String(80))
    caller_name: Mapped[str | None] = mapped_column(String(200))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    language: Mapped[str | None] = mapped_column(String(2))
    ivr_choices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    category: Mapped[str | None] = mapped_column(String(40))
    priority: Mapped[str | None] = mapped_column(String(16))
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    incident_number: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(80))
    queue_position: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(index=True)
    entered_queue_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    hold_seconds: Mapped[int | None] = mapped_column(Integer)
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    agent_login: Mapped[str | None] = mapped_column(String(32), index=True)
    agent_member: Mapped[str | None] = mapped_column(String(120))
    hung_up_by: Mapped[str | None] = mapped_column(String(8))
    outcome: Mapped[str | None] = mapped_column(String(20))
    wrapup_code: Mapped[str | None] = mapped_column(String(40))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="ami")  # ami | queue_log
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # a caller transferred here from another PBX: that PBX's call (NULL: a new caller call)
    origin_pbx_id: Mapped[str | None] = mapped_column(String(32))
    origin_linkedid: Mapped[str | None] = mapped_column(String(64))

    rings: Mapped[list[RingAttempt]] = relationship(
        back_populates="call", cascade="all, delete-orphan", order_by="RingAttempt.started_at"
    )


class RingAttempt(Base):
    __tablename__ = "ring_attempt"
    __table_args__ = (
        UniqueConstraint(
            "call_id", "member", "started_at", name="uq_ring_attempt_call_member_start"
        ),
        CheckConstraint(f"result IS NULL OR {_in('result', RING_RESULTS)}", name="result"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    agent_login: Mapped[str | None] = mapped_column(String(32))
    member: Mapped[str] = mapped_column(String(120))  # interface or member name
    started_at: Mapped[datetime]
    result: Mapped[str | None] = mapped_column(String(12))
    ring_ms: Mapped[int | None] = mapped_column(Integer)

    call: Mapped[Call] = relationship(back_populates="rings")


class QueueLogEntry(Base):
    """Asterisk's realtime queue_log table layout, for `queue_log` in a database."""

    __tablename__ = "queue_log"
    __table_args__ = (Index("ix_queue_log_callid", "callid"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    time: Mapped[str] = mapped_column(String(32), index=True)
    callid: Mapped[str] = mapped_column(String(80))
    queuename: Mapped[str] = mapped_column(String(80))
    agent: Mapped[str] = mapped_column(String(120))
    event: Mapped[str] = mapped_column(String(32))
    data1: Mapped[str] = mapped_column(String(100), default="")
    data2: Mapped[str] = mapped_column(String(100), default="")
    data3: Mapped[str] = mapped_column(String(100), default="")
    data4: Mapped[str] = mapped_column(String(100), default="")
    data5: Mapped[str] = mapped_column(String(100), default="")


# --- Incidents -----------------------------------------------------------


class IncidentCounter(Base):
    """Row-locked counter: incident numbers stay unique under concurrent creation."""

    __tablename__ = "incident_counter"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Incident(Base):
    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="status"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint("level BETWEEN 1 AND 3", name="level"),
        Index("ix_incident_status_priority", "status", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(40))
    impact: Mapped[str] = mapped_column(String(8), default="medium")
    urgency: Mapped[str] = mapped_column(String(8), default="medium")
    priority: Mapped[str] = mapped_column(String(16))
    priority_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="new")
    level: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    assignee_login: Mapped[str | None] = mapped_column(String(32), index=True)
    recording_path: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    first_response_at: Mapped[datetime | None]
    response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    events: Mapped[list[IncidentEvent]] = relationship(
        back_populates="incident", cascade="all, delete-orphan", order_by="IncidentEvent.id"
    )
    calls: Mapped[list[IncidentCall]] = relationship(
        back_populates="incident", cascade="all, delete-orphan"
    )
    reporter: Mapped[Contact | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()

    @property
    def display_number(self) -> str:
        return f"INC-{self.number:06d}"


class IncidentEvent(Base):
    """The audit trail: every change, who made it, when."""

    __tablename__ = "incident_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")

    incident: Mapped[Incident] = relationship(back_populates="events")


class IncidentCall(Base):
    __tablename__ = "incident_call"
    __table_args__ = (UniqueConstraint("incident_id", "call_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incident.id", ondelete="CASCADE"))
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    linked_at: Mapped[datetime] = mapped_column(default=utcnow)
    linked_by: Mapped[str] = mapped_column(String(64))

    incident: Mapped[Incident] = relationship(back_populates="calls")
    call: Mapped[Call] = relationship()


# --- Panel users and callbacks -------------------------------------------


class PanelUser(Base):
    __tablename__ = "panel_user"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    agent_login: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(2), default="es")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CallbackRequest(Base):
    __tablename__ = "callback_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_uniqueid: Mapped[str] = mapped_column(String(64), unique=True)
    number: Mapped[str] = mapped_column(String(80))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    language: Mapped[str] = mapped_column(String(2), default="es")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]


# --- faults: rows the database refused, kept for an admin ----------------------
class QuarantinedRow(Base):
    """A record the database rejected, kept with its raw values and the error.

    Why: one bad value (a 30-digit HoldTime, an unknown foreign key) must not
    block every later write nor vanish; it waits here, counted and listable
    (`centralita listener quarantine`), while every other row lands.
    """

    __tablename__ = "quarantined_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    source: Mapped[str] = mapped_column(String(64))  # e.g. "listener:pbx1"
    kind: Mapped[str] = mapped_column(String(32))  # call | agent_change | agent_session
    key: Mapped[str] = mapped_column(String(200))  # natural key, e.g. the call's linkedid
    raw: Mapped[str] = mapped_column(Text)  # JSON of the values as received
    error: Mapped[str] = mapped_column(Text)


# --- Service reports (branch reports) ------------------------------------


class ReportRecipient(Base):
    """Who receives an organisation's monthly service report, and in which language."""

    __tablename__ = "report_recipient"
    __table_args__ = (UniqueConstraint("organisation_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2), default="es")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


# The monthly report's GROUP BYs range over these times; (queue, entered) cannot serve
# a scan of every queue, and the incident counts go by when things were resolved/closed.
Index("ix_call_entered_queue_at", Call.entered_queue_at)
Index("ix_incident_org_created", Incident.organisation_id, Incident.created_at)
Index("ix_incident_resolved_at", Incident.resolved_at)
Index("ix_incident_closed_at", Incident.closed_at)
Index("ix_agent_session_login_at", AgentSession.login_at)


# --- Panel administration audit trail (branch panel-work) ------------------


class PanelAudit(Base):
    """One row per administrative change to panel accounts: who, what, to whom, when."""

    __tablename__ = "panel_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --- Calling features (tables in their own module, same metadata) --------

# (and the report's call summaries and indexes, branch reportspeed)
from servicedesk import call_summary as call_summary  # noqa: E402
from servicedesk import calling_models as calling_models  # noqa: E402
from servicedesk import report_indexes as report_indexes  # noqa: E402
