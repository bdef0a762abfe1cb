"""Reconciliation from queue_log: the durable record of calls that ended unseen.

When the AMI link drops (or the listener restarts) mid-call, the end of the
call happens while nobody listens. Asterisk still appends it to queue_log,
whose callid is the queue caller's Uniqueid, so after every (re)login the calls
that no longer have live channels are completed from their queue_log lines
(file at `connections.queue_log.path`, or the realtime `queue_log` table).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.calls import CallRecord
from servicedesk.models import QueueLogEntry
from servicedesk.values import ascii_int

log = logging.getLogger(__name__)

OUTCOME_EVENTS = {
    "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "timeout",
    "EXITEMPTY": "exit_empty",
    "EXITWITHKEY": "exit_key",
}


MAX_LINE = 64 * 1024  # queue_log lines are short; a longer one is garbage, read in pieces


@dataclass(frozen=True, slots=True)
class QueueLogLine:
    time: float
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]

    def d(self, i: int) -> str:
        return self.data[i] if i < len(self.data) else ""


def parse_line(line: str) -> QueueLogLine | None:
    parts = line.rstrip("\r\n").split("|")
    if len(parts) < 5:
        return None
    try:
        when = float(parts[0])
    except ValueError:
        return None
    return QueueLogLine(when, parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def read_file(path: str, callids: set[str], since: float = 0.0) -> dict[str, list[QueueLogLine]]:
    """Lines of the given calls from a queue_log file (missing file → nothing)."""
    out: dict[str, list[QueueLogLine]] = {}
    if not callids or not path or not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as fh:
        while raw := fh.readline(MAX_LINE):  # a line without an end is read in bounded pieces
            bar = raw.find("|")
            if bar < 0:
                continue
            end = raw.find("|", bar + 1)
            if raw[bar + 1 : end] not in callids:
                continue
            line = parse_line(raw)
            if line is not None and line.time >= since:
                out.setdefault(line.callid, []).append(line)
    return out


def read_table(factory: sessionmaker[Session], callids: set[str]) -> dict[str, list[QueueLogLine]]:
    out: dict[str, list[QueueLogLine]] = {}
    if not callids:
        return out
    with factory() as session:
        rows = session.scalars(
            select(QueueLogEntry)
            .where(QueueLogEntry.callid.in_(sorted(callids)))
            .order_by(QueueLogEntry.id)
        ).all()
        for r in rows:
            when = table_time(r.time)
            if when is None:
                continue
            data = (r.data1, r.data2, r.data3, r.data4, r.data5)
            line = QueueLogLine(when, r.callid, r.queuename, r.agent, r.event, data)
            out.setdefault(line.callid, []).append(line)
    return out


def table_time(value: str) -> float | None:
    """The realtime table's `time`: an epoch, or Asterisk's `YYYY-MM-DD HH:MM:SS.ffffff` (UTC)."""
    try:
        return float(value)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def _int(value: str) -> int | None:
    return ascii_int(value)


def apply_lines(
    call: CallRecord, lines: Iterable[QueueLogLine], login_for_member: dict[str, str]
) -> float | None:
    """Complete `call` from its queue_log lines; returns the time of the last line.

    After a transfer line the caller's own lines go on in the next queue (blind transfer:
    same callid): the call keeps its first queue and hold, talk sums the legs, the last
    agent and who hung up come from the last leg (as the listener counts it live)."""
    last: float | None = None
    talk_before: int | None = None  # talk of the legs before a transfer
    for line in sorted(lines, key=lambda x: x.time):
        last = line.time
        ev = line.event
        if ev == "ENTERQUEUE":
            call.queue = call.queue or line.queue
            if call.entered_queue_at is None:
                call.entered_queue_at = line.time
            if call.queue_position is None:
                call.queue_position = _int(line.d(2))
            if not call.caller_num and line.d(1):
                call.caller_num = line.d(1)
        elif ev == "CONNECT":
            if call.outcome is None:
                call.outcome = "answered"
            if talk_before is None:
                call.hold_seconds = _int(line.d(0))
            if call.answered_at is None:
                call.answered_at = line.time
            call.agent_member = line.agent
            call.agent_login = call.agent_login or login_for_member.get(line.agent)
        elif ev in ("COMPLETECALLER", "COMPLETEAGENT"):
            call.outcome = call.outcome or "answered"
            call.hung_up_by = "caller" if ev == "COMPLETECALLER" else "agent"
            call.agent_member = line.agent
            if talk_before is None:
                call.hold_seconds = _int(line.d(0))
                call.talk_seconds = _int(line.d(1))
                call.agent_login = call.agent_login or login_for_member.get(line.agent)
            else:
                call.talk_seconds = talk_before + (_int(line.d(1)) or 0)
                call.agent_login = login_for_member.get(line.agent, call.agent_login)
        elif ev == "TRANSFER":
            call.outcome = "transferred"
            call.hung_up_by = "agent"
            call.hold_seconds = _int(line.d(2))
            call.talk_seconds = _int(line.d(3))
        elif ev in ("BLINDTRANSFER", "ATTENDEDTRANSFER"):
            # BLINDTRANSFER exten|context|hold|talk|pos; ATTENDEDTRANSFER BRIDGE|id|... or
            # APP|app|... (hold|talk|pos after two fields) or LINK|chan|chan|hold|talk|pos
            at = 3 if ev == "ATTENDEDTRANSFER" and line.d(0) == "LINK" else 2
            call.outcome = "transferred"
            call.hung_up_by = "agent"
            if talk_before is None:
                call.hold_seconds = _int(line.d(at))
            talk_before = (talk_before or 0) + (_int(line.d(at + 1)) or 0)
            call.talk_seconds = talk_before
            call.agent_member = line.agent
            call.agent_login = login_for_member.get(line.agent, call.agent_login)
        elif ev in OUTCOME_EVENTS:
            call.outcome = OUTCOME_EVENTS[ev]
            call.hold_seconds = _int(line.d(3 if ev == "EXITWITHKEY" else 2))
            call.hung_up_by = "caller" if ev == "ABANDON" else "system"
        call.source = "queue_log"
    return last


TERMINAL_EVENTS = frozenset(
    {
        "COMPLETECALLER",
        "COMPLETEAGENT",
        "TRANSFER",
        "BLINDTRANSFER",
        "ATTENDEDTRANSFER",
        *OUTCOME_EVENTS,
    }
)
NOT_CALLS = frozenset({"MANAGER", "NONE", ""})


def read_file_since(path: str, since: float) -> dict[str, list[QueueLogLine]]:
    """Every call's lines from `since` on (calls that may have happened while no listener ran)."""
    out: dict[str, list[QueueLogLine]] = {}
    if not path or not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as fh:
        while raw := fh.readline(MAX_LINE):
            line = parse_line(raw)
            if line is None or line.time < since or line.callid in NOT_CALLS:
                continue
            out.setdefault(line.callid, []).append(line)
    return out


def read_table_since(
    factory: sessionmaker[Session], since: float, limit: int = 200_000
) -> dict[str, list[QueueLogLine]]:
    """The same from the realtime table (its newest `limit` rows: `time` is text)."""
    out: dict[str, list[QueueLogLine]] = {}
    with factory() as session:
        rows = session.scalars(
            select(QueueLogEntry).order_by(QueueLogEntry.id.desc()).limit(limit)
        ).all()
    for r in reversed(rows):
        when = table_time(r.time)
        if when is None or when < since or r.callid in NOT_CALLS:
            continue
        data = (r.data1, r.data2, r.data3, r.data4, r.data5)
        line = QueueLogLine(when, r.callid, r.queuename, r.agent, r.event, data)
        out.setdefault(line.callid, []).append(line)
    return out
