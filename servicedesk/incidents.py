"""Incident lifecycle: numbering, transitions, priority, SLA due times, audit trail.

Every function that changes an incident takes the session, the incident and
``actor=`` (who did it) and records one IncidentEvent, so the audit trail is
complete by construction rather than by the callers' discipline.

Actors are free-form strings. By convention an agent is its login (``"1001"``
or ``"agent:1001"``); machines and callers use ``"system"``, ``"ivr"``,
``"monitoring"``, ``"email"``, ``"web"`` or ``"contact:<id>"``. The SLA
response clock is met by the first action of an actor that is none of those.

Numbers come from the row-locked ``IncidentCounter`` (``UPDATE ... RETURNING``
inside the caller's transaction), so they are unique under concurrent creation
and dense: a rolled-back creation rolls its number back too.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from servicedesk.config import CentralitaConfig
from servicedesk.models import (
    CHANNELS,
    INCIDENT_STATUSES,
    PRIORITIES,
    Contact,
    Incident,
    IncidentCall,
    IncidentCounter,
    IncidentEvent,
)
from servicedesk.sla import SlaStatus, due_times, sla_status_for

COUNTER_NAME = "incident"
LEVELS = ("low", "medium", "high")
MAX_LEVEL = 3
# Keyed numbers longer than this cannot exist (INTEGER column) and are refused early.
MAX_DIGITS = 9
NON_AGENT_ACTORS = ("system", "ivr", "monitoring", "email", "web", "contact")
OPEN_STATUSES = ("new", "assigned", "in_progress", "escalated", "resolved")

# from status -> statuses it may move to. `closed` is terminal; only verify()
# leaves `resolved` (accept -> closed, reject -> in_progress / new).
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"assigned", "in_progress", "escalated", "resolved"}),
    "assigned": frozenset({"assigned", "in_progress", "escalated", "resolved"}),
    "in_progress": frozenset({"assigned", "escalated", "resolved"}),
    "escalated": frozenset({"assigned", "in_progress", "escalated", "resolved"}),
    "resolved": frozenset({"closed", "in_progress", "new"}),
    "closed": frozenset(),
}
assert set(TRANSITIONS) == set(INCIDENT_STATUSES)

_DIGITS = re.compile(r"^[0-9]+$")
_DISPLAY = re.compile(r"^(?:INC-?)?([0-9]+)$", re.IGNORECASE)


class IncidentError(ValueError):
    """A request the incident rules refuse; the message says why."""


class IllegalTransition(IncidentError):
    """A status change the lifecycle does not allow, naming both ends."""

    def __init__(self, incident: Incident, to_status: str, reason: str = "") -> None:
        self.number = incident.number
        self.from_status = incident.status
        self.to_status = to_status
        detail = f": {reason}" if reason else ""
        super().__init__(
            f"{incident.display_number}: illegal transition {incident.status} -> {to_status}{detail}"
        )


class InvalidIncidentNumber(IncidentError):
    """Keyed input that is not an incident number at all (not merely unknown)."""


def is_agent_actor(actor: str) -> bool:
    """Whether `actor` is a person on the service desk (meets the response clock)."""
    head = actor.split(":", 1)[0].strip().lower()
    return head not in NON_AGENT_ACTORS


def display_number(number: int) -> str:
    return f"INC-{number:06d}"


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise IncidentError("naive datetime refused: pass an aware time")
    return now.astimezone(UTC)


def _actor(actor: str) -> str:
    actor = (actor or "").strip()
    if not actor:
        raise IncidentError("actor is required: every change records who made it")
    if len(actor) > 64:
        raise IncidentError("actor is longer than 64 characters")
    return actor


def _check_level(name: str, value: str) -> str:
    if value not in LEVELS:
        raise IncidentError(f"{name} must be one of {', '.join(LEVELS)}, got {value!r}")
    return value


def _check_priority(value: str) -> str:
    if value not in PRIORITIES:
        raise IncidentError(f"priority must be one of {', '.join(PRIORITIES)}, got {value!r}")
    return value


def _check_category(cfg: CentralitaConfig, category: str | None) -> str | None:
    if category is not None and category not in cfg.skills:
        raise IncidentError(
            f"unknown category {category!r}; known: {', '.join(sorted(cfg.skills))}"
        )
    return category


def _check_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise IncidentError("title is required")
    if len(title) > 200:
        raise IncidentError("title is longer than 200 characters")
    return title


def allocate_number(session: Session) -> int:
    """Next incident number, row-locked until the caller's transaction ends."""
    stmt = (
        sql_update(IncidentCounter)
        .where(IncidentCounter.name == COUNTER_NAME)
        .values(value=IncidentCounter.value + 1)
        .returning(IncidentCounter.value)
    )
    value = session.execute(stmt).scalar_one_or_none()
    if value is not None:
        return int(value)
    # First incident ever: create the counter row, tolerating a concurrent creator.
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(
        insert(IncidentCounter).values(name=COUNTER_NAME, value=0).on_conflict_do_nothing()
    )
    return int(session.execute(stmt).scalar_one())


def _record(
    incident: Incident,
    *,
    actor: str,
    kind: str,
    at: datetime,
    to_status: str | None = None,
    data: dict[str, Any] | None = None,
    note: str = "",
) -> IncidentEvent:
    event = IncidentEvent(
        at=at,
        actor=actor,
        kind=kind,
        from_status=incident.status,
        to_status=to_status if to_status is not None else incident.status,
        data=data or {},
        note=note,
    )
    incident.events.append(event)
    if is_agent_actor(actor) and incident.first_response_at is None:
        incident.first_response_at = at
    if to_status is not None:
        incident.status = to_status
    incident.updated_at = at
    return event


def _lock(session: Session, incident: Incident) -> None:
    """Take the incident's row lock, then reload it, so two agents cannot race one transition.

    A no-op UPDATE locks the row on PostgreSQL and takes SQLite's write lock
    (waiting out busy_timeout) before the reload, so the status checked is the
    latest committed one on both engines; FOR UPDATE says the same to PostgreSQL.
    """
    session.flush()
    session.execute(
        sql_update(Incident)
        .where(Incident.id == incident.id)
        .values(updated_at=Incident.updated_at)
        .execution_options(synchronize_session=False)
    )
    session.refresh(incident, with_for_update=True)


def _move(incident: Incident, to_status: str, reason: str = "", verifying: bool = False) -> None:
    if incident.status == "resolved" and not verifying:
        raise IllegalTransition(
            incident, to_status, "a resolved incident awaits the reporter's verification"
        )
    if to_status not in TRANSITIONS[incident.status]:
        raise IllegalTransition(incident, to_status, reason)


def create_incident(
    session: Session,
    cfg: CentralitaConfig,
    *,
    title: str,
    actor: str,
    description: str = "",
    category: str | None = None,
    impact: str = "medium",
    urgency: str = "medium",
    priority: str | None = None,
    channel: str = "phone",
    reporter_id: int | None = None,
    organisation_id: int | None = None,
    contract_id: int | None = None,
    call_id: int | None = None,
    recording_path: str | None = None,
    now: datetime | None = None,
) -> Incident:
    """Open an incident (status `new`), numbered, prioritised and clocked.

    `priority` overrides the impact × urgency matrix; the override is recorded.
    The incident is flushed (it has its id and number) but not committed.
    """
    at = _now(now)
    actor = _actor(actor)
    title = _check_title(title)
    _check_level("impact", impact)
    _check_level("urgency", urgency)
    _check_category(cfg, category)
    if channel not in CHANNELS:
        raise IncidentError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    if reporter_id is not None and organisation_id is None:
        reporter = session.get(Contact, reporter_id)
        if reporter is None:
            raise IncidentError(f"unknown reporter contact {reporter_id}")
        organisation_id = reporter.organisation_id  # the caller's organisation by default
    computed = cfg.priority.priority(impact, urgency)  # type: ignore[arg-type]
    chosen = _check_priority(priority) if priority is not None else computed
    response_due, resolution_due = due_times(cfg, chosen, at)

    number = allocate_number(session)
    incident = Incident(
        number=number,
        title=title,
        description=description or "",
        category=category,
        impact=impact,
        urgency=urgency,
        priority=chosen,
        priority_overridden=priority is not None and priority != computed,
        status="new",
        level=1,
        channel=channel,
        organisation_id=organisation_id,
        contract_id=contract_id,
        reporter_id=reporter_id,
        recording_path=recording_path,
        created_at=at,
        created_by=actor,
        response_due_at=response_due,
        resolution_due_at=resolution_due,
        updated_at=at,
    )
    _record(
        incident,
        actor=actor,
        kind="created",
        at=at,
        data={
            "priority": chosen,
            "computed_priority": computed,
            "impact": impact,
            "urgency": urgency,
            "channel": channel,
            "category": category,
        },
    )
    incident.events[0].from_status = None
    session.add(incident)
    session.flush()
    if call_id is not None:
        link_call(session, incident, call_id, actor=actor, now=at)
    return incident


def parse_keyed_number(digits: str | int) -> int | None:
    """Digits keyed on a phone (leading zeros allowed) -> number; None if it cannot exist.

    Raises InvalidIncidentNumber for anything but digits, so a caller's typo is
    reported as such rather than as "not found".
    """
    if isinstance(digits, bool):
        raise InvalidIncidentNumber("an incident number is digits, not a boolean")
    if isinstance(digits, int):
        return digits if digits > 0 else None
    text = str(digits).strip()
    if not _DIGITS.match(text):
        raise InvalidIncidentNumber(
            f"an incident number is digits only (e.g. 4217 for INC-004217), got {text!r}"
        )
    text = text.lstrip("0")
    if not text or len(text) > MAX_DIGITS:
        return None
    return int(text)


def parse_display_number(text: str) -> int | None:
    """'INC-004217', 'inc4217' or '4217' -> 4217 (for search boxes); None if not one."""
    m = _DISPLAY.match((text or "").strip())
    if not m:
        return None
    return parse_keyed_number(m.group(1))


def find_by_keyed_number(session: Session, digits: str | int) -> Incident | None:
    """The incident whose number the caller keyed (e.g. '4217' or '004217')."""
    number = parse_keyed_number(digits)
    if number is None:
        return None
    return session.scalars(select(Incident).where(Incident.number == number)).one_or_none()


def open_incidents(
    session: Session,
    *,
    reporter_id: int | None = None,
    organisation_id: int | None = None,
    limit: int = 20,
) -> list[Incident]:
    """Not-yet-closed incidents of a contact or organisation, newest first (screen-pop)."""
    if reporter_id is None and organisation_id is None:
        raise IncidentError("give reporter_id or organisation_id")
    stmt = select(Incident).where(Incident.status.in_(OPEN_STATUSES))
    if reporter_id is not None:
        stmt = stmt.where(Incident.reporter_id == reporter_id)
    if organisation_id is not None:
        stmt = stmt.where(Incident.organisation_id == organisation_id)
    stmt = stmt.order_by(Incident.created_at.desc(), Incident.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def assign(
    session: Session,
    incident: Incident,
    *,
    assignee: str,
    actor: str,
    note: str = "",
    now: datetime | None = None,
) -> Incident:
    """Give the incident to an agent (also reassigns); status becomes `assigned`."""
    at, actor = _now(now), _actor(actor)
    assignee = (assignee or "").strip()
    if not assignee:
        raise IncidentError("assignee is required")
    _lock(session, incident)
    _move(incident, "assigned")
    previous = incident.assignee_login
    _record(
        incident,
        actor=actor,
        kind="assigned",
        at=at,
        to_status="assigned",
        data={"assignee": assignee, "previous": previous},
        note=note,
    )
    incident.assignee_login = assignee
    session.flush()
    return incident


def start_work(
    session: Session, incident: Incident, *, actor: str, note: str = "", now: datetime | None = None
) -> Incident:
    """The assignee (or whoever takes it) starts working; status `in_progress`."""
    at, actor = _now(now), _actor(actor)
    _lock(session, incident)
    _move(incident, "in_progress")
    data: dict[str, Any] = {}
    if incident.assignee_login is None and is_agent_actor(actor):
        incident.assignee_login = actor.split(":", 1)[-1]
        data["assignee"] = incident.assignee_login
    _record(
        incident, actor=actor, kind="started", at=at, to_status="in_progress", data=data, note=note
    )
    session.flush()
    return incident


def escalate(
    session: Session,
    incident: Incident,
    to_level: int,
    *,
    actor: str,
    assignee: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Incident:
    """Hand the incident up to level 2 or 3 (never down, never sideways).

    The assignee is replaced by `assignee` (None: the level's group picks it up).
    """
    at, actor = _now(now), _actor(actor)
    _lock(session, incident)
    if isinstance(to_level, bool) or not isinstance(to_level, int):
        raise IncidentError(f"escalation level must be an integer 2..3, got {to_level!r}")
    if not incident.level < to_level <= MAX_LEVEL:
        raise IllegalTransition(
            incident,
            "escalated",
            f"escalation goes upwards only, from level {incident.level} to "
            f"{'level ' + str(incident.level + 1) + '..' + str(MAX_LEVEL) if incident.level < MAX_LEVEL else 'nowhere'}"
            f" (asked for level {to_level})",
        )
    _move(incident, "escalated")
    _record(
        incident,
        actor=actor,
        kind="escalated",
        at=at,
        to_status="escalated",
        data={
            "from_level": incident.level,
            "to_level": to_level,
            "assignee": assignee,
            "previous_assignee": incident.assignee_login,
        },
        note=note,
    )
    incident.level = to_level
    incident.assignee_login = assignee
    session.flush()
    return incident


def resolve(
    session: Session,
    incident: Incident,
    *,
    actor: str,
    resolution: str = "",
    now: datetime | None = None,
) -> Incident:
    """Mark the incident solved; it awaits the reporter's verification."""
    at, actor = _now(now), _actor(actor)
    _lock(session, incident)
    _move(incident, "resolved")
    _record(
        incident,
        actor=actor,
        kind="resolved",
        at=at,
        to_status="resolved",
        data={"resolution": resolution},
        note=resolution,
    )
    incident.resolved_at = at
    session.flush()
    return incident


def verify(
    session: Session,
    incident: Incident,
    *,
    accepted: bool,
    actor: str,
    note: str = "",
    now: datetime | None = None,
    via: str = "",
    extra: dict[str, Any] | None = None,
) -> Incident:
    """The reporter's verdict on a resolved incident: accept closes, reject reopens.

    `via` says how the verdict was obtained (e.g. ``phone`` for a verification call);
    it and `extra` go into the event's data, so reports can count them.

    A rejection goes back to `in_progress` with the same assignee (or to `new`
    when nobody is assigned) and clears `resolved_at`; the SLA due times stand.
    When the actor is a contact (``contact:<id>``), it must be the reporter.
    """
    at, actor = _now(now), _actor(actor)
    _lock(session, incident)
    head, _, rest = actor.partition(":")
    if head == "contact" and incident.reporter_id is not None and rest != str(incident.reporter_id):
        raise IncidentError(
            f"{incident.display_number}: only the reporter (contact:{incident.reporter_id}) "
            f"may verify, not {actor}"
        )
    target = "closed" if accepted else ("in_progress" if incident.assignee_login else "new")
    if incident.status != "resolved":
        raise IllegalTransition(incident, target, "only a resolved incident can be verified")
    _move(incident, target, verifying=True)
    if accepted:
        _record(
            incident,
            actor=actor,
            kind="verified",
            at=at,
            to_status="closed",
            data={"accepted": True, **({"via": via} if via else {}), **(extra or {})},
            note=note,
        )
        incident.closed_at = at
    else:
        _record(
            incident,
            actor=actor,
            kind="reopened",
            at=at,
            to_status=target,
            data={
                "accepted": False,
                "resolved_at": _iso(incident.resolved_at),
                **({"via": via} if via else {}),
                **(extra or {}),
            },
            note=note,
        )
        incident.resolved_at = None
    session.flush()
    return incident


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def link_call(
    session: Session,
    incident: Incident,
    call_id: int,
    *,
    actor: str,
    now: datetime | None = None,
) -> IncidentCall:
    """Attach a call to the incident (idempotent: a second link returns the first)."""
    at, actor = _now(now), _actor(actor)
    if incident.id is None:
        session.flush()
    existing = session.scalars(
        select(IncidentCall).where(
            IncidentCall.incident_id == incident.id, IncidentCall.call_id == call_id
        )
    ).one_or_none()
    if existing is not None:
        return existing
    if incident.status == "closed":
        raise IncidentError(f"{incident.display_number} is closed; open a new incident")
    link = IncidentCall(call_id=call_id, linked_at=at, linked_by=actor)
    incident.calls.append(link)
    _record(incident, actor=actor, kind="call_linked", at=at, data={"call_id": call_id})
    session.flush()
    return link


_UNSET: Any = object()


def update(
    session: Session,
    cfg: CentralitaConfig,
    incident: Incident,
    *,
    actor: str,
    title: str = _UNSET,
    description: str = _UNSET,
    category: str | None = _UNSET,
    impact: str = _UNSET,
    urgency: str = _UNSET,
    priority: str | None = _UNSET,
    recording_path: str | None = _UNSET,
    note: str = "",
    now: datetime | None = None,
) -> Incident:
    """Change fields; records old and new values of what actually changed.

    Impact/urgency recompute the priority unless it is overridden; `priority`
    sets an override, `priority=None` removes it. A new priority re-derives the
    due times from the creation time. A bare `note` is a comment.
    """
    at, actor = _now(now), _actor(actor)
    _lock(session, incident)
    if incident.status == "closed":
        raise IncidentError(f"{incident.display_number} is closed; it can no longer change")
    changes: dict[str, list[Any]] = {}

    def put(field: str, value: Any) -> None:
        old = getattr(incident, field)
        if old != value:
            changes[field] = [old, value]
            setattr(incident, field, value)

    if title is not _UNSET:
        put("title", _check_title(title))
    if description is not _UNSET:
        put("description", description or "")
    if category is not _UNSET:
        put("category", _check_category(cfg, category))
    if impact is not _UNSET:
        put("impact", _check_level("impact", impact))
    if urgency is not _UNSET:
        put("urgency", _check_level("urgency", urgency))
    if recording_path is not _UNSET:
        put("recording_path", recording_path)
    computed = cfg.priority.priority(incident.impact, incident.urgency)  # type: ignore[arg-type]
    if priority is not _UNSET:
        if priority is None:
            put("priority_overridden", False)
            put("priority", computed)
        else:
            put("priority", _check_priority(priority))
            put("priority_overridden", priority != computed)
    elif not incident.priority_overridden:
        put("priority", computed)
    if "priority" in changes:
        response_due, resolution_due = due_times(cfg, incident.priority, incident.created_at)
        put("response_due_at", response_due)
        put("resolution_due_at", resolution_due)
    if not changes and not note:
        return incident
    serialisable = {k: [_jsonable(a), _jsonable(b)] for k, (a, b) in changes.items()}
    _record(
        incident,
        actor=actor,
        kind="updated" if changes else "comment",
        at=at,
        data={"changes": serialisable} if changes else {},
        note=note,
    )
    session.flush()
    return incident


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def add_note(
    session: Session, incident: Incident, *, actor: str, note: str, now: datetime | None = None
) -> IncidentEvent:
    """A comment on the audit trail (an agent's comment meets the response clock)."""
    at, actor = _now(now), _actor(actor)
    if not (note or "").strip():
        raise IncidentError("an empty note says nothing")
    event = _record(incident, actor=actor, kind="comment", at=at, note=note)
    session.flush()
    return event


def sla_status(cfg: CentralitaConfig, incident: Incident, now: datetime | None = None) -> SlaStatus:
    """Both clocks (response, resolution) of one incident at `now`, from its stored due times."""
    return sla_status_for(
        cfg,
        incident.priority,
        incident.created_at,
        incident.first_response_at,
        incident.resolved_at,
        _now(now),
        response_due=incident.response_due_at,
        resolution_due=incident.resolution_due_at,
    )
