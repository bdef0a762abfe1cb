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

import gc
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while parsing.

    The parser creates hundreds of thousands of long-lived, acyclic objects;
    each gen-0 overflow would otherwise make the collector rescan them all
    (measured: about a quarter of the parse time). Reference counting still
    frees everything; nothing here can form a cycle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_MAX_EPOCH = 1e11  # year 5138: rejects inf/nan and garbage that would break datetimes


class _NotACall(Exception):
    """A call event without a usable call id (skipped)."""


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
        """Consume queue_log lines; a malformed line is counted in `skipped`, never fatal.

        The trailing newline is not stripped: it can only end up in the last
        field, and int()/float() ignore surrounding whitespace.
        """
        with _gc_paused():
            self._feed(lines)

    def _feed(self, lines: Iterable[str]) -> None:
        open_ = self.open
        done = self.done
        keys = self.agent_keys
        exits = _EXITS
        transfers = _TRANSFERS
        new_call = QueueCall
        n = skipped = 0
        for line in lines:
            n += 1
            p = line.split("|")
            if len(p) < 6:
                skipped += 1
                continue
            ev = p[4]
            try:
                if ev == "ENTERQUEUE":
                    cid = p[1]
                    t = float(p[0])
                    if not 0.0 <= t < _MAX_EPOCH:
                        raise ValueError(p[0])
                    call = new_call(cid, p[2], t, "open")
                    old = open_.get(cid)
                    if old is not None:
                        done.append(old)
                    if len(p) > 7:
                        call.position = int(p[7])
                    open_[cid] = call
                elif ev == "CONNECT":
                    cid = p[1]
                    hold = int(p[5])
                    call = open_.get(cid) or self._orphan(cid, p, hold)
                    call.outcome = "answered"
                    call.hold = hold
                    call.agent = keys.get(p[3], p[3])
                    call.answered_at = float(p[0])
                elif ev == "COMPLETECALLER" or ev == "COMPLETEAGENT":
                    cid = p[1]
                    hold = int(p[5])
                    talk = int(p[6])
                    t = float(p[0])
                    call = open_.pop(cid, None) or self._orphan(cid, p, hold + talk, False)
                    if call.outcome == "open":
                        call.outcome = "answered"
                    call.hold = hold
                    call.talk = talk
                    call.agent = keys.get(p[3], p[3])
                    call.ended_at = t
                    if call.answered_at is None:
                        call.answered_at = t - talk
                    call.hung_up_by = "caller" if ev == "COMPLETECALLER" else "agent"
                    done.append(call)
                elif ev in exits:
                    # position|origposition|waittime[|withdraw info]
                    cid = p[1]
                    wait = int(p[7])
                    t = float(p[0])
                    call = open_.pop(cid, None) or self._orphan(cid, p, wait, False)
                    outcome = exits[ev]
                    call.outcome = outcome
                    call.hold = wait
                    call.ended_at = t
                    call.hung_up_by = "caller" if outcome == "abandoned" else "system"
                    done.append(call)
                elif ev == "RINGNOANSWER":
                    cid = p[1]
                    call = open_.get(cid) or self._orphan(cid, p, 0)
                    call.ring_noanswer += 1
                    agent = keys.get(p[3], p[3])
                    rna = call.ring_noanswer_by_agent
                    if rna is None:
                        call.ring_noanswer_by_agent = {agent: 1}
                    else:
                        rna[agent] = rna.get(agent, 0) + 1
                elif ev == "EXITWITHKEY":
                    # key|position|origposition|waittime (old Asterisk: key|position)
                    cid = p[1]
                    t = float(p[0])
                    wait = int(p[8]) if len(p) > 8 else None
                    call = open_.pop(cid, None) or self._orphan(cid, p, wait or 0, False)
                    call.outcome = "exit_key"
                    call.hold = wait if wait is not None else max(0, int(t - call.entered_at))
                    call.ended_at = t
                    call.hung_up_by = "caller"
                    done.append(call)
                elif ev in transfers:
                    # ...|holdtime|calltime|origposition are always the last three fields
                    cid = p[1]
                    hold = int(p[-3])
                    talk = int(p[-2])
                    call = open_.pop(cid, None) or self._orphan(cid, p, hold + talk, False)
                    call.outcome = "transferred"
                    call.hold = hold
                    call.talk = talk
                    call.agent = keys.get(p[3], p[3])
                    call.ended_at = float(p[0])
                    call.hung_up_by = "agent"
                    done.append(call)
            except (ValueError, IndexError, OverflowError, _NotACall):
                skipped += 1
        self.lines += n
        self.skipped += skipped

    def _orphan(self, cid: str, p: list[str], back: int, track: bool = True) -> QueueCall:
        """A call whose ENTERQUEUE is before the data we read: entered = t − elapsed."""
        if cid in ("NONE", "MANAGER", ""):
            raise _NotACall(cid)
        t = float(p[0]) - back
        if not 0.0 <= t < _MAX_EPOCH:
            raise ValueError(p[0])
        call = QueueCall(cid, p[2], t, "open")
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
