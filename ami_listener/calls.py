"""The call state machine: one record per caller call, keyed by Linkedid.

Pure: it consumes parsed AMI messages and mutates `CallRecord`s, reporting what
changed through an `Outbox`; no I/O, so trace replays, the benchmark and the
live service share it. Times come from each event's `Timestamp:` header.

Outcome rules (Asterisk 22, see the traces' README):
* QueueCallerAbandon also fires for timeouts and empty-queue exits, so it only
  marks "left without an agent"; the cause is the `VarSet QUEUESTATUS` that
  follows (TIMEOUT → timeout, LEAVEEMPTY/LEAVEUNAVAIL → exit_empty,
  WITHDRAW → withdraw). Without one, the caller's hangup makes it `abandoned`.
* A QueueCallerLeave with no abandon, no AgentConnect and no QUEUESTATUS
  before the caller hangs up is an exit by key (EXITWITHKEY).
* `joinempty` rejection has only `VarSet QUEUESTATUS=JOINEMPTY` → join_empty.
* A call that never joined a queue is `ivr_only`, unless the desk placed it (the dialer's
  Originate sets CENTRALITA_OUTBOUND on the agent's channel): then `outbound_answered`
  when its Dial() to the customer was answered, else `outbound_no_answer`; neither is
  an offered inbound call (no queue).
* Attended transfer: a queue join by another channel of an answered call (the Local
  ;2 of the agent's consultation) is the consultation, not the caller: it rings and
  pops the target agents but is never offered or abandoned; AgentComplete Reason
  `transfer` hands the call to the agent who answered it (one record, as for blind).
Hold/talk seconds are Asterisk's own integers (AgentConnect/Abandon HoldTime,
AgentComplete TalkTime), the figures queue_log also writes, so both sources agree.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ami_listener.agents import AgentTracker
from ami_listener.origin import parse_origin
from ami_listener.parser import AmiMessage, header, header_list, unescape_ami
from servicedesk.values import INT32_MAX, ascii_int

QUEUESTATUS_OUTCOMES = {
    "TIMEOUT": "timeout",
    "LEAVEEMPTY": "exit_empty",
    "LEAVEUNAVAIL": "exit_empty",
    "JOINEMPTY": "join_empty",
    "JOINUNAVAIL": "join_empty",
    "FULL": "join_empty",
    "WITHDRAW": "withdraw",
}
DIAL_RESULTS = {
    "ANSWER": "answered",
    "CANCEL": "canceled",
    "NOANSWER": "noanswer",
    "BUSY": "busy",
    "CHANUNAVAIL": "failed",
    "CONGESTION": "failed",
}
UNKNOWN = {"", "<unknown>", "unknown"}


@dataclass(slots=True)
class Ring:
    member: str  # interface
    member_name: str
    agent_login: str
    started_at: float
    dest_uniqueid: str
    result: str | None = None
    ring_ms: int | None = None


@dataclass(slots=True)
class CallRecord:
    linkedid: str
    uniqueid: str
    started_at: float
    caller_num: str | None = None
    caller_name: str | None = None
    line_did: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    queue: str | None = None
    queue_position: int | None = None
    entered_queue_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    hold_seconds: int | None = None
    talk_seconds: int | None = None
    agent_login: str | None = None
    agent_member: str | None = None
    hung_up_by: str | None = None
    outcome: str | None = None
    rings: list[Ring] = field(default_factory=list)
    channels: set[str] = field(default_factory=set)
    caller_uids: set[str] = field(default_factory=set)
    abandon_seen: bool = False
    left_queue: bool = False
    in_queue: bool = False
    root_hung_up: bool = False
    hangup_requested_by: str | None = None
    source: str = "ami"
    done: bool = False
    open_pops: set[str] = field(default_factory=set)  # agents shown a pop not yet ended
    unsure: bool = False  # left the queue while we were disconnected: ask queue_log at the end
    transferred: bool = False  # an agent blind-transferred the caller (AgentComplete transfer)
    talk_before: int = 0  # talk seconds of the legs before the transfer(s)
    current_queue: str | None = None  # the queue the caller is in now (after a transfer)
    origin: tuple[str, str] | None = None  # (pbx id, linkedid) it continues: not a new call
    # an agent's attended-transfer consultation: the Local ;2 that queues for the target
    consult_uids: set[str] = field(default_factory=set)  # every consultation's channel
    consult_live: str | None = None  # the one under way (until the transfer or its end)
    consult_queue: str | None = None
    consult_agent: tuple[str, str] | None = None  # (login, member) who answered it
    consult_rung: dict[str, str] = field(default_factory=dict)  # login -> queue rung from
    dialled: str | None = None  # result of the root channel's own Dial() (outbound calls)
    talk_estimated: bool = False  # talk_seconds from timestamps until an AgentComplete says
    leg_at: float | None = None  # when the agent serving the caller now was connected
    consult_at: float | None = None  # when the consulted agent answered

    # --- derived fields for pops and rows --------------------------------
    def ivr_choices(self) -> dict[str, str]:
        raw = self.variables.get("CENTRALITA_IVR", "")
        out: dict[str, str] = {}
        for part in raw.split(";"):
            key, sep, value = part.partition("=")
            if sep and key:
                out[unquote(key)] = unquote(value)
        return out

    def var(self, name: str) -> str | None:
        value = self.variables.get(name, "")
        return value or None

    def contact_id(self) -> int | None:
        return ascii_int(self.var("CENTRALITA_CONTACT"), 1)

    def incident_number(self) -> int | None:
        return ascii_int(self.var("CENTRALITA_INCIDENT"), 1)

    def pop_queue(self, login: str) -> str:
        """The queue a pop names: where the call rings for this agent (during an attended
        transfer's consultation, the target queue for the agents rung there)."""
        consulted_in = self.consult_rung.get(login)
        if consulted_in and login != self.agent_login:
            return consulted_in
        return self.current_queue or self.queue or ""

    def language(self) -> str | None:
        v = self.var("IVR_LANG")
        return v[:2] if v else None


class Outbox:
    """What changed, collected for the next batched flush (DB and Redis)."""

    def __init__(self) -> None:
        self.dirty_calls: dict[str, CallRecord] = {}
        self.pops: list[tuple[str, str, CallRecord, float]] = []  # (login, type, call, ts)
        self.counters: list[tuple[CallRecord, str, int, str]] = []  # (call, field, amount, op)
        self.waiting: list[tuple[str, str, float | None]] = []  # (queue, uniqueid, entered|None)
        self.notices: list[dict[str, Any]] = []

    def call(self, call: CallRecord) -> None:
        self.dirty_calls[call.linkedid] = call

    def __len__(self) -> int:
        return len(self.dirty_calls) + len(self.pops) + len(self.counters)


# How long a finished linkedid is remembered, in event time. Late events of a call
# arrive within seconds, and the queue_log catch-up after a reconnect reads back only
# CATCH_UP_MARGIN_S (120 s) before the last event (older calls it finds in the
# database). Remembering by count instead (50,000) kept ~0.1 KB per call growing for
# hours: the listener's memory was never flat.
FINISHED_MEMORY_S = 300.0
FINISHED_MEMORY = 50_000  # hard cap as well, for a burst far above any real call rate


class RecentSet:
    """A set that forgets members older than `max_age` seconds (by the times given to
    `add`) and its oldest beyond `limit`: a long-running listener must hold only the
    linkedids it finished recently, so its memory stays flat whatever the uptime."""

    def __init__(self, limit: int, max_age: float = FINISHED_MEMORY_S) -> None:
        self.limit = limit
        self.max_age = max_age
        self._items: OrderedDict[str, float] = OrderedDict()  # oldest first
        self._newest = 0.0

    def add(self, item: str, at: float = 0.0) -> None:
        # stamped with the newest time seen, so the order stays the order of the stamps
        # (a call closed late from queue_log with an old end time is kept the full window)
        self._newest = max(self._newest, at)
        items = self._items
        items[item] = self._newest
        items.move_to_end(item)
        horizon = self._newest - self.max_age
        while items and (len(items) > self.limit or next(iter(items.values())) < horizon):
            items.popitem(last=False)

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)


QueueSettingsFn = Callable[[str], tuple[int, int]]  # queue -> (servicelevel, short_abandon)


def _ts(msg: AmiMessage, last: float) -> float:
    raw = msg.get("Timestamp")
    if raw is None or isinstance(raw, list):
        return last
    try:
        value = float(raw)
    except ValueError:
        return last
    # a garbled Timestamp (nan, inf, negative) must not poison record times
    return value if 0.0 < value < 1e11 else last


def _int(value: str, default: int | None = None, hi: int = INT32_MAX) -> int | None:
    """ASCII digits within [0, hi] (AMI values are untrusted: '²', 30-digit HoldTimes)."""
    number = ascii_int(value, 0, hi)
    return default if number is None else number


WAIT_MAX_S = 7 * 86400  # a QueueEntry Wait beyond a week is garbage, not a caller
EPOCH_MAX = 10**11  # LoginTime: the same plausibility bound as event Timestamps


class CallTracker:
    def __init__(
        self,
        agents: AgentTracker,
        outbox: Outbox | None = None,
        queue_settings: QueueSettingsFn | None = None,
        reconciler: Callable[[CallRecord], None] | None = None,
    ) -> None:
        self.agents = agents
        self.reconciler = reconciler
        self.out = outbox if outbox is not None else Outbox()
        self.queue_settings = queue_settings or (lambda _q: (20, 5))
        self.calls: dict[str, CallRecord] = {}
        self.waiting: dict[str, dict[str, float]] = {}  # queue -> uniqueid -> entered
        # linkedids finalised recently: late events must not resurrect them (bounded)
        self.finished: RecentSet = RecentSet(FINISHED_MEMORY)
        self.last_ts = 0.0
        # the desk's other PBXs: a call carrying one of their origins is a continued leg
        self.peer_pbxs: frozenset[str] = frozenset()
        self.handlers: dict[str, Callable[[AmiMessage, float], None]] = {
            "Newchannel": self._newchannel,
            "Hangup": self._hangup,
            "HangupRequest": self._hangup_request,
            "VarSet": self._varset,
            "DialEnd": self._dialend,
            "QueueCallerJoin": self._join,
            "QueueCallerLeave": self._leave,
            "QueueCallerAbandon": self._abandon,
            "AgentCalled": self._agent_called,
            "AgentRingNoAnswer": self._ring_noanswer,
            "AgentConnect": self._agent_connect,
            "AgentComplete": self._agent_complete,
            "QueueMemberAdded": self._member_added,
            "QueueMemberRemoved": self._member_removed,
            "QueueMemberPause": self._member_pause,
            "QueueMemberPenalty": self._member_penalty,
            "QueueMember": self._member_list,
            "QueueEntry": self._queue_entry,
        }

    # --- entry point -----------------------------------------------------
    def handle(self, msg: AmiMessage) -> None:
        event = msg.get("Event")
        if event is None or isinstance(event, list):
            return
        handler = self.handlers.get(event)
        if handler is None:
            return
        ts = _ts(msg, self.last_ts)
        if ts > self.last_ts:
            self.last_ts = ts
            self.agents.tick(ts)
        handler(msg, ts)

    # --- helpers ---------------------------------------------------------
    def _call(self, msg: AmiMessage, ts: float, create: bool = True) -> CallRecord | None:
        lid = header(msg, "Linkedid")
        if not lid:
            return None
        call = self.calls.get(lid)
        if call is None and create and lid not in self.finished:
            call = CallRecord(linkedid=lid, uniqueid=lid, started_at=ts)
            call.caller_uids.add(lid)
            self.calls[lid] = call
            self.out.call(call)
        return call

    def _is_caller(self, call: CallRecord, uid: str) -> bool:
        return uid in call.caller_uids

    def _absorb_caller(self, call: CallRecord, msg: AmiMessage) -> None:
        num = header(msg, "CallerIDNum")
        if num not in UNKNOWN:
            call.caller_num = num
        name = header(msg, "CallerIDName")
        if name not in UNKNOWN:
            call.caller_name = unescape_ami(name)
        for item in header_list(msg, "ChanVariable"):
            key, sep, value = item.partition("=")
            if sep and value:
                call.variables[key] = value

    def settings(self, queue: str | None) -> tuple[int, int]:
        return self.queue_settings(queue or "")

    def _count(self, call: CallRecord, name: str, amount: int = 1, op: str = "incr") -> None:
        # a leg continued from another PBX is the same caller call, counted where it began
        if call.queue and call.origin is None:
            self.out.counters.append((call, name, amount, op))

    # --- channels ----------------------------------------------------------
    def _newchannel(self, msg: AmiMessage, ts: float) -> None:
        uid = header(msg, "Uniqueid")
        call = self._call(msg, ts)
        if call is None:
            return
        call.channels.add(uid)
        if uid == call.linkedid:
            call.started_at = min(call.started_at, ts)
            exten = header(msg, "Exten")
            if exten and exten not in ("s", "h"):
                call.line_did = exten
            self._absorb_caller(call, msg)
            self.out.call(call)

    def _hangup_request(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts, create=False)
        if call is None or call.hangup_requested_by:
            return
        uid = header(msg, "Uniqueid")
        # an agent leg is a rung channel; anything else (the caller, the other half of a
        # Local pair that carries the caller) is the caller's side
        agent_leg = any(ring.dest_uniqueid == uid for ring in call.rings)
        call.hangup_requested_by = "agent" if agent_leg else "caller"

    def _hangup(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts, create=False)
        if call is None:
            return
        uid = header(msg, "Uniqueid")
        call.channels.discard(uid)
        ring = self._ring_by_dest(call, uid)
        if ring is not None:
            if ring.result is None:
                ring.result = "canceled"
                ring.ring_ms = int(round((ts - ring.started_at) * 1000))
            elif ring.result == "noanswer" and header(msg, "Cause") == "17":
                ring.result = "busy"  # 486 shows as NOANSWER; the hangup cause tells
            self._ring_over(call, ring, ts)
        if self._is_caller(call, uid):
            if uid == call.linkedid or uid == call.uniqueid:
                call.root_hung_up = True
                call.ended_at = ts
            if call.in_queue and call.outcome is None:
                # hung up while still queued without Abandon/Leave (e.g. AgentDump)
                self._settle(call, "abandoned", ts)
            elif call.left_queue and call.outcome is None:
                self._settle(call, "abandoned" if call.abandon_seen else "exit_key", ts)
            if call.transferred and call.var("CENTRALITA_HANDOFF") and call.talk_seconds is None:
                # handed to another PBX: the talk here ended at the transfer
                call.talk_seconds = call.talk_before
            elif call.agent_login and call.talk_seconds is None and call.answered_at:
                # ended without AgentComplete (e.g. a drop): talk from timestamps, unless
                # the serving agent's AgentComplete still comes (a transferred caller's
                # hang-up reaches the far leg through the Local channels after)
                # the legs before, as their AgentComplete said, and this one from its start
                leg_at = call.leg_at if call.leg_at is not None else call.answered_at
                call.talk_seconds = call.talk_before + int(ts - leg_at)
                call.talk_estimated = True
        self.out.call(call)
        if call.root_hung_up and not call.channels:
            self._finalise(call, ts)

    def _finalise(self, call: CallRecord, ts: float) -> None:
        if call.unsure and self.reconciler is not None:
            call.unsure = False
            before = call.outcome
            self.reconciler(call)
            if call.source == "queue_log" and call.outcome != before:
                self._count_reconciled(call)
        if call.outcome is None:  # settled here: counted like any other outcome
            if call.variables.get("QUEUESTATUS") in QUEUESTATUS_OUTCOMES:
                self._settle(call, QUEUESTATUS_OUTCOMES[call.variables["QUEUESTATUS"]], ts)
            elif call.entered_queue_at is not None:
                self._settle(call, "abandoned", ts)
            elif call.var("CENTRALITA_OUTBOUND"):
                answered = call.dialled == "answered"
                call.outcome = "outbound_answered" if answered else "outbound_no_answer"
            else:
                call.outcome = "ivr_only"
        if call.hung_up_by is None:
            if call.outcome == "abandoned":
                call.hung_up_by = "caller"
            elif call.hangup_requested_by:
                call.hung_up_by = call.hangup_requested_by
            else:
                call.hung_up_by = "system"
        if call.ended_at is None:
            call.ended_at = ts
        if call.outcome in ("answered", "transferred") and call.talk_seconds is not None:
            self._count(call, "talk_total_s", call.talk_seconds)  # deduplicated downstream
            self._count(call, "talk_count")
        if call.agent_login:
            self.agents.completed(call.agent_login, call.linkedid, call.queue or "", ts)
        for login in sorted(call.open_pops):  # e.g. no AgentComplete seen (link drop)
            self.out.pops.append((login, "end", call, ts))
        call.open_pops.clear()
        call.done = True
        self.out.call(call)
        self.finished.add(call.linkedid, max(ts, self.last_ts))
        self.calls.pop(call.linkedid, None)

    def _varset(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts, create=False)
        if call is None:
            return
        uid = header(msg, "Uniqueid")
        if not self._is_caller(call, uid):
            return
        var = header(msg, "Variable")
        value = header(msg, "Value")
        call.variables[var] = value
        if var == "CENTRALITA_ORIGIN" and call.origin is None:
            call.origin = parse_origin(value, self.peer_pbxs)
        if var == "QUEUESTATUS" and call.outcome is None:
            outcome = QUEUESTATUS_OUTCOMES.get(value)
            if outcome == "join_empty" and call.entered_queue_at is None:
                call.queue = call.queue or call.var("CENTRALITA_QUEUE")
                self._settle(call, outcome, ts)
            elif outcome and (call.left_queue or call.abandon_seen):
                self._settle(call, outcome, ts)
        self.out.call(call)

    # --- queue ----------------------------------------------------------------
    def _join(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts)
        if call is None:
            return
        uid = header(msg, "Uniqueid")
        if self._consultation(call, uid):
            # the agent's attended transfer: the target queue is rung for a Local channel
            # of the same Linkedid; the caller waits on hold, still in their first queue
            call.consult_uids.add(uid)
            call.consult_live = uid
            call.consult_queue = header(msg, "Queue")
            self.waiting.setdefault(call.consult_queue, {})[uid] = ts
            self.out.waiting.append((call.consult_queue, uid, ts))
            self.out.call(call)
            return
        call.caller_uids.add(uid)
        call.uniqueid = uid
        self._absorb_caller(call, msg)
        if call.transferred:
            # a transferred caller queues again: one call, counted once, in its first queue
            call.current_queue = header(msg, "Queue")
            call.in_queue = True
            self.waiting.setdefault(call.current_queue, {})[uid] = ts
            self.out.waiting.append((call.current_queue, uid, ts))
            self.out.call(call)
            return
        call.queue = header(msg, "Queue")
        call.queue_position = _int(header(msg, "Position"))
        call.entered_queue_at = ts
        call.outcome = None
        call.abandon_seen = call.left_queue = False
        call.in_queue = True
        call.hold_seconds = None
        self.waiting.setdefault(call.queue, {})[uid] = ts
        self.out.waiting.append((call.queue, uid, ts))
        self._count(call, "offered")
        self.out.notices.append({"queue": call.queue, "kind": "join"})
        self.out.call(call)

    @staticmethod
    def _consultation(call: CallRecord, uid: str) -> bool:
        """A join while the caller talks to an agent, by a new channel of the call (not the
        caller's, which rejoins after a blind transfer): the agent consults the target of
        an attended transfer (calling_atxfer_* traces), the first agent or a later one."""
        return (
            call.answered_at is not None
            and call.talk_seconds is None
            and uid not in call.caller_uids
            and uid not in call.consult_uids
        )

    def _left(self, call: CallRecord, uid: str) -> None:
        consulting = uid in call.consult_uids
        queue = call.consult_queue if consulting else (call.current_queue or call.queue)
        if queue and uid in self.waiting.get(queue, {}):
            del self.waiting[queue][uid]
            self.out.waiting.append((queue, uid, None))

    def _leave(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts, create=False)
        if call is None:
            return
        uid = header(msg, "Uniqueid")
        self._left(call, uid)
        if uid not in call.consult_uids:  # a consultation leaving is not the caller
            call.in_queue = False
            call.left_queue = True
        self.out.call(call)

    def _abandon(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts, create=False)
        if call is None:
            return
        uid = header(msg, "Uniqueid")
        if uid in call.consult_uids:  # a consultation given up (CancelAtxfer): no abandon
            if uid == call.consult_live:
                call.consult_live = None
            return
        call.abandon_seen = True
        call.hold_seconds = _int(header(msg, "HoldTime"))
        self.out.call(call)

    def _settle(self, call: CallRecord, outcome: str, ts: float) -> None:
        """A queue outcome is known: record it and count it, once."""
        if call.outcome is not None:
            return
        call.outcome = outcome
        call.in_queue = False
        if call.hold_seconds is None and call.entered_queue_at is not None:
            call.hold_seconds = max(0, int(ts - call.entered_queue_at))
        if outcome == "abandoned":
            self._count(call, "abandoned")
            _sl, short = self.settings(call.queue)
            if (call.hold_seconds or 0) < short:
                self._count(call, "short_abandoned")
        elif outcome in ("timeout", "exit_empty", "join_empty", "exit_key"):
            self._count(call, outcome)
        for ring in call.rings:
            if ring.result is None:
                self._ring_over(call, ring, ts)
        self.out.notices.append({"queue": call.queue or "", "kind": outcome})
        self.out.call(call)

    # --- rings and agents ---------------------------------------------------
    def _ring_by_dest(self, call: CallRecord, dest: str) -> Ring | None:
        for ring in reversed(call.rings):
            if ring.dest_uniqueid == dest:
                return ring
        return None

    def _ring_over(self, call: CallRecord, ring: Ring, ts: float) -> None:
        """A ring ended unanswered: the agent is free again and its pop is closed."""
        self.agents.ring_ended(ring.agent_login, ring.dest_uniqueid, ts)
        login = ring.agent_login
        if (
            login in call.open_pops
            and login != call.agent_login
            and not any(r.agent_login == login and r.result is None for r in call.rings)
        ):
            call.open_pops.discard(login)
            self.out.pops.append((login, "end", call, ts))

    def _agent_called(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts)
        if call is None:
            return
        interface = header(msg, "Interface")
        name = header(msg, "MemberName")
        agent = self.agents.agent_for(interface, name)
        dest = header(msg, "DestUniqueid")
        if header(msg, "Uniqueid") in call.consult_uids:  # rung for a consultation
            call.consult_rung[agent.login] = header(msg, "Queue")
        call.rings.append(Ring(interface, name, agent.login, ts, dest))
        if dest:
            call.channels.add(dest)
        self.agents.ring_started(agent, dest, header(msg, "Queue"), ts)
        call.open_pops.add(agent.login)
        self.out.pops.append((agent.login, "ring", call, ts))
        self.out.call(call)

    def _dialend(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts, create=False)
        if call is None:
            return
        ring = self._ring_by_dest(call, header(msg, "DestUniqueid"))
        if ring is None and header(msg, "Uniqueid") == call.linkedid:
            # the root channel dials out itself (an outbound call's customer leg)
            call.dialled = DIAL_RESULTS.get(header(msg, "DialStatus"), "failed")
            return
        if ring is None or ring.result is not None:
            return
        result = DIAL_RESULTS.get(header(msg, "DialStatus"), "failed")
        ring.result = result
        ring.ring_ms = int(round((ts - ring.started_at) * 1000))
        if result != "answered":
            self._ring_over(call, ring, ts)
        self.out.call(call)

    def _ring_noanswer(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts, create=False)
        if call is None:
            return
        ring = self._ring_by_dest(call, header(msg, "DestUniqueid"))
        if ring is None:
            return
        if ring.result in (None, "noanswer", "canceled"):
            ring.result = "noanswer"
        ring.ring_ms = _int(header(msg, "RingTime"), ring.ring_ms)
        self._ring_over(call, ring, ts)
        self.out.call(call)

    def _agent_connect(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts)
        if call is None:
            return
        interface = header(msg, "Interface")
        name = header(msg, "MemberName")
        agent = self.agents.agent_for(interface, name)
        dest = header(msg, "DestUniqueid")
        ring = self._ring_by_dest(call, dest)
        if ring is not None and ring.result != "answered":
            ring.result = "answered"
            ring.ring_ms = int(round((ts - ring.started_at) * 1000))
        uid = header(msg, "Uniqueid")
        if uid == call.consult_live:
            # the consulted agent answers: they get the pop; the call becomes theirs
            # only when the transfer completes (AgentComplete Reason transfer)
            call.consult_agent = (agent.login, name or interface)
            call.consult_at = ts
            self._left(call, uid)
            self.agents.connected(agent.login, call.linkedid, header(msg, "Queue"), ts)
            self.out.pops.append((agent.login, "answer", call, ts))
            self.out.call(call)
            return
        call.in_queue = False
        call.left_queue = True
        call.leg_at = ts
        if not call.transferred:  # answer time and hold are the first queue's
            call.answered_at = ts
            call.hold_seconds = _int(header(msg, "HoldTime"), call.hold_seconds)
        call.agent_login = agent.login
        call.agent_member = name or interface
        if call.outcome is None:
            call.outcome = "answered"
            sl, _short = self.settings(call.queue)
            hold = call.hold_seconds or 0
            self._count(call, "answered")
            if hold <= sl:
                self._count(call, "answered_within_sl")
            self._count(call, "hold_total_s", hold)
            self._count(call, "longest_hold_s", hold, "max")
            self.out.notices.append({"queue": call.queue or "", "kind": "answered"})
        self._left(call, header(msg, "Uniqueid"))
        self.agents.connected(agent.login, call.linkedid, header(msg, "Queue"), ts)
        self.out.pops.append((agent.login, "answer", call, ts))
        self.out.call(call)

    def _agent_complete(self, msg: AmiMessage, ts: float) -> None:
        call = self._call(msg, ts, create=False)
        if call is None:
            return
        talk = _int(header(msg, "TalkTime"))
        reason = header(msg, "Reason")
        if header(msg, "Uniqueid") == call.consult_live and reason != "transfer":
            # the consulted agent's leg ended before the transfer: the caller stays
            consulted = self.agents.login_for(header(msg, "Interface"), header(msg, "MemberName"))
            call.consult_agent = call.consult_live = None
            self.agents.completed(consulted, call.linkedid, header(msg, "Queue"), ts)
            call.open_pops.discard(consulted)
            self.out.pops.append((consulted, "end", call, ts))
            self.out.call(call)
            return
        if call.outcome is None:
            # the AgentConnect was missed (link down at the time): AgentComplete says it all
            agent = self.agents.agent_for(header(msg, "Interface"), header(msg, "MemberName"))
            call.outcome = "answered"
            call.in_queue, call.left_queue, call.unsure = False, True, False
            call.hold_seconds = _int(header(msg, "HoldTime"), call.hold_seconds)
            call.answered_at = ts - (talk or 0)
            call.agent_login = agent.login
            call.agent_member = header(msg, "MemberName") or header(msg, "Interface")
            self._count_reconciled(call)
        if reason == "transfer":
            # the caller goes on to another queue: talk is summed over the legs at the end
            call.outcome = "transferred"
            call.transferred = True
            call.talk_before += talk or 0
            call.hung_up_by = "agent"
        elif (call.talk_seconds is None or call.talk_estimated) and talk is not None:
            call.talk_seconds = call.talk_before + talk
            call.talk_estimated = False
            self._count(call, "talk_total_s", call.talk_seconds)
            self._count(call, "talk_count")
        if reason in ("caller", "agent"):
            call.hung_up_by = reason
        login = call.agent_login or self.agents.login_for(
            header(msg, "Interface"), header(msg, "MemberName")
        )
        self.agents.completed(login, call.linkedid, header(msg, "Queue"), ts)
        call.open_pops.discard(login)
        self.out.pops.append((login, "end", call, ts))
        if reason == "transfer" and call.consult_agent is not None:
            # attended transfer completed: the consulted agent has the caller now
            call.agent_login, call.agent_member = call.consult_agent
            call.leg_at = call.consult_at  # its TalkTime runs from the consultation's answer
            call.consult_agent = call.consult_live = None
            call.current_queue = call.consult_queue
        self.out.call(call)

    # --- members ---------------------------------------------------------------
    def _member_added(self, msg: AmiMessage, ts: float) -> None:
        self.agents.member_added(
            header(msg, "Queue"),
            header(msg, "Interface"),
            header(msg, "MemberName"),
            _int(header(msg, "Penalty"), 0) or 0,
            header(msg, "Paused") == "1",
            header(msg, "PausedReason"),
            ts,
            float(_int(header(msg, "LoginTime"), 0, EPOCH_MAX) or 0) or None,
        )

    def _member_removed(self, msg: AmiMessage, ts: float) -> None:
        self.agents.member_removed(
            header(msg, "Queue"), header(msg, "Interface"), header(msg, "MemberName"), ts
        )

    def _member_pause(self, msg: AmiMessage, ts: float) -> None:
        self.agents.member_paused(
            header(msg, "Queue"),
            header(msg, "Interface"),
            header(msg, "MemberName"),
            header(msg, "Paused") == "1",
            header(msg, "PausedReason") or header(msg, "Reason"),
            ts,
        )

    def _member_penalty(self, msg: AmiMessage, ts: float) -> None:
        self.agents.member_penalty(
            header(msg, "Queue"),
            header(msg, "Interface"),
            header(msg, "MemberName"),
            _int(header(msg, "Penalty"), 0) or 0,
            ts,
        )

    def _member_list(self, msg: AmiMessage, ts: float) -> None:
        """A QueueStatus `QueueMember` entry: the truth about one membership."""
        login_time = _int(header(msg, "LoginTime"), None, EPOCH_MAX)
        self.agents.member_seen(
            header(msg, "Queue"),
            header(msg, "Location") or header(msg, "Interface"),
            header(msg, "Name") or header(msg, "MemberName"),
            _int(header(msg, "Penalty"), 0) or 0,
            header(msg, "Paused") == "1",
            header(msg, "PausedReason"),
            float(login_time) if login_time else None,
            ts,
        )

    # --- resync ----------------------------------------------------------------
    def restore(self, call: CallRecord) -> None:
        """A call persisted unfinished by a previous run of the listener."""
        if call.linkedid in self.calls or call.linkedid in self.finished:
            return
        self.calls[call.linkedid] = call
        if call.in_queue and call.queue and call.entered_queue_at is not None:
            self.waiting.setdefault(call.queue, {})[call.uniqueid] = call.entered_queue_at

    def by_uniqueid(self, uid: str) -> CallRecord | None:
        call = self.calls.get(uid)
        if call is not None:
            return call
        for call in self.calls.values():
            if uid in call.caller_uids:
                return call
        return None

    def _queue_entry(self, msg: AmiMessage, ts: float) -> None:
        """A QueueStatus `QueueEntry`: a caller waiting now (maybe joined while we were away)."""
        uid = header(msg, "Uniqueid")
        if not uid or uid in self.finished:
            return
        wait = _int(header(msg, "Wait"), 0, WAIT_MAX_S) or 0
        call = self.by_uniqueid(uid)
        if call is None:
            call = CallRecord(linkedid=uid, uniqueid=uid, started_at=ts - wait)
            call.caller_uids.add(uid)
            call.channels.add(uid)
            self.calls[uid] = call
        self._absorb_caller(call, msg)
        queue = header(msg, "Queue")
        if call.entered_queue_at is None or call.queue != queue:
            call.queue = queue
            call.entered_queue_at = ts - wait
            call.queue_position = _int(header(msg, "Position"))
            self._count(call, "offered")
        call.in_queue = True
        entered = call.entered_queue_at
        self.waiting.setdefault(queue, {})[uid] = entered
        self.out.waiting.append((queue, uid, entered))
        self.out.call(call)

    def resync_queue(self, entries: set[str]) -> None:
        """After QueueStatus: tracked callers no longer queued left while we were away."""
        for call in self.calls.values():
            if call.in_queue and not (call.caller_uids & entries):
                call.in_queue = False
                call.unsure = True
                for uid in list(call.caller_uids):
                    if call.queue and uid in self.waiting.get(call.queue, {}):
                        self._left(call, uid)

    def resync_channels(self, live: dict[str, set[str]], ts: float) -> list[CallRecord]:
        """After CoreShowChannels: forget channels that ended unseen; return calls now gone.

        `live` maps Linkedid -> Uniqueids alive. Calls with no live channel ended
        while we were not listening; the caller completes them (queue_log) and
        passes them to `finish_unseen`.
        """
        gone: list[CallRecord] = []
        for call in list(self.calls.values()):
            alive = live.get(call.linkedid)
            if alive:
                call.channels = set(alive)
                for ring in call.rings:
                    if ring.result is None and ring.dest_uniqueid not in alive:
                        ring.result = "canceled"
                        self._ring_over(call, ring, ts)
            else:
                gone.append(call)
        return gone

    def finish_unseen(self, call: CallRecord, ended_at: float | None, ts: float) -> None:
        """Close a call whose end was not seen on AMI (after queue_log reconciliation)."""
        call.unsure = False
        for ring in call.rings:
            if ring.result is None:
                ring.result = "canceled"
                self._ring_over(call, ring, ts)
        if call.queue:
            for uid in list(call.caller_uids):
                self.waiting.get(call.queue, {}).pop(uid, None)
                self.out.waiting.append((call.queue, uid, None))  # harmless if absent
        if call.outcome is not None and call.source == "queue_log":
            self._count_reconciled(call)
        call.channels.clear()
        call.root_hung_up = True
        call.ended_at = ended_at or ts
        self._finalise(call, ended_at or ts)

    def adopt(self, call: CallRecord, ended_at: float | None, now: float) -> None:
        """A queue call known only from queue_log: it began while no listener was running.

        Counted like any other (offered, then its outcome); closed at once when
        queue_log (or the absence of its channel) says it is over, otherwise
        tracked so the AMI events still to come complete it.
        """
        self.calls[call.linkedid] = call
        self.out.call(call)
        if call.entered_queue_at is not None:
            self._count(call, "offered")
        if ended_at is not None:
            self.finish_unseen(call, ended_at, now)
            return
        if call.outcome is None and call.queue and call.entered_queue_at is not None:
            call.in_queue = True
            self.waiting.setdefault(call.queue, {})[call.uniqueid] = call.entered_queue_at
            self.out.waiting.append((call.queue, call.uniqueid, call.entered_queue_at))
        elif call.outcome is not None:
            self._count_reconciled(call)
            call.left_queue = True

    def _count_reconciled(self, call: CallRecord) -> None:
        """Counters for an outcome learnt from queue_log (idempotent downstream)."""
        outcome = call.outcome
        if outcome in ("answered", "transferred"):
            sl, _short = self.settings(call.queue)
            hold = call.hold_seconds or 0
            self._count(call, "answered")
            if hold <= sl:
                self._count(call, "answered_within_sl")
            self._count(call, "hold_total_s", hold)
            self._count(call, "longest_hold_s", hold, "max")
            if call.talk_seconds is not None:
                self._count(call, "talk_total_s", call.talk_seconds)
                self._count(call, "talk_count")
        elif outcome == "abandoned":
            self._count(call, "abandoned")
            if (call.hold_seconds or 0) < self.settings(call.queue)[1]:
                self._count(call, "short_abandoned")
        elif outcome in ("timeout", "exit_empty", "join_empty", "exit_key"):
            self._count(call, outcome)
