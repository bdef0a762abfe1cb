"""Asterisk's queue_log (file or realtime table) → one `QueueCall` per queue entry.

queue_log is the durable record: it survives AMI drops and listener restarts.
Line format: ``epoch|callid|queue|agent|event|data1|data2|...``. The quirks
that matter here (all visible in the recorded traces):

* the agent field is the *member name* on CONNECT/COMPLETE*/RING*/PAUSE and the
  *interface* on ADDMEMBER/REMOVEMEMBER/PENALTY; ``NONE`` on caller events;
* the callid is ``MANAGER`` / ``NONE`` on member events (ignored here);
* ABANDON vs EXITWITHTIMEOUT vs EXITEMPTY vs EXITWITHKEY vs WITHDRAW tell the
  cause of an unanswered exit, which AMI's QueueCallerAbandon does not;
* CONNECT is ``hold|bridged uniqueid|ringtime`` (seconds); COMPLETECALLER /
  COMPLETEAGENT are ``hold|talk|origposition``; transfers end with
  ``hold|talk|origposition`` whatever comes before;
* RINGNOANSWER / RINGCANCELED carry milliseconds; a 486 decline is a
  RINGNOANSWER too; a member cancelled because another answered gets no line.

The file parser is the hot path (benchmarked in `bench.queue_log_import`): one
``str.split`` per line, events dispatched by comparing the event string, and
an object allocated only per queue entry, never per line.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from callstats.definitions import QueueCall
from servicedesk.models import QueueLogEntry

_EXITS = {
    "ABANDON": "abandoned",
    "EXITWITHTIMEOUT": "timeout",
    "EXITEMPTY": "exit_empty",
    "WITHDRAW": "withdraw",
}
_TRANSFERS = frozenset({"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"})
# the events this parser acts on; every other line (member events, CONFIGRELOAD...) is skipped
CALL_EVENTS = frozenset(
    {
        "ENTERQUEUE",
        "CONNECT",
        "COMPLETECALLER",
        "COMPLETEAGENT",
        "RINGNOANSWER",
        "EXITWITHKEY",
        *_EXITS,
        *_TRANSFERS,
    }
)


def _num(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


class QueueLogReader:
    """Incremental: feed lines (any number of times), then `calls()`.

    `agent_keys` maps a member name or interface to the agent's login, so
    per-agent figures use the same key as the call records.
    """

    def __init__(self, agent_keys: dict[str, str] | None = None) -> None:
        self.agent_keys = agent_keys or {}
        self.open: dict[str, QueueCall] = {}
        self.done: list[QueueCall] = []
        self.lines = 0
        self.skipped = 0

    # --- the hot loop ----------------------------------------------------------
    def feed_lines(self, lines: Iterable[str]) -> None:
        open_ = self.open
        done = self.done
        keys = self.agent_keys
        exits = _EXITS
        transfers = _TRANSFERS
        n = skipped = 0
        for line in lines:
            n += 1
            p = line.rstrip("\r\n").split("|")
            if len(p) < 5:
                skipped += 1
                continue
            ev = p[4]
            cid = p[1]
            if ev == "ENTERQUEUE":
                try:
                    t = float(p[0])
                except ValueError:
                    skipped += 1
                    continue
                old = open_.get(cid)
                if old is not None:
                    done.append(old)
                call = QueueCall(cid, p[2], t, "open")
                if len(p) > 7:
                    call.position = _num(p[7])
                open_[cid] = call
                continue
            if ev == "RINGNOANSWER":
                call = open_.get(cid)
                if call is None:
                    call = self._orphan(cid, p, 0)
                    if call is None:
                        continue
                call.ring_noanswer += 1
                agent = keys.get(p[3], p[3])
                rna = call.ring_noanswer_by_agent
                rna[agent] = rna.get(agent, 0) + 1
                continue
            if ev == "CONNECT":
                hold = _num(p[5]) if len(p) > 5 else None
                call = open_.get(cid) or self._orphan(cid, p, hold or 0)
                if call is None:
                    continue
                call.outcome = "answered"
                call.hold = hold
                call.agent = keys.get(p[3], p[3])
                call.answered_at = float(p[0])
                continue
            if ev == "COMPLETECALLER" or ev == "COMPLETEAGENT":
                if len(p) < 7:
                    skipped += 1
                    continue
                hold = _num(p[5])
                talk = _num(p[6])
                call = open_.pop(cid, None) or self._orphan(
                    cid, p, (hold or 0) + (talk or 0), track=False
                )
                if call is None:
                    continue
                if call.outcome == "open":
                    call.outcome = "answered"
                call.hold = hold
                call.talk = talk
                call.agent = keys.get(p[3], p[3])
                t = float(p[0])
                call.ended_at = t
                if call.answered_at is None:
                    call.answered_at = t - (talk or 0)
                call.hung_up_by = "caller" if ev == "COMPLETECALLER" else "agent"
                done.append(call)
                continue
            outcome = exits.get(ev)
            if outcome is not None:
                wait = _num(p[7]) if len(p) > 7 else None
                call = open_.pop(cid, None) or self._orphan(cid, p, wait or 0, track=False)
                if call is None:
                    continue
                call.outcome = outcome
                call.hold = wait
                call.ended_at = float(p[0])
                call.hung_up_by = "caller" if outcome == "abandoned" else "system"
                done.append(call)
                continue
            if ev == "EXITWITHKEY":
                # key|position|origposition|waittime (old Asterisk: key|position)
                wait = _num(p[8]) if len(p) > 8 else None
                call = open_.pop(cid, None) or self._orphan(cid, p, wait or 0, track=False)
                if call is None:
                    continue
                call.outcome = "exit_key"
                t = float(p[0])
                call.hold = wait if wait is not None else max(0, int(t - call.entered_at))
                call.ended_at = t
                call.hung_up_by = "caller"
                done.append(call)
                continue
            if ev in transfers:
                if len(p) < 8:
                    skipped += 1
                    continue
                # ...|holdtime|calltime|origposition are always the last three fields
                hold = _num(p[-3])
                talk = _num(p[-2])
                call = open_.pop(cid, None) or self._orphan(
                    cid, p, (hold or 0) + (talk or 0), track=False
                )
                if call is None:
                    continue
                call.outcome = "transferred"
                call.hold = hold
                call.talk = talk
                call.agent = keys.get(p[3], p[3])
                call.ended_at = float(p[0])
                call.hung_up_by = "agent"
                done.append(call)
                continue
        self.lines += n
        self.skipped += skipped

    def _orphan(self, cid: str, p: list[str], back: int, track: bool = True) -> QueueCall | None:
        """A call whose ENTERQUEUE is before the data we read: entered = t − elapsed."""
        if cid in ("NONE", "MANAGER", ""):
            return None
        try:
            t = float(p[0])
        except ValueError:
            return None
        call = QueueCall(cid, p[2], t - back, "open")
        if track:
            self.open[cid] = call
        return call

    # --- results ---------------------------------------------------------------
    def calls(self) -> list[QueueCall]:
        """Finished entries in log order, then those still open (waiting or talking)."""
        return self.done + list(self.open.values())


def parse_lines(lines: Iterable[str], agent_keys: dict[str, str] | None = None) -> list[QueueCall]:
    reader = QueueLogReader(agent_keys)
    reader.feed_lines(lines)
    return reader.calls()


def parse_file(path: str, agent_keys: dict[str, str] | None = None) -> list[QueueCall]:
    """Read a queue_log file (undecodable bytes replaced, never fatal)."""
    reader = QueueLogReader(agent_keys)
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        reader.feed_lines(fh)
    return reader.calls()


def parse_text(text: str, agent_keys: dict[str, str] | None = None) -> list[QueueCall]:
    return parse_lines(io.StringIO(text), agent_keys)


# --- the realtime table ---------------------------------------------------------


def table_time(value: str, tz: ZoneInfo | None = None) -> float:
    """A `queue_log.time` value as epoch seconds.

    Asterisk's realtime driver writes either an epoch or a datetime string
    (``YYYY-MM-DD HH:MM:SS[.ffffff]``) in the PBX's local time; pass that zone
    as `tz` (default UTC). An explicit offset in the string wins.
    """
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz or UTC)
    return dt.timestamp()


def table_lines(
    session: Session,
    start: float | None = None,
    end: float | None = None,
    tz: ZoneInfo | None = None,
) -> Iterator[str]:
    """The queue_log table's rows as file lines, in id order.

    The time filter is applied after conversion because `time` is a string
    column whose format depends on the Asterisk configuration.
    """
    stmt = select(
        QueueLogEntry.time,
        QueueLogEntry.callid,
        QueueLogEntry.queuename,
        QueueLogEntry.agent,
        QueueLogEntry.event,
        QueueLogEntry.data1,
        QueueLogEntry.data2,
        QueueLogEntry.data3,
        QueueLogEntry.data4,
        QueueLogEntry.data5,
    ).order_by(QueueLogEntry.id)
    for row in session.execute(stmt).yield_per(5000):
        try:
            t = table_time(row[0], tz)
        except ValueError:
            continue
        if (start is not None and t < start) or (end is not None and t >= end):
            continue
        data = list(row[5:])
        while data and not data[-1]:
            data.pop()
        yield "|".join([repr(t) if t != int(t) else str(int(t)), *row[1:5], *data])


def parse_table(
    session: Session,
    agent_keys: dict[str, str] | None = None,
    start: float | None = None,
    end: float | None = None,
    tz: ZoneInfo | None = None,
) -> list[QueueCall]:
    return parse_lines(table_lines(session, start, end, tz), agent_keys)
