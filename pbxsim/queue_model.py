"""app_queue's behaviour: Queue() for a caller, ring attempts, and the queue AMI actions.

Mirrors app_queue.c's structure (queue_exec → wait_our_turn → try_calling → ring_one /
wait_for_answer → bridge) so the event order and the quirks of the traces fall out
of the same decisions Asterisk makes.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from pbxsim import attended_transfer, keypad_transfer
from pbxsim.channels import Channel
from pbxsim.kernel import Event, Interrupt
from pbxsim.queues import (
    EMPTY_INUSE,
    EMPTY_PAUSED,
    EMPTY_PENALTY,
    EMPTY_RINGING,
    EMPTY_WRAPUP,
    Member,
    QueueEntry,
    QueueState,
)
from pbxsim.types import Headers

if TYPE_CHECKING:
    from pbxsim.engine import Call, Engine, Leg

__all__ = ["Member", "QueueActions", "device_changed", "queue_app"]

RECHECK = 1.001  # app_queue polls once a second; each lap costs ~1 ms more on a real box


# ----------------------------------------------------------------- members
def endpoint_of(interface: str) -> str:
    return interface.split("/", 1)[1] if "/" in interface else interface


def device_status(engine: Engine, endpoint: str) -> int:
    """1 not in use, 2 in use, 6 ringing (the device state numbers QueueStatus shows)."""
    chans = engine.endpoint_chans.get(endpoint)
    if not chans:
        return 1
    if any(c.state == 6 for c in chans):
        return 2
    return 6


def member_headers(
    engine: Engine, q: QueueState, m: Member, with_ringinuse: bool = True
) -> Headers:
    status = device_status(engine, endpoint_of(m.state_interface))
    h: Headers = [
        ("Queue", q.name),
        ("MemberName", m.name),
        ("Interface", m.interface),
        ("StateInterface", m.state_interface),
        ("Membership", "dynamic" if m.dynamic else "static"),
        ("Penalty", str(m.penalty)),
        ("CallsTaken", str(m.calls)),
        ("LastCall", str(int(m.lastcall))),
        ("LastPause", str(m.lastpause)),
        ("LoginTime", str(m.logintime)),
        ("InCall", "1" if m.in_call else "0"),
        ("Status", str(status)),
        ("Paused", "1" if m.paused else "0"),
        ("PausedReason", m.reason),
    ]
    if with_ringinuse:
        h.append(("Ringinuse", "1" if m.ringinuse else "0"))
    h.append(("Wrapuptime", str(m.wrapuptime)))
    return h


def device_changed(engine: Engine, endpoint: str) -> None:
    """Emit QueueMemberStatus for every membership of `endpoint` whose device state changed."""
    status = device_status(engine, endpoint)
    last = engine.__dict__.setdefault("_dev_status", {})
    if last.get(endpoint, 1) == status:
        return
    last[endpoint] = status
    for q in engine.queues.values():
        for m in q.members_by_endpoint.get(endpoint, ()):
            engine.emit("agent", "QueueMemberStatus", member_headers(engine, q, m))


def secs(now: float, then: float) -> int:
    """Whole seconds between two instants the way app_queue counts them: time(NULL) - time_t."""
    return int(now) - int(then)


def in_wrapup(engine: Engine, m: Member) -> bool:
    return bool(m.wrapuptime and m.lastcall and secs(engine.kernel.now, m.lastcall) < m.wrapuptime)


def penalty_ok(entry: QueueEntry | None, m: Member) -> bool:
    if entry is None:
        return True
    if entry.max_penalty is not None and m.penalty > entry.max_penalty:
        return False
    return not (entry.min_penalty is not None and m.penalty < entry.min_penalty)


def member_free(engine: Engine, m: Member) -> bool:
    if m.paused or in_wrapup(engine, m):
        return False
    return m.ringinuse or engine.endpoint_use.get(endpoint_of(m.state_interface), 0) == 0


def is_empty(engine: Engine, q: QueueState, entry: QueueEntry | None, conditions: int) -> bool:
    """app_queue's get_member_status: True when no member passes `conditions`."""
    for m in q.members.values():
        if conditions & EMPTY_PENALTY and not penalty_ok(entry, m):
            continue
        if conditions & EMPTY_PAUSED and m.paused:
            continue
        if conditions & EMPTY_WRAPUP and in_wrapup(engine, m):
            continue
        status = device_status(engine, endpoint_of(m.state_interface))
        if conditions & EMPTY_INUSE and status == 2:
            continue
        if conditions & EMPTY_RINGING and status == 6:
            continue
        return False
    return True


def num_available(engine: Engine, q: QueueState, cap: int | None = None) -> int:
    """Members free to ring; counting stops at `cap` (is_our_turn only needs to know if avl > idx)."""
    avl = 0
    for m in q.members.values():
        if member_free(engine, m):
            avl += 1
            if not q.conf.autofill or q.conf.strategy == "ringall":
                return 1
            if cap is not None and avl >= cap:
                return avl
    return avl


def is_our_turn(engine: Engine, q: QueueState, entry: QueueEntry) -> bool:
    avl = num_available(engine, q, entry.pos)
    idx = 0
    for e in q.entries:
        if e is entry:
            return idx < avl and (q.conf.autofill or entry.pos == 1)
        if idx >= avl:
            return False
        if not e.pending:
            idx += 1
    return False


# --------------------------------------------------------------- the Queue app
def _queue_vars(engine: Engine, q: QueueState, chan: Channel) -> None:
    for name, value in (
        ("QUEUENAME", q.name),
        ("QUEUEMAX", str(q.conf.maxlen)),
        ("QUEUESTRATEGY", q.conf.strategy),
        ("QUEUECALLS", str(len(q.entries))),
        ("QUEUEHOLDTIME", str(q.holdtime)),
        ("QUEUETALKTIME", str(q.talktime)),
        ("QUEUECOMPLETED", str(q.completed)),
        ("QUEUEABANDONED", str(q.abandoned)),
        ("QUEUESRVLEVEL", str(q.conf.servicelevel)),
        ("QUEUESRVLEVELPERF", q.sl_perf()),
    ):
        engine.setvar(chan, name, value)


def _int_var(chan: Channel, name: str) -> int | None:
    raw = chan.vars.get(name, "").strip()
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def queue_app(engine: Engine, call: Call, data: str) -> Generator[Event, Any, str | None]:
    args = data.split(",")
    qname = args[0].strip()
    # option c (OPT_GO_ON): when the agent hangs up, the caller goes on in the dialplan
    go_on = "c" in (args[1] if len(args) > 1 else "")
    timeout = int(args[4]) if len(args) > 4 and args[4].strip().isdigit() else 0
    # Asterisk 22: Queue(queuename,options,URL,announceoverride,timeout,AGI,gosub,rule,position)
    rule_name = args[7].strip() if len(args) > 7 else ""
    chan = call.chan
    k = engine.kernel
    for v in (
        "ANSWEREDTIME",
        "ANSWEREDTIME_MS",
        "DIALEDTIME",
        "DIALEDTIME_MS",
        "QUEUEWAIT",
        "QUEUEWAIT_MS",
    ):
        engine.setvar(chan, v, "")
    q = engine.queues.get(qname)
    if q is None:
        engine.setvar(chan, "QUEUESTATUS", "UNKNOWN")
        return None
    entry = QueueEntry(call=call, prio=_int_var(chan, "QUEUE_PRIO") or 0, start=k.now)
    entry.last_periodic = k.now  # app_queue: qe.last_periodic_announce_time = time(NULL)
    entry.max_penalty = _int_var(chan, "QUEUE_MAX_PENALTY")
    entry.min_penalty = _int_var(chan, "QUEUE_MIN_PENALTY")
    entry.rule = list(engine.rules.get(rule_name or q.conf.defaultrule, []))
    if q.conf.joinempty and is_empty(engine, q, entry, q.conf.joinempty):
        engine.setvar(chan, "QUEUESTATUS", "JOINEMPTY")
        call.outcome = "joinempty"
        return None
    if q.conf.maxlen and len(q.entries) >= q.conf.maxlen:
        engine.setvar(chan, "QUEUESTATUS", "FULL")
        return None
    pos = q.insert(entry)
    entry.orig_pos = pos
    call.in_queue = True
    engine.chan_event(
        "QueueCallerJoin",
        chan,
        [("Queue", q.name), ("Position", str(pos)), ("Count", str(len(q.entries)))],
        "agent",
    )
    engine.qlog(chan.uniqueid, q.name, "NONE", "ENTERQUEUE", "", chan.caller_num, str(pos))
    if call.on_queue is not None:
        call.on_queue("join")  # an attended transfer's consultation: the agent moves over
    engine.chan_event("MusicOnHoldStart", chan, [("Class", "default")])
    if call.script.queue_patience is not None:

        def give_up() -> None:
            if entry in q.entries:
                engine.caller_hangup(call)

        k.call_later(call.script.queue_patience, give_up)
    if call.script.queue_key is not None and q.conf.context:
        delay, digit = call.script.queue_key

        def press() -> None:
            if (
                entry in q.entries
                and call.proc is not None
                and (q.conf.context, digit) in engine.dialplan
            ):
                call.proc.interrupt(("key", digit))

        k.call_later(delay, press)
    # app_queue keeps whole seconds: qe.expire = qe.start + timeout with qe.start = time(NULL),
    # checked as time(NULL) >= qe.expire, so the exit comes at the first check in the second
    # the timeout falls in (before an announcement due at the same check)
    expire = float(int(entry.start) + timeout) if timeout else None

    def remaining() -> float:
        # whole seconds too: try_calling rings for (qe->expire - time(NULL)) * 1000 ms
        return (expire - int(k.now)) if expire is not None else 1e18

    try:
        while True:
            # wait_our_turn: callers not yet served poll once a second
            reason = None
            while not is_our_turn(engine, q, entry):
                if expire is not None and k.now >= expire:
                    reason = "TIMEOUT"
                    break
                if q.conf.leavewhenempty and is_empty(engine, q, entry, q.conf.leavewhenempty):
                    reason = "LEAVEEMPTY"
                    break
                _update_rules(engine, entry)
                yield from _periodic_announcement(engine, q, entry)
                yield from engine._wait(call, min(RECHECK, max(remaining(), 0.0)))
            while reason is None:
                if expire is not None and k.now >= expire:
                    reason = "TIMEOUT"
                    break
                if q.conf.announce_to_first_user:
                    # played whole: a timeout falling inside it waits for its end
                    yield from _periodic_announcement(engine, q, entry)
                    if expire is not None and k.now >= expire:
                        reason = "TIMEOUT"
                        break
                _update_rules(engine, entry)
                answered = yield from _try_calling(engine, q, entry, remaining())
                if answered and call.transfer_to is not None:
                    context, exten = call.transfer_to  # blind transfer: on to the target
                    call.transfer_to = None
                    return f"{context},{exten},1"
                if answered:
                    if go_on and entry.ended_by == "agent":
                        # app_queue: qe.handled and qcontinue → reason QUEUE_CONTINUE, res 0
                        engine.setvar(chan, "QUEUESTATUS", "CONTINUE")
                        return None
                    return "hangup"
                if expire is not None and k.now >= expire:
                    reason = "TIMEOUT"
                    break
                if q.conf.leavewhenempty and is_empty(engine, q, entry, q.conf.leavewhenempty):
                    reason = "LEAVEEMPTY"
                    break
                yield from engine._wait(call, min(float(q.conf.retry), max(remaining(), 0.0)))
                if not is_our_turn(engine, q, entry):
                    break
            if reason is not None:
                _leave_unanswered(engine, q, entry, reason)
                return None
    except Exception as gone:
        from pbxsim.engine import CallerGone, KeyPressed

        if isinstance(gone, KeyPressed):
            return _exit_with_key(engine, q, entry, gone)
        if not isinstance(gone, (CallerGoneInQueue, CallerGone)):
            raise
        _abandon(engine, q, entry, getattr(gone, "legs", []))
        raise engine_caller_gone() from None


class CallerGoneInQueue(Exception):  # noqa: N818
    def __init__(self, legs: list[Leg]) -> None:
        super().__init__("caller gone")
        self.legs = legs


def engine_caller_gone() -> Exception:
    from pbxsim.engine import CallerGone

    return CallerGone()


def _periodic_announcement(
    engine: Engine, q: QueueState, entry: QueueEntry
) -> Generator[Event, Any, None]:
    """app_queue say_periodic_announcement(): every `periodic-announce-frequency` s since
    the last one (the first counts from the join), music stops, the file plays whole
    (no member rings meanwhile), music starts again."""
    conf = q.conf
    if not conf.periodic_announce_frequency or not conf.periodic_announce:
        return
    now = engine.kernel.now
    if int(now) - int(entry.last_periodic) < conf.periodic_announce_frequency:
        return
    chan = entry.call.chan
    engine.chan_event("MusicOnHoldStop", chan)
    seconds = engine.prompt_seconds.get(conf.periodic_announce, engine.default_prompt_s)
    yield from engine._wait(entry.call, seconds)
    engine.chan_event("MusicOnHoldStart", chan, [("Class", "default")])
    entry.last_periodic = now


def _update_rules(engine: Engine, entry: QueueEntry) -> None:
    elapsed = secs(engine.kernel.now, entry.start)
    while entry.rule_idx < len(entry.rule) and elapsed >= entry.rule[entry.rule_idx].after:
        pr = entry.rule[entry.rule_idx]
        entry.rule_idx += 1
        chan = entry.call.chan
        if pr.max_relative:
            if entry.max_penalty is not None:
                entry.max_penalty = max(0, entry.max_penalty + pr.max_value)
                engine.setvar(chan, "QUEUE_MAX_PENALTY", str(entry.max_penalty))
        else:
            entry.max_penalty = pr.max_value
            engine.setvar(chan, "QUEUE_MAX_PENALTY", str(entry.max_penalty))
        if pr.min_value is not None:
            base = entry.min_penalty or 0
            entry.min_penalty = max(0, base + pr.min_value) if pr.min_relative else pr.min_value
            engine.setvar(chan, "QUEUE_MIN_PENALTY", str(entry.min_penalty))


def _record_abandoned(engine: Engine, q: QueueState, entry: QueueEntry) -> int:
    """app_queue's record_abandoned: ABANDONED, the queue vars, QueueCallerAbandon, then the counters."""
    k = engine.kernel
    chan = entry.call.chan
    wait = secs(k.now, entry.start)
    engine.setvar(chan, "ABANDONED", "TRUE")
    _queue_vars(engine, q, chan)
    engine.chan_event(
        "QueueCallerAbandon",
        chan,
        [
            ("Queue", q.name),
            ("Position", str(entry.pos)),
            ("OriginalPosition", str(entry.orig_pos)),
            ("HoldTime", str(wait)),
        ],
        "agent",
    )
    q.abandoned += 1
    if q.conf.servicelevel and secs(k.now, entry.start) <= q.conf.servicelevel:
        q.abandoned_in_sl += 1
    engine.setvar(chan, "QUEUEWAIT", str(wait))
    engine.setvar(chan, "QUEUEWAIT_MS", str(int((k.now - entry.start) * 1000)))
    engine.setvar(chan, "ANSWEREDTIME", "0")
    engine.setvar(chan, "ANSWEREDTIME_MS", "0")
    _queue_vars(engine, q, chan)
    return wait


def _caller_leaves(engine: Engine, q: QueueState, entry: QueueEntry) -> int:
    chan = entry.call.chan
    pos = q.remove(entry)
    entry.call.in_queue = False
    engine.chan_event(
        "QueueCallerLeave",
        chan,
        [("Queue", q.name), ("Position", str(pos)), ("Count", str(len(q.entries)))],
        "agent",
    )
    engine.chan_event("MusicOnHoldStop", chan)
    engine.setvar(chan, "QUEUEPOSITION", str(pos))
    return pos


def _leave_unanswered(engine: Engine, q: QueueState, entry: QueueEntry, reason: str) -> None:
    chan = entry.call.chan
    event = "EXITWITHTIMEOUT" if reason == "TIMEOUT" else "EXITEMPTY"
    pos, opos = entry.pos, entry.orig_pos
    wait = _record_abandoned(engine, q, entry)
    engine.qlog(chan.uniqueid, q.name, "NONE", event, str(pos), str(opos), str(wait))
    _caller_leaves(engine, q, entry)
    engine.setvar(chan, "QUEUESTATUS", reason)
    entry.call.outcome = reason.lower()
    entry.call.cdr_final_start = engine.kernel.now


def _exit_with_key(engine: Engine, q: QueueState, entry: QueueEntry, key: Any) -> str:
    """EXITWITHKEY: the caller leaves for `context,digit,1`; not an abandon for app_queue."""
    chan = entry.call.chan
    wait = secs(engine.kernel.now, entry.start)
    for leg in key.legs:
        engine.destroy(leg.chan, 0)
    pos, opos = entry.pos, entry.orig_pos
    for leg in key.legs:
        ms = int(round((engine.kernel.now - leg.start) * 1000))
        engine.qlog(chan.uniqueid, q.name, leg.member.name, "RINGCANCELED", str(ms))
    engine.qlog(
        chan.uniqueid, q.name, "NONE", "EXITWITHKEY", key.digit, str(pos), str(opos), str(wait)
    )
    _caller_leaves(engine, q, entry)
    entry.call.outcome = "exitkey"
    entry.call.cdr_final_start = engine.kernel.now
    return f"{q.conf.context},{key.digit},1"


def _abandon(engine: Engine, q: QueueState, entry: QueueEntry, legs: list[Leg]) -> None:
    chan = entry.call.chan
    chan.cause = 0
    wait = _record_abandoned(engine, q, entry)
    for leg in legs:
        engine.destroy(leg.chan, 0)
    pos = _caller_leaves(engine, q, entry)
    for leg in legs:
        ms = int(round((engine.kernel.now - leg.start) * 1000))
        engine.qlog(chan.uniqueid, q.name, leg.member.name, "RINGCANCELED", str(ms))
    engine.qlog(chan.uniqueid, q.name, "NONE", "ABANDON", str(pos), str(entry.orig_pos), str(wait))
    entry.call.outcome = "abandoned"


# ------------------------------------------------------------ ring attempts
def _metric(engine: Engine, q: QueueState, m: Member, pos: int) -> float:
    s = q.conf.strategy
    base = m.penalty * 1_000_000
    if s == "ringall":
        return base
    if s == "linear" or s == "rrordered":
        return base + pos
    if s == "rrmemory":
        return base + (1000 + pos if pos < q.rrpos else pos)
    if s == "leastrecent":
        if not m.lastcall:
            return base
        return base + max(0, 1_000_000 - secs(engine.kernel.now, m.lastcall))
    if s == "fewestcalls":
        return base + m.calls
    if s == "random":
        return base + engine.rng.randrange(1000)
    return base + pos


def _try_calling(
    engine: Engine, q: QueueState, entry: QueueEntry, remaining: float
) -> Generator[Event, Any, bool]:

    k = engine.kernel
    call = entry.call
    members = list(q.members.values())
    position = {id(m): i for i, m in enumerate(members)}
    # metrics are computed once per attempt, as app_queue does when it builds the outgoing list
    order = sorted(
        ((m, _metric(engine, q, m, i)) for i, m in enumerate(members) if penalty_ok(entry, m)),
        key=lambda pair: pair[1],
    )
    ptr = 0
    attempt_start = k.now
    legs: list[Leg] = []
    to = min(float(q.conf.timeout), remaining) if q.conf.timeout else remaining
    ringall = q.conf.strategy == "ringall"

    def ring_one() -> list[Leg]:
        """Ring the best-metric member(s) not yet tried, skipping unringable ones (penalty levels in order)."""
        nonlocal ptr
        while ptr < len(order):
            best = order[ptr][1]
            end = ptr + 1
            if ringall:
                while end < len(order) and order[end][1] == best:
                    end += 1
            group = [m for m, _ in order[ptr:end]]
            ptr = end
            new: list[Leg] = []
            for m in reversed(group) if ringall else group:
                if m.interface not in q.members or not member_free(engine, m):
                    continue
                new.append(_ring_entry(engine, q, call, m))
            if new:
                if q.conf.strategy in ("rrmemory", "rrordered"):
                    idx = position.get(id(new[-1].member), -1)
                    q.rrpos = idx + 1 if idx + 1 < len(members) else 0
                return new
        return []

    legs = ring_one()
    if not legs:
        return False
    entry.pending = True
    deadline = k.now + to
    try:
        while True:
            active = [leg for leg in legs if leg.active]
            if not active:
                return False
            timer = k.timeout(max(0.0, deadline - k.now), "timeout")
            fired = yield k.any_of(timer, *[leg.outcome for leg in active])
            if fired is timer:
                _ring_timeout(engine, q, call, active)
                return False
            leg = next(leg for leg in active if leg.outcome is fired)
            if fired.value == "busy":
                _ring_busy(engine, q, call, leg)
                legs.extend(ring_one())
                continue
            # answered
            yield from _connect(
                engine, q, entry, leg, [x for x in legs if x.active and x is not leg], attempt_start
            )
            return True
    except Interrupt as exc:
        active = [leg for leg in legs if leg.active]
        for _ in range(2):
            for leg in active:
                engine.pair_event("DialEnd", call.chan, leg.chan, [("DialStatus", "CANCEL")])
        for leg in active:
            leg.active = False
        if exc.cause == "caller":
            raise CallerGoneInQueue(active) from None
        if isinstance(exc.cause, tuple) and exc.cause[0] == "key":
            from pbxsim.engine import KeyPressed

            raise KeyPressed(exc.cause[1], active) from None
        raise
    finally:
        entry.pending = False


def _ring_entry(engine: Engine, q: QueueState, call: Call, m: Member) -> Leg:
    from pbxsim.behaviour import NOANSWER
    from pbxsim.engine import Leg

    k = engine.kernel
    caller = call.chan
    endpoint = endpoint_of(m.interface)
    phone = engine.phones.get(endpoint)
    action = phone.next_action() if phone else NOANSWER
    chan = engine.new_channel(
        endpoint,
        phone.caller_id_num if phone else "",
        phone.caller_id_name if phone else "",
        engine.agent_context,
        "s",
        0,
        linkedid=caller.linkedid,
        tech=m.interface.split("/", 1)[0] if "/" in m.interface else "PJSIP",
    )
    chan.exten = caller.exten
    chan.app, chan.appdata = "AppQueue", "(Outgoing Line)"
    engine.chan_event(
        "Newexten",
        chan,
        [("Extension", caller.exten), ("Application", "AppQueue"), ("AppData", "(Outgoing Line)")],
        "dialplan",
    )
    chan.connected_num, chan.connected_name = caller.caller_num, caller.caller_name
    engine.chan_event("NewConnectedLine", chan)
    engine.setvar(chan, "DIALEDPEERNUMBER", endpoint)
    engine.cdr_leg(call, chan)
    engine.pair_event(
        "AgentCalled",
        caller,
        chan,
        [("Queue", q.name), ("Interface", m.interface), ("MemberName", m.name)],
        "agent",
    )
    engine.pair_event("DialBegin", caller, chan, [("DialString", m.interface)])
    engine.set_state(chan, 5)
    device_changed(engine, endpoint)
    engine.pair_event("DialState", caller, chan, [("DialStatus", "RINGING")])
    leg = Leg(member=m, chan=chan, start=k.now, outcome=k.event(), action=action)
    if action.kind in ("answer", "busy"):
        k.call_later(action.ring_s + engine.sip_latency, leg.outcome.succeed, action.kind)
    return leg


def _ring_timeout(engine: Engine, q: QueueState, call: Call, active: list[Leg]) -> None:
    now = engine.kernel.now
    for leg in active:
        ms = int(round((now - leg.start) * 1000))
        engine.pair_event(
            "AgentRingNoAnswer",
            call.chan,
            leg.chan,
            [
                ("Queue", q.name),
                ("Interface", leg.member.interface),
                ("MemberName", leg.member.name),
                ("RingTime", str(ms)),
            ],
            "agent",
        )
        engine.qlog(call.chan.uniqueid, q.name, leg.member.name, "RINGNOANSWER", str(ms))
        _autopause(engine, q, leg.member)
    for status in ("NOANSWER", "CANCEL"):
        for leg in active:
            engine.pair_event("DialEnd", call.chan, leg.chan, [("DialStatus", status)])
    for leg in active:
        leg.active = False
        engine.destroy(leg.chan, 0)


def _autopause(engine: Engine, q: QueueState, m: Member) -> None:
    """app_queue rna(): a member who let the call ring out is paused with reason
    Auto-Pause, in this queue (autopause=yes) or in every queue (all), as recorded
    in pbx-followups/vip_widening_survey: QueueMemberPause right after
    AgentRingNoAnswer, queue_log PAUSEALL then PAUSE."""
    mode = q.conf.autopause
    if mode == "no" or m.paused:
        return
    targets = (
        [(x, x.members[m.interface]) for x in engine.queues.values() if m.interface in x.members]
        if mode == "all"
        else [(q, m)]
    )
    if mode == "all":
        engine.qlog("NONE", "NONE", m.name, "PAUSEALL", "Auto-Pause")
    now = int(engine.kernel.now)
    for queue, member in targets:
        member.paused, member.reason, member.lastpause = True, "Auto-Pause", now
        engine.emit("agent", "QueueMemberPause", member_headers(engine, queue, member))
        engine.qlog("NONE", queue.name, member.name, "PAUSE", "Auto-Pause")


def _ring_busy(engine: Engine, q: QueueState, call: Call, leg: Leg) -> None:
    ms = int(round((engine.kernel.now - leg.start) * 1000))
    leg.chan.hangup_requested = True
    engine.chan_event("HangupRequest", leg.chan, [("Cause", "17")])
    engine.pair_event("DialEnd", call.chan, leg.chan, [("DialStatus", "NOANSWER")])
    engine.pair_event(
        "AgentRingNoAnswer",
        call.chan,
        leg.chan,
        [
            ("Queue", q.name),
            ("Interface", leg.member.interface),
            ("MemberName", leg.member.name),
            ("RingTime", str(ms)),
        ],
        "agent",
    )
    engine.qlog(call.chan.uniqueid, q.name, leg.member.name, "RINGNOANSWER", str(ms))
    leg.active = False
    engine.destroy(leg.chan, 17)


def _member_vars(engine: Engine, m: Member, chan: Channel) -> None:
    for name, value in (
        ("MEMBERINTERFACE", m.interface),
        ("MEMBERNAME", m.name),
        ("MEMBERCALLS", str(m.calls)),
        ("MEMBERLASTCALL", str(int(m.lastcall))),
        ("MEMBERPENALTY", str(m.penalty)),
        ("MEMBERDYNAMIC", "1" if m.dynamic else "0"),
        ("MEMBERREALTIME", "0"),
    ):
        engine.setvar(chan, name, value)


def _connect(
    engine: Engine,
    q: QueueState,
    entry: QueueEntry,
    leg: Leg,
    others: list[Leg],
    attempt_start: float,
) -> Generator[Event, Any, None]:
    k = engine.kernel
    call = entry.call
    caller, agent, m = call.chan, leg.chan, leg.member
    agent.answered_at = k.now
    leg.active = False
    engine.set_state(agent, 6)
    device_changed(engine, agent.endpoint)
    engine.pair_event("DialEnd", caller, agent, [("DialStatus", "ANSWER")])
    caller.connected_num, caller.connected_name = agent.caller_num, agent.caller_name
    for other in others:
        other.active = False
        engine.pair_event("DialEnd", caller, other.chan, [("DialStatus", "CANCEL")])
        engine.pair_event("DialEnd", caller, other.chan, [("DialStatus", "CANCEL")])
    engine.chan_event("NewConnectedLine", caller)
    engine.chan_event("MusicOnHoldStop", caller)
    _member_vars(engine, m, caller)
    _member_vars(engine, m, agent)
    for other in others:
        engine.destroy(other.chan, 26)
    hold = secs(k.now, entry.start)
    ring = secs(k.now, attempt_start)
    q.record_hold(hold)
    for chan in (caller, agent):
        engine.setvar(chan, "QEHOLDTIME", str(hold))
        engine.setvar(chan, "QEORIGINALPOS", str(entry.orig_pos))
    _queue_vars(engine, q, caller)
    _queue_vars(engine, q, agent)
    pos = q.remove(entry)
    call.in_queue = False
    engine.chan_event(
        "QueueCallerLeave",
        caller,
        [("Queue", q.name), ("Position", str(pos)), ("Count", str(len(q.entries)))],
        "agent",
    )
    engine.setvar(caller, "QUEUEPOSITION", str(pos))
    engine.setvar(caller, "QUEUEWAIT", str(hold))
    engine.setvar(caller, "QUEUEWAIT_MS", str(int((k.now - entry.start) * 1000)))
    member_fields: Headers = [("Queue", q.name), ("Interface", m.interface), ("MemberName", m.name)]
    engine.pair_event(
        "AgentConnect",
        caller,
        agent,
        member_fields + [("HoldTime", str(hold)), ("RingTime", str(ring))],
        "agent",
    )
    engine.qlog(caller.uniqueid, q.name, m.name, "CONNECT", str(hold), agent.uniqueid, str(ring))
    in_sl = bool(q.conf.servicelevel) and hold <= q.conf.servicelevel
    m.in_call = True
    bridge = engine.new_bridge()
    engine.emit("call", "BridgeCreate", bridge.headers(0))
    call.bridge = bridge
    if call.on_queue is not None:
        call.on_queue("connect")  # an attended transfer's consultation was answered
    for n, chan in enumerate((agent, caller), start=1):
        engine.emit("call", "BridgeEnter", bridge.headers(n) + chan.headers(engine.channelvars))
    engine.setvar(caller, "BRIDGEPEER", agent.name)
    engine.setvar(agent, "BRIDGEPEER", caller.name)
    call.bridged_with = agent
    engine.bridged_calls[agent.name] = call
    call.outcome = "answered"
    connected_at = k.now
    if leg.action.talk_s is not None:
        k.call_later(leg.action.talk_s + engine.sip_latency, engine.hangup_agent, agent)
    who = "caller"
    try:
        yield k.event()  # until a BYE interrupts us
    except Interrupt as exc:
        who = str(exc.cause)
    entry.ended_by = who
    talk = secs(k.now, connected_at)
    engine.bridged_calls.pop(agent.name, None)
    m.in_call = False
    m.calls += 1
    m.lastcall = k.now
    q.completed += 1
    if in_sl:
        q.completed_in_sl += 1
    q.talktime = (q.talktime * 3 + talk) // 4
    if who == "transfer" and call.transfer_to is not None:
        _blind_transferred(engine, q, entry, caller, agent, bridge, member_fields, hold, talk)
        return
    if who == "atxfer":
        yield from attended_transfer.merged(
            engine, q, entry, caller, agent, bridge, member_fields, hold, talk
        )
        return
    consult = engine.consults.get(agent.name)
    if consult is not None:
        attended_transfer.drop(engine, consult)
    # after a consultation came back, app_queue reports the end once the bridge is gone
    # and the agent's leg goes after the caller's (calling_atxfer_abort)
    returned = who == "agent" and attended_transfer.came_back(call)
    complete_fields = member_fields + [
        ("HoldTime", str(hold)),
        ("TalkTime", str(talk)),
        ("Reason", who),
    ]
    if not returned:
        engine.pair_event("AgentComplete", caller, agent, complete_fields, "agent")
    first, second = (caller, agent) if who == "caller" else (agent, caller)
    engine.setvar(first, "BRIDGEPEER", "")
    engine.setvar(second, "BRIDGEPEER", "")
    engine.emit("call", "BridgeLeave", bridge.headers(1) + first.headers(engine.channelvars))
    engine.emit("call", "BridgeLeave", bridge.headers(0) + second.headers(engine.channelvars))
    engine.emit("call", "BridgeDestroy", bridge.headers(0))
    if returned:
        engine.pair_event("AgentComplete", caller, agent, complete_fields, "agent")
    _queue_vars(engine, q, caller)
    if returned:
        call.bridged_with = None
        k.call_soon(engine.destroy, agent, 16)
    elif who == "agent":
        engine.destroy(agent, 16)
    engine.setvar(caller, "ANSWEREDTIME", str(talk))
    engine.setvar(caller, "ANSWEREDTIME_MS", str(int((k.now - connected_at) * 1000)))
    engine.setvar(caller, "DIALEDTIME", str(secs(k.now, attempt_start)))
    engine.setvar(caller, "DIALEDTIME_MS", str(int((k.now - attempt_start) * 1000)))
    _queue_vars(engine, q, caller)
    engine.qlog(
        caller.uniqueid,
        q.name,
        m.name,
        "COMPLETECALLER" if who == "caller" else "COMPLETEAGENT",
        str(hold),
        str(talk),
        str(entry.orig_pos),
    )
    caller.cause = 16


def _blind_transferred(
    engine: Engine,
    q: QueueState,
    entry: QueueEntry,
    caller: Channel,
    agent: Channel,
    bridge: Any,
    member_fields: Headers,
    hold: int,
    talk: int,
) -> None:
    """The agent's BlindTransfer, in the order calling_blind_transfer recorded: Unhold,
    both BridgeLeave (caller first), BlindTransfer, AgentComplete Reason transfer,
    BridgeDestroy; queue_log BLINDTRANSFER exten|context|hold|talk|origpos; then the
    caller goes on to the target and the agent's leg hangs up."""
    context, exten = entry.call.transfer_to or ("", "")
    # keyed on the phone (calling_phone_blind_transfer): the bridge is left after the
    # AgentComplete, agent first, and the transfer is not "external"
    keyed = keypad_transfer.keyed(entry.call)
    engine.chan_event("Unhold", agent)
    engine.setvar(caller, "BRIDGEPEER", "")
    engine.setvar(agent, "BRIDGEPEER", "")
    if not keyed:
        engine.emit("call", "BridgeLeave", bridge.headers(1) + caller.headers(engine.channelvars))
        engine.emit("call", "BridgeLeave", bridge.headers(0) + agent.headers(engine.channelvars))
    engine.emit(
        "call",
        "BlindTransfer",
        [("Result", "Success")]
        + agent.headers(engine.channelvars, "Transferer")
        + caller.headers(engine.channelvars, "Transferee")
        + [("IsExternal", "No" if keyed else "Yes"), ("Context", context), ("Extension", exten)],
    )
    engine.pair_event(
        "AgentComplete",
        caller,
        agent,
        member_fields + [("HoldTime", str(hold)), ("TalkTime", str(talk)), ("Reason", "transfer")],
        "agent",
    )
    if keyed:
        engine.emit("call", "BridgeLeave", bridge.headers(1) + agent.headers(engine.channelvars))
        engine.emit("call", "BridgeLeave", bridge.headers(0) + caller.headers(engine.channelvars))
    engine.emit("call", "BridgeDestroy", bridge.headers(0))
    engine.qlog(
        caller.uniqueid,
        q.name,
        member_fields[2][1],
        "BLINDTRANSFER",
        exten,
        context,
        str(hold),
        str(talk),
        str(entry.orig_pos),
    )
    entry.call.bridged_with = None
    engine.kernel.call_soon(engine.destroy, agent, 16)


# --------------------------------------------------------------- AMI actions
class QueueActions:
    """The telephony actions the engine answers (the AMI server owns Login/Ping/Events...)."""

    def __init__(self, engine: Engine) -> None:
        self.e = engine

    def handle(self, name: str, headers: Headers) -> list[Headers] | None:
        fn = getattr(self, "act_" + name.lower(), None)
        if fn is None:
            return None
        h: dict[str, str] = {}
        for key, value in headers:
            h.setdefault(key.lower(), value)
        out: list[Headers] = fn(h)
        aid = h.get("actionid")
        if aid is not None:
            out = [_with_action_id(msg, aid) for msg in out]
        self.e.poke()  # events queued with call_soon go out after this response
        return out

    # helpers
    def _resp(self, ok: bool, message: str) -> list[Headers]:
        return [[("Response", "Success" if ok else "Error"), ("Message", message)]]

    def _member_event(self, event: str, q: QueueState, m: Member) -> None:
        self.e.emit("agent", event, member_headers(self.e, q, m))

    def act_queueadd(self, h: dict[str, str]) -> list[Headers]:
        qname, iface = h.get("queue", ""), h.get("interface", "")
        if not qname or not iface:
            return self._resp(False, "'Queue' and 'Interface' not set.")
        q = self.e.queues.get(qname)
        if q is None:
            return self._resp(False, "Unable to add interface to queue: No such queue")
        if iface in q.members:
            return self._resp(False, "Unable to add interface: Already there")
        try:
            penalty = int(h.get("penalty", "0") or 0)
        except ValueError:
            return self._resp(False, "Unable to add interface to queue: No such queue")
        now = self.e.kernel.now
        m = Member(
            iface,
            h.get("membername") or iface,
            h.get("stateinterface") or iface,
            penalty,
            dynamic=True,
            paused=h.get("paused", "false").lower() in ("true", "yes", "1"),
            reason=h.get("reason", ""),
            logintime=int(now),
            ringinuse=q.conf.ringinuse,
            wrapuptime=q.conf.wrapuptime,
        )
        q.add_member(m)
        self.e.qlog("MANAGER", qname, iface, "ADDMEMBER", "")
        self.e.kernel.call_soon(self._member_event, "QueueMemberAdded", q, m)
        return self._resp(True, "Added interface to queue")

    def act_queueremove(self, h: dict[str, str]) -> list[Headers]:
        qname, iface = h.get("queue", ""), h.get("interface", "")
        if not qname or not iface:
            return self._resp(False, "Need 'Queue' and 'Interface' parameters.")
        q = self.e.queues.get(qname)
        if q is None:
            return self._resp(False, "Unable to remove interface from queue: No such queue")
        m = q.members.get(iface)
        if m is None:
            return self._resp(False, "Unable to remove interface: Not there")
        if not m.dynamic:
            return self._resp(False, "Member not dynamic")
        q.remove_member(m)
        self.e.qlog("MANAGER", qname, iface, "REMOVEMEMBER", "")
        self.e.kernel.call_soon(self._member_event, "QueueMemberRemoved", q, m)
        return self._resp(True, "Removed interface from queue")

    def act_queuepause(self, h: dict[str, str]) -> list[Headers]:
        iface = h.get("interface", "")
        paused_raw = h.get("paused")
        if not iface or paused_raw is None:
            return self._resp(False, "Need 'Interface' and 'Paused' parameters.")
        paused = paused_raw.lower() in ("true", "yes", "1", "on")
        reason = h.get("reason", "") if paused else ""
        qname = h.get("queue", "")
        targets = [
            (q, q.members[iface])
            for q in self.e.queues.values()
            if iface in q.members and (not qname or q.name == qname)
        ]
        if not targets:
            return self._resp(False, "Interface not found")
        now = int(self.e.kernel.now)
        if not qname:
            self.e.qlog(
                "NONE", "NONE", targets[0][1].name, "PAUSEALL" if paused else "UNPAUSEALL", reason
            )
        for q, m in targets:
            m.paused = paused
            m.reason = reason
            if paused:
                m.lastpause = now
            self.e.qlog("NONE", q.name, m.name, "PAUSE" if paused else "UNPAUSE", reason)
            self.e.kernel.call_soon(self._member_event, "QueueMemberPause", q, m)
        return self._resp(
            True, "Interface paused successfully" if paused else "Interface unpaused successfully"
        )

    def act_queuepenalty(self, h: dict[str, str]) -> list[Headers]:
        iface, qname = h.get("interface", ""), h.get("queue", "")
        if not iface or not h.get("penalty"):
            return self._resp(False, "'Interface' and 'Penalty' not set.")
        try:
            penalty = int(h.get("penalty", ""))
        except ValueError:
            return self._resp(False, "Invalid interface, queuename or penalty")
        targets = [
            (q, q.members[iface])
            for q in self.e.queues.values()
            if iface in q.members and (not qname or q.name == qname)
        ]
        if not iface or not targets or penalty < 0:
            return self._resp(False, "Invalid interface, queuename or penalty")
        for q, m in targets:
            m.penalty = penalty
            self.e.qlog("NONE", q.name, iface, "PENALTY", str(penalty))
            self.e.kernel.call_soon(self._member_event, "QueueMemberPenalty", q, m)
        return self._resp(True, "Interface penalty set successfully")

    def act_queuelog(self, h: dict[str, str]) -> list[Headers]:
        qname, event = h.get("queue", ""), h.get("event", "")
        if not qname or not event:
            return self._resp(False, "Need 'Queue' and 'Event' parameters.")
        self.e.qlog(
            h.get("uniqueid", ""), qname, h.get("interface", ""), event, h.get("message", "")
        )
        return self._resp(True, "Event added successfully")

    def act_queuestatus(self, h: dict[str, str]) -> list[Headers]:
        qname, member = h.get("queue", ""), h.get("member", "")
        now = self.e.kernel.now
        items: list[Headers] = []
        for q in self.e.queues.values():
            if qname and q.name != qname:
                continue
            items.append(
                [
                    ("Event", "QueueParams"),
                    ("Queue", q.name),
                    ("Max", str(q.conf.maxlen)),
                    ("Strategy", q.conf.strategy),
                    ("Calls", str(len(q.entries))),
                    ("Holdtime", str(q.holdtime)),
                    ("TalkTime", str(q.talktime)),
                    ("Completed", str(q.completed)),
                    ("Abandoned", str(q.abandoned)),
                    ("ServiceLevel", str(q.conf.servicelevel)),
                    ("ServicelevelPerf", q.sl_perf()),
                    ("ServicelevelPerf2", q.sl_perf2()),
                    ("Weight", str(q.conf.weight)),
                ]
            )
            for m in q.members.values():
                if member and m.interface != member:
                    continue
                mh = member_headers(self.e, q, m, with_ringinuse=False)
                mh = [
                    ("Name" if k == "MemberName" else "Location" if k == "Interface" else k, v)
                    for k, v in mh
                ]
                items.append([("Event", "QueueMember"), *mh])
            for e in q.entries:
                c = e.call.chan
                items.append(
                    [
                        ("Event", "QueueEntry"),
                        ("Queue", q.name),
                        ("Position", str(e.pos)),
                        ("Channel", c.name),
                        ("Uniqueid", c.uniqueid),
                        ("CallerIDNum", c.caller_num or "unknown"),
                        ("CallerIDName", c.caller_name or "unknown"),
                        ("ConnectedLineNum", c.connected_num or "unknown"),
                        ("ConnectedLineName", c.connected_name or "unknown"),
                        ("Wait", str(secs(now, e.start))),
                        ("Priority", str(e.prio)),
                    ]
                )
        return self._list("Queue status will follow", "QueueStatusComplete", items)

    def act_queuesummary(self, h: dict[str, str]) -> list[Headers]:
        qname = h.get("queue", "")
        now = self.e.kernel.now
        items: list[Headers] = []
        for q in self.e.queues.values():
            if qname and q.name != qname:
                continue
            logged = len(q.members)
            avail = sum(
                1
                for m in q.members.values()
                if not m.paused
                and device_status(self.e, endpoint_of(m.state_interface)) == 1
                and not in_wrapup(self.e, m)
            )
            longest = max((secs(now, e.start) for e in q.entries), default=0)
            items.append(
                [
                    ("Event", "QueueSummary"),
                    ("Queue", q.name),
                    ("LoggedIn", str(logged)),
                    ("Available", str(avail)),
                    ("Callers", str(len(q.entries))),
                    ("HoldTime", str(q.holdtime)),
                    ("TalkTime", str(q.talktime)),
                    ("LongestHoldTime", str(longest)),
                ]
            )
        return self._list("Queue summary will follow", "QueueSummaryComplete", items)

    def _list(self, message: str, complete: str, items: list[Headers]) -> list[Headers]:
        out: list[Headers] = [
            [("Response", "Success"), ("EventList", "start"), ("Message", message)]
        ]
        out.extend(items)
        out.append([("Event", complete), ("EventList", "Complete"), ("ListItems", str(len(items)))])
        return out

    # channel actions live in pbxsim.channel_actions; delegate
    def __getattr__(self, name: str) -> Any:
        if name.startswith("act_"):
            from pbxsim import channel_actions

            fn = getattr(channel_actions, name, None)
            if fn is not None:
                return lambda h: fn(self.e, h)
        raise AttributeError(name)


def _with_action_id(msg: Headers, aid: str) -> Headers:
    """Asterisk puts ActionID second in responses and last in list items."""
    if msg and msg[0][0] == "Response":
        return [msg[0], ("ActionID", aid), *msg[1:]]
    if msg and msg[0][1].endswith("Complete"):
        return [msg[0], ("ActionID", aid), *msg[1:]]
    return [*msg, ("ActionID", aid)]
