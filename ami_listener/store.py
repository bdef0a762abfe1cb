"""Batched persistence of call records, ring attempts and agent states.

Every write is an upsert keyed by natural keys — calls by (pbx_id, linkedid),
rings by (call, member, started_at), state changes by their unique event key —
so replaying a stream, or re-sending a batch after a failed commit, never
duplicates a row. Unfinished calls are written too (outcome NULL): the database
is where in-flight state survives a listener restart (`load_open_calls`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, String, and_, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.agents import AgentChange, SessionChange
from ami_listener.calls import CallRecord, Ring
from ami_listener.timeutil import from_dt, to_dt
from servicedesk import bulk_upsert, metrics, quarantine
from servicedesk.models import (
    AgentSession,
    AgentStateChange,
    Call,
    Contact,
    RingAttempt,
)

log = logging.getLogger(__name__)

CALL_UPDATE_COLUMNS = (
    "uniqueid",
    "line_did",
    "caller_num",
    "caller_name",
    "contact_id",
    "language",
    "ivr_choices",
    "category",
    "priority",
    "vip",
    "incident_number",
    "queue",
    "queue_position",
    "started_at",
    "entered_queue_at",
    "answered_at",
    "ended_at",
    "hold_seconds",
    "talk_seconds",
    "agent_login",
    "agent_member",
    "hung_up_by",
    "outcome",
    "source",
    "updated_at",
    "origin_pbx_id",
    "origin_linkedid",
)


RING_UPDATE_COLUMNS = ("result", "ring_ms", "agent_login")


@dataclass(slots=True)
class CallSnapshot:
    """A call frozen at flush time, safe to hand to the writer thread."""

    row: dict[str, Any]
    rings: list[dict[str, Any]]
    done: bool


def snapshot(call: CallRecord, pbx_id: str) -> CallSnapshot:
    now = datetime.now(UTC)
    row = {
        "pbx_id": pbx_id,
        "linkedid": call.linkedid,
        "uniqueid": call.uniqueid,
        "line_did": call.line_did,  # the dialled extension (DID digits); the line name is a var
        "caller_num": _cut(call.caller_num, 80),
        "caller_name": _cut(call.caller_name, 200),
        "contact_id": call.contact_id(),
        "language": call.language(),
        "ivr_choices": call.ivr_choices(),
        "category": _cut(call.var("CENTRALITA_CATEGORY"), 40),
        "priority": _cut(call.var("CENTRALITA_PRIORITY"), 16),
        "vip": call.var("CENTRALITA_VIP") == "1",
        "incident_number": call.incident_number(),
        "queue": call.queue,
        "queue_position": call.queue_position,
        "started_at": to_dt(call.started_at),
        "entered_queue_at": to_dt(call.entered_queue_at),
        "answered_at": to_dt(call.answered_at),
        "ended_at": to_dt(call.ended_at) if call.done else None,
        "hold_seconds": call.hold_seconds,
        "talk_seconds": call.talk_seconds,
        "agent_login": call.agent_login,
        "agent_member": call.agent_member,
        "hung_up_by": call.hung_up_by if call.done or call.talk_seconds is not None else None,
        "outcome": call.outcome,
        "source": call.source,
        "updated_at": now,
        "origin_pbx_id": call.origin[0] if call.origin else None,
        "origin_linkedid": call.origin[1] if call.origin else None,
    }
    if row["line_did"]:
        row["line_did"] = _cut(row["line_did"], 32)
    rings = [
        {
            "agent_login": r.agent_login,
            "member": r.member or r.member_name,
            "started_at": to_dt(r.started_at),
            "result": r.result,
            "ring_ms": r.ring_ms,
        }
        for r in call.rings
    ]
    return CallSnapshot(row, rings, call.done)


def _cut(value: str | None, n: int) -> str | None:
    return None if value is None else value[:n]


_LENGTHS: dict[str, dict[str, int]] = {}


def _lengths(table: Any) -> dict[str, int]:
    """Column name -> VARCHAR length of a table (cached)."""
    found = _LENGTHS.get(table.name)
    if found is None:
        found = {
            c.name: c.type.length
            for c in table.columns
            if isinstance(c.type, String) and getattr(c.type, "length", None)
        }
        _LENGTHS[table.name] = found
    return found


def _clean(value: str, n: int) -> str:
    """Bounded to the column and free of NUL (PostgreSQL refuses it; SQLite keeps it)."""
    value = value[:n]
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _bounded(table: Any, row: dict[str, Any]) -> dict[str, Any]:
    """A copy of `row` with every string cut to its column's size, on either engine."""
    lengths = _lengths(table)
    out = dict(row)
    for name, n in lengths.items():
        value = out.get(name)
        if isinstance(value, str) and (len(value) > n or "\x00" in value):
            out[name] = _clean(value, n)
    return out


def _bounded_session(s: SessionChange) -> SessionChange:
    lengths = _lengths(AgentSession.__table__)
    return SessionChange(
        _clean(s.login, lengths["agent_login"]),
        _clean(s.interface, lengths["interface"]),
        _clean(s.queue, lengths["queue"]),
        s.penalty,
        s.login_at,
        s.logout_at,
    )


def _raw_call(call: CallSnapshot) -> dict[str, Any]:
    return {**call.row, "rings": call.rings}


def _short(exc: BaseException, n: int = 300) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:n]


TRANSIENT_MARKERS = (
    "locked",
    "busy",
    "disk is full",
    "database or disk is full",
    "disk i/o error",
    "unable to open database",
    "readonly database",
    "connection",
    "server closed",
    "terminating",
    "timeout",
    "could not receive",
    "could not send",
)


def is_transient(exc: BaseException) -> bool:
    """Worth retrying the same batch later (the database, not the row, is the problem)."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        if isinstance(exc, (IntegrityError, DataError, ProgrammingError)):
            return False
        if isinstance(exc, (OperationalError, InterfaceError)):
            message = str(exc.orig).lower()
            dialect = type(exc.orig).__module__
            return dialect.startswith("psycopg") or any(m in message for m in TRANSIENT_MARKERS)
        return False
    return isinstance(exc, (ConnectionError, TimeoutError))


def _insert(engine: Engine, table: Any) -> Any:
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class CallStore:
    def __init__(self, factory: sessionmaker[Session], pbx_id: str) -> None:
        self.factory = factory
        self.pbx_id = pbx_id
        bind = factory.kw.get("bind")
        assert isinstance(bind, Engine), "session factory must be bound to an engine"
        self.engine: Engine = bind
        self._contacts: dict[int, tuple[str | None, str | None]] = {}
        self._known_contacts: set[int] = set()
        if self.engine.dialect.name != "postgresql":
            self._prepare_sqlite()

    def _prepare_sqlite(self) -> None:
        """SQLite's statements, each one SQL text whatever the batch size: sqlite3 keeps
        a compiled program per text and connection (128 of them), and a multi-row
        VALUES for 50 calls compiles to ~300 KB, so batch sizes varying over a day
        grew the listener by tens of MB. executemany steps one compiled statement
        per row; the ids come back through one json_each() query."""
        calls, rings = Call.__table__, RingAttempt.__table__
        stmt = sqlite.insert(calls)
        self._sqlite_call_upsert = stmt.on_conflict_do_update(
            index_elements=["pbx_id", "linkedid"],
            set_={c: getattr(stmt.excluded, c) for c in CALL_UPDATE_COLUMNS},
        )
        self._sqlite_call_ids = text(
            'SELECT linkedid, id FROM "call" WHERE pbx_id = :pbx'
            " AND linkedid IN (SELECT value FROM json_each(:linkedids))"
        )
        rstmt = sqlite.insert(rings)
        changed = [getattr(rstmt.excluded, c) for c in RING_UPDATE_COLUMNS]
        self._sqlite_ring_upsert = rstmt.on_conflict_do_update(
            index_elements=["call_id", "member", "started_at"],
            set_=dict(zip(RING_UPDATE_COLUMNS, changed, strict=True)),
            # a ring rewritten unchanged (every flush of its call) is left alone
            where=or_(
                *(
                    rings.c[c].is_distinct_from(e)
                    for c, e in zip(RING_UPDATE_COLUMNS, changed, strict=True)
                )
            ),
        )

    # --- writes ---------------------------------------------------------
    def write(
        self,
        calls: list[CallSnapshot],
        changes: Iterable[AgentChange] = (),
        sessions: Iterable[SessionChange] = (),
    ) -> int:
        """Write a batch; returns how many rows were quarantined.

        One transaction for the whole batch first. If the database refuses it for
        a transient reason (locked, disk full, connection lost) the exception
        propagates and the caller keeps the batch for a retry. Any other refusal
        means a bad row: the rows are then written one by one, each in its own
        transaction, and a row that fails is quarantined with its raw values and
        the error — every other row lands.
        """
        changes, sessions = list(changes), list(sessions)
        try:
            with self.factory() as session, session.begin():
                self._write_rows(session, calls, changes, sessions)
            return 0
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("batch refused (%s); writing its rows one by one", _short(exc))
        bad = 0
        for call in calls:
            bad += self._one("call", call.row["linkedid"], _raw_call(call), [call], [], [])
        for change in changes:
            bad += self._one("agent_change", change.login, asdict(change), [], [change], [])
        for sess in sessions:
            bad += self._one("agent_session", sess.login, asdict(sess), [], [], [sess])
        return bad

    def _write_rows(
        self,
        session: Session,
        calls: list[CallSnapshot],
        changes: list[AgentChange],
        sessions: list[SessionChange],
    ) -> None:
        if calls:
            self._upsert_calls(session, calls)
        self._insert_changes(session, changes)
        for s in sessions:
            self._session(session, s)

    def _one(
        self,
        kind: str,
        key: str,
        raw: dict[str, Any],
        calls: list[CallSnapshot],
        changes: list[AgentChange],
        sessions: list[SessionChange],
    ) -> int:
        """Write one row alone; quarantine it if the database refuses it for good."""
        try:
            with self.factory() as session, session.begin():
                self._write_rows(session, calls, changes, sessions)
            return 0
        except Exception as exc:
            if is_transient(exc):
                raise
            error = f"{type(exc).__name__}: {_short(exc)}"
        metrics.incr("listener.rows_quarantined")
        log.error("database refused %s %r; quarantined (%s)", kind, key, error)
        try:
            with self.factory() as session, session.begin():
                quarantine.keep(session, f"listener:{self.pbx_id}", kind, str(key), raw, error)
        except Exception as exc:
            if is_transient(exc):
                raise
            # no quarantine table (database not migrated?): the row is only in the log
            metrics.incr("listener.rows_dropped")
            log.error("quarantine failed (%s); dropped %s %r: %r", _short(exc), kind, key, raw)
        return 1

    def _upsert_calls(self, session: Session, calls: list[CallSnapshot]) -> None:
        """The batch's calls, then their rings. On PostgreSQL one array upsert each
        (`servicedesk.bulk_upsert`; the ids come back from the first), so its summary
        triggers run once per batch; on SQLite the fixed statements of
        `_prepare_sqlite`."""
        table = Call.__table__
        # one row per call: a multi-row upsert may not touch the same row twice
        latest = {c.row["linkedid"]: c for c in calls}
        rows = [_bounded(table, c.row) for c in latest.values()]
        self._unknown_contacts_to_null(session, rows)
        if self.engine.dialect.name == "postgresql":
            ids = dict(
                bulk_upsert.upsert(
                    session.connection(),
                    table,
                    rows,
                    conflict=["pbx_id", "linkedid"],
                    update=CALL_UPDATE_COLUMNS,
                    returning=["linkedid", "id"],
                )
            )
        else:
            session.execute(self._sqlite_call_upsert, rows)
            ids = dict(
                session.execute(
                    self._sqlite_call_ids,
                    {"pbx": self.pbx_id, "linkedids": json.dumps(list(latest))},
                )
                .tuples()
                .all()
            )
        ring_rows = []
        for c in latest.values():
            call_id = ids.get(c.row["linkedid"])
            if call_id is None or not c.rings:
                continue
            seen: set[tuple[str, Any]] = set()
            for r in c.rings:
                key = (r["member"], r["started_at"])
                if key in seen:
                    continue
                seen.add(key)
                ring_rows.append(_bounded(RingAttempt.__table__, {"call_id": call_id, **r}))
        if not ring_rows:
            return
        rings = RingAttempt.__table__
        ring_key = ["call_id", "member", "started_at"]
        if self.engine.dialect.name == "postgresql":
            # a ring rewritten unchanged (every flush of its call) is left alone:
            # no new row version, no summary trigger work
            bulk_upsert.upsert(
                session.connection(),
                rings,
                ring_rows,
                conflict=ring_key,
                update=RING_UPDATE_COLUMNS,
                only_if_changed=True,
            )
            return
        session.execute(self._sqlite_ring_upsert, ring_rows)

    def _insert_changes(self, session: Session, changes: list[AgentChange]) -> None:
        if not changes:
            return
        table = AgentStateChange.__table__
        rows = [
            _bounded(
                table,
                {
                    "pbx_id": self.pbx_id,
                    "agent_login": c.login,
                    "at": to_dt(c.at),
                    "kind": c.kind,
                    "reason": c.reason or None,
                    "queue": c.queue,
                },
            )
            for c in changes
        ]
        stmt = _insert(self.engine, table).on_conflict_do_nothing(
            index_elements=["pbx_id", "agent_login", "at", "kind", "queue"]
        )
        session.execute(stmt, rows)

    def _unknown_contacts_to_null(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """A contact id the directory does not know is stored as "unknown contact" (NULL),
        never a foreign-key error that would refuse the call."""
        wanted = {r["contact_id"] for r in rows if r.get("contact_id") is not None}
        unknown = wanted - self._known_contacts
        if unknown:
            found = set(session.scalars(select(Contact.id).where(Contact.id.in_(unknown))).all())
            if len(self._known_contacts) > 200_000:
                self._known_contacts.clear()
            self._known_contacts.update(found)
            unknown -= found
        if not unknown:
            return
        for r in rows:
            if r.get("contact_id") in unknown:
                metrics.incr("listener.unknown_contact")
                r["contact_id"] = None

    def _session(self, session: Session, s: SessionChange) -> None:
        s = _bounded_session(s)
        login_at = to_dt(s.login_at)
        existing = session.execute(
            select(AgentSession.id, AgentSession.logout_at).where(
                AgentSession.pbx_id == self.pbx_id,
                AgentSession.agent_login == s.login,
                AgentSession.queue == s.queue,
                AgentSession.login_at == login_at,
            )
        ).first()
        if existing is None:
            session.add(
                AgentSession(
                    pbx_id=self.pbx_id,
                    agent_login=s.login,
                    interface=s.interface,
                    queue=s.queue,
                    penalty=s.penalty,
                    login_at=login_at,
                    logout_at=to_dt(s.logout_at),
                )
            )
            session.flush()
        elif s.logout_at is not None:
            session.execute(
                update(AgentSession)
                .where(AgentSession.id == existing[0])
                .values(logout_at=to_dt(s.logout_at))
            )

    # --- reads ------------------------------------------------------------
    def load_open_calls(self) -> list[CallRecord]:
        """Calls persisted unfinished (ended_at NULL) by an earlier run of this listener."""
        out: list[CallRecord] = []
        with self.factory() as session:
            rows = session.scalars(
                select(Call).where(and_(Call.pbx_id == self.pbx_id, Call.ended_at.is_(None)))
            ).all()
            for row in rows:
                call = CallRecord(
                    linkedid=row.linkedid,
                    uniqueid=row.uniqueid,
                    started_at=from_dt(row.started_at) or 0.0,
                )
                call.caller_uids.update({row.linkedid, row.uniqueid})
                call.caller_num = row.caller_num
                call.caller_name = row.caller_name
                call.line_did = row.line_did
                call.queue = row.queue
                call.queue_position = row.queue_position
                call.entered_queue_at = from_dt(row.entered_queue_at)
                call.answered_at = from_dt(row.answered_at)
                call.hold_seconds = row.hold_seconds
                call.talk_seconds = row.talk_seconds
                call.agent_login = row.agent_login
                call.agent_member = row.agent_member
                call.outcome = row.outcome
                call.in_queue = row.entered_queue_at is not None and row.outcome is None
                if row.origin_pbx_id and row.origin_linkedid:
                    call.origin = (row.origin_pbx_id, row.origin_linkedid)
                if row.language:
                    call.variables["IVR_LANG"] = row.language
                if row.contact_id:
                    call.variables["CENTRALITA_CONTACT"] = str(row.contact_id)
                for ring in row.rings:
                    call.rings.append(
                        Ring(
                            ring.member,
                            ring.member,
                            ring.agent_login or "",
                            from_dt(ring.started_at) or 0.0,
                            "",
                            ring.result,
                            ring.ring_ms,
                        )
                    )
                out.append(call)
        return out

    def finished_linkedids(self, linkedids: Iterable[str]) -> set[str]:
        ids = list(linkedids)
        if not ids:
            return set()
        with self.factory() as session:
            return set(
                session.scalars(
                    select(Call.linkedid).where(
                        Call.pbx_id == self.pbx_id,
                        Call.linkedid.in_(ids),
                        Call.ended_at.is_not(None),
                    )
                ).all()
            )

    def known_callids(self, callids: Iterable[str]) -> set[str]:
        """Which of these queue_log callids already have a call row (by uniqueid or linkedid)."""
        ids = list(callids)
        if not ids:
            return set()
        with self.factory() as session:
            rows = session.execute(
                select(Call.uniqueid, Call.linkedid).where(
                    Call.pbx_id == self.pbx_id,
                    or_(Call.uniqueid.in_(ids), Call.linkedid.in_(ids)),
                )
            ).all()
        wanted = set(ids)
        return {v for row in rows for v in row if v in wanted}

    def last_activity(self) -> float | None:
        """When this listener last recorded anything (a restart catches up from there)."""
        with self.factory() as session:
            latest = session.scalar(
                select(func.max(Call.updated_at)).where(Call.pbx_id == self.pbx_id)
            )
        return from_dt(latest)

    def contact_info(self, contact_id: int | None) -> tuple[str | None, str | None]:
        """(contact name, organisation name), looked up once per contact."""
        if contact_id is None:
            return None, None
        if contact_id not in self._contacts:
            with self.factory() as session:
                contact = session.get(Contact, contact_id)
                if contact is None:
                    self._contacts[contact_id] = (None, None)
                else:
                    org = contact.organisation.name if contact.organisation else None
                    self._contacts[contact_id] = (contact.name, org)
        return self._contacts[contact_id]
