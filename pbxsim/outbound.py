"""Calls that start at Asterisk: Originate to a phone, Dial() through the trunk, ChanSpy.

Modelled on manager.c `action_originate` → `ast_pbx_outgoing_exten` (the phone is
rung first; once it answers the channel runs `Context,Exten,1` and the
OriginateResponse says `Success`, Reason 4; otherwise `Failure` with the dial
state as Reason: 3 ringing timed out, 5 busy) and on app_dial (DialBegin, DialState
RINGING, DialEnd ANSWER|NOANSWER|BUSY|CANCEL, a basic bridge while both talk,
DIALSTATUS). Far ends are scripted per number with `Engine.remotes` (the same
`AgentAction` as phones: answer after ring_s, hang up after talk_s). A number with
no script keeps the old model of Dial(): nobody answers and no channel is shown.

ChanSpy (app_chanspy.c) finds the first live channel whose name starts with the
prefix, emits ChanSpyStart (Spyer*/Spyee* snapshots) and stays until the spyer
hangs up or, with option E, the spied-on channel does; then ChanSpyStop.
Event field order for these paths is a model of the sources, not yet of a recording.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from pbxsim.behaviour import NOANSWER, AgentAction, CallerScript
from pbxsim.kernel import Event, Interrupt
from pbxsim.types import Headers

if TYPE_CHECKING:
    from pbxsim.channels import Channel
    from pbxsim.engine import Call, Engine

_DIAL_TRUNK = re.compile(r"^(PJSIP|SIP)/\+?([0-9]{3,20})@([A-Za-z0-9_.-]+)$")
_DIAL_ENDPOINT = re.compile(r"^(PJSIP|SIP)/([A-Za-z0-9_.-]{1,80})$")
REASON_ANSWERED, REASON_TIMEOUT, REASON_BUSY = "4", "3", "5"


def trunk_target(engine: Engine, data: str) -> tuple[str, float, str] | None:
    """(far end, timeout, endpoint of its channel) when Dial() reaches a scripted far end:
    a number through the trunk, or an endpoint (as the recordings use SIPp for it)."""
    parts = data.split(",")
    target = parts[0].strip()
    timeout = float(parts[1]) if len(parts) > 1 and parts[1].strip() else 60.0
    m = _DIAL_TRUNK.match(target)
    if m is not None and m.group(3) == engine.trunk and m.group(2) in engine.remotes:
        return m.group(2), timeout, engine.trunk
    e = _DIAL_ENDPOINT.match(target)
    if e is not None and e.group(2) in engine.remotes:
        return e.group(2), timeout, e.group(2)
    return None


def originate_device(
    engine: Engine,
    tech: str,
    endpoint: str,
    context: str,
    exten: str,
    cid: tuple[str, str],
    variables: dict[str, str],
    timeout_s: float,
    action_id: str | None,
) -> None:
    """Ring `tech/endpoint`; answered, it runs `context,exten,1` as a call of its own."""
    from pbxsim.engine import Call
    from pbxsim.queue_model import device_changed

    k = engine.kernel
    phone = engine.phones.get(endpoint)
    action = phone.next_action() if phone else NOANSWER
    own_num = phone.caller_id_num if phone else ""
    own_name = phone.caller_id_name if phone else ""
    # as recorded (calling_originate): the endpoint's own caller ID first, AppDial2,
    # the Originate variables, then the Originate CallerID as caller and connected line
    chan = engine.new_channel(endpoint, own_num, own_name, "from-agents", "s", 0, tech=tech)
    engine.chan_event(
        "Newexten",
        chan,
        [("Extension", "s"), ("Application", "AppDial2"), ("AppData", "(Outgoing Line)")],
        "dialplan",
    )
    for name, value in variables.items():
        engine.setvar(chan, name, value)
    chan.caller_num, chan.caller_name = cid
    engine.chan_event(
        "NewCallerid", chan, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]
    )
    chan.connected_num, chan.connected_name = cid
    engine.chan_event("NewConnectedLine", chan)
    dest = chan.headers(engine.channelvars, "Dest")
    engine.emit("call", "DialBegin", dest + [("DialString", endpoint)])
    engine.emit("call", "DialState", dest + [("DialStatus", "RINGING")])
    engine.set_state(chan, 5)
    device_changed(engine, endpoint)
    call = Call(chan=chan, script=CallerScript())
    call.done = k.event()
    call.agent_plan = action

    def respond(ok: bool, reason: str) -> None:
        headers: Headers = []
        if action_id is not None:
            headers.append(("ActionID", action_id))
        headers += [
            ("Response", "Success" if ok else "Failure"),
            ("Channel", chan.name if ok else f"{tech}/{endpoint}"),
            ("Context", context),
            ("Exten", exten),
            ("Reason", reason),
            ("Uniqueid", chan.uniqueid if ok else "<unknown>"),
            ("CallerIDNum", cid[0] or "<unknown>"),
            ("CallerIDName", cid[1] or "<unknown>"),
        ]
        if ok:  # manager.conf channelvars, as the recording shows (none on a failure)
            headers += [
                (f"ChanVariable({chan.name})", f"{v}={chan.vars.get(v, '')}")
                for v in engine.channelvars
            ]
        engine.emit("call", "OriginateResponse", headers)

    def answered() -> None:
        if chan.gone:
            return
        engine.set_state(chan, 6)
        chan.answered_at = k.now
        device_changed(engine, endpoint)
        engine.emit(
            "call",
            "DialEnd",
            chan.headers(engine.channelvars, "Dest") + [("DialStatus", "ANSWER")],
        )
        engine.calls.append(call)
        call.proc = k.process(_run_from(engine, call, context, exten), chan.name)
        # recorded: after the dialplan has started, before Dial()'s callee exists
        sent = [False]

        def once() -> None:
            if not sent[0]:
                sent[0] = True
                respond(True, REASON_ANSWERED)

        call.on_dial = once
        k.call_later(0.002, once)  # a dialplan that never dials (ChanSpy)

    def failed(cause: int, reason: str) -> None:
        if chan.gone:
            return
        respond(False, reason)
        engine.destroy(chan, cause)
        call.done.succeed("failed")  # type: ignore[union-attr]

    if action.kind == "answer" and action.ring_s < timeout_s:
        k.call_later(action.ring_s + engine.sip_latency, answered)
    elif action.kind == "busy" and action.ring_s < timeout_s:
        k.call_later(action.ring_s + engine.sip_latency, failed, 17, REASON_BUSY)
    else:
        k.call_later(timeout_s, failed, 19, REASON_TIMEOUT)


def _run_from(engine: Engine, call: Call, context: str, exten: str) -> Generator[Event, Any, None]:
    call.chan.context, call.chan.exten = context, exten
    yield from engine._run(call)


def dial_trunk(
    engine: Engine, call: Call, number: str, timeout: float, endpoint: str
) -> Generator[Event, Any, None]:
    """Dial() to a scripted far end; DIALSTATUS as app_dial sets it. CallerGone propagates."""
    from pbxsim.engine import CallerGone

    k = engine.kernel
    caller = call.chan
    remote: AgentAction = engine.remotes[number]
    if call.on_dial is not None:
        call.on_dial()
    phone = engine.phones.get(endpoint)
    out = engine.new_channel(
        endpoint,
        phone.caller_id_num if phone and endpoint != engine.trunk else number,
        phone.caller_id_name if phone and endpoint != engine.trunk else "",
        "from-agents",
        "s",
        0,
        linkedid=caller.linkedid,
    )
    engine.setvar(out, "DIALEDPEERNUMBER", number)
    engine.chan_event(
        "Newexten",
        out,
        [("Extension", "s"), ("Application", "AppDial"), ("AppData", "(Outgoing Line)")],
        "dialplan",
    )
    out.connected_num, out.connected_name = caller.caller_num, caller.caller_name
    engine.chan_event("NewConnectedLine", out)
    dial_string = number if endpoint == number else f"+{number}@{engine.trunk}"
    engine.pair_event("DialBegin", caller, out, [("DialString", dial_string)])
    caller.connected_num, caller.connected_name = out.caller_num, out.caller_name
    engine.chan_event("NewConnectedLine", caller)
    engine.set_state(out, 5)
    engine.pair_event("DialState", caller, out, [("DialStatus", "RINGING")])
    answers = remote.kind == "answer" and remote.ring_s < timeout
    wait = remote.ring_s if remote.kind in ("answer", "busy") else timeout
    try:
        yield from engine._wait(call, min(wait, timeout))
    except CallerGone:
        engine.pair_event("DialEnd", caller, out, [("DialStatus", "CANCEL")])
        engine.destroy(out, 16)
        raise
    if not answers:
        status = "BUSY" if remote.kind == "busy" and remote.ring_s < timeout else "NOANSWER"
        engine.pair_event("DialEnd", caller, out, [("DialStatus", status)])
        engine.destroy(out, 17 if status == "BUSY" else 0)
        engine.setvar(caller, "DIALSTATUS", status)
        return
    engine.set_state(out, 6)
    out.answered_at = k.now
    engine.pair_event("DialEnd", caller, out, [("DialStatus", "ANSWER")])
    bridge = engine.new_bridge()
    engine.emit("call", "BridgeCreate", bridge.headers(0))
    engine.setvar(caller, "DIALSTATUS", "ANSWER")
    for n, chan in enumerate((out, caller), start=1):  # the callee enters first (recorded)
        engine.emit("call", "BridgeEnter", bridge.headers(n) + chan.headers(engine.channelvars))
    engine.setvar(caller, "BRIDGEPEER", out.name)
    engine.setvar(out, "BRIDGEPEER", caller.name)
    plan = call.agent_plan
    if plan is not None and plan.talk_s is not None:
        k.call_later(plan.talk_s + engine.sip_latency, engine.caller_hangup, call)
    connected_at = k.now
    try:
        if remote.talk_s is not None:
            yield from engine._wait(call, remote.talk_s)
        else:
            yield from _forever(engine, call)
    except CallerGone:
        _unbridge(engine, bridge, caller, out)
        engine.destroy(out, 16)
        raise
    out.hangup_requested = True
    engine.chan_event("HangupRequest", out)
    _unbridge(engine, bridge, out, caller)
    engine.destroy(out, 16)
    engine.setvar(caller, "DIALSTATUS", "ANSWER")
    engine.setvar(caller, "ANSWEREDTIME", str(int(k.now - connected_at)))


def _forever(engine: Engine, call: Call) -> Generator[Event, Any, None]:
    from pbxsim.engine import CallerGone

    try:
        yield engine.kernel.event()
    except Interrupt as exc:
        raise CallerGone() from exc


def _unbridge(engine: Engine, bridge: Any, first: Channel, second: Channel) -> None:
    engine.setvar(first, "BRIDGEPEER", "")
    engine.setvar(second, "BRIDGEPEER", "")
    engine.emit("call", "BridgeLeave", bridge.headers(1) + first.headers(engine.channelvars))
    engine.emit("call", "BridgeLeave", bridge.headers(0) + second.headers(engine.channelvars))
    engine.emit("call", "BridgeDestroy", bridge.headers(0))


def chanspy(engine: Engine, call: Call, data: str) -> Generator[Event, Any, None]:
    """ChanSpy(prefix,options) for one spied-on channel; returns when the spy ends."""
    prefix, _, options = data.partition(",")
    spyer = call.chan
    spyee = next(
        (c for c in engine.channels.values() if c.name.startswith(prefix) and not c.gone), None
    )
    if spyee is None or not prefix:
        yield from engine._wait(call, 1.0)
        return
    engine.emit(
        "call",
        "ChanSpyStart",
        spyer.headers(engine.channelvars, "Spyer") + spyee.headers(engine.channelvars, "Spyee"),
    )
    done = engine.kernel.event()
    stopped = [False]

    def stop() -> None:
        if stopped[0]:
            return
        stopped[0] = True
        engine.emit(
            "call",
            "ChanSpyStop",
            spyer.headers(engine.channelvars, "Spyer") + spyee.headers(engine.channelvars, "Spyee"),
        )
        if "E" in options and not done.triggered:
            done.succeed()

    engine.spy_stops.setdefault(spyee.name, []).append(stop)
    try:
        yield from _until(engine, call, done)
    finally:
        stop()  # the spyer hung up first
        waiting = engine.spy_stops.get(spyee.name)
        if waiting is not None and stop in waiting:
            waiting.remove(stop)


def _until(engine: Engine, call: Call, ev: Event) -> Generator[Event, Any, None]:
    """Wait for `ev` on the caller's channel; a hangup raises CallerGone."""
    from pbxsim.engine import CallerGone

    try:
        yield ev
    except Interrupt as exc:
        raise CallerGone() from exc
