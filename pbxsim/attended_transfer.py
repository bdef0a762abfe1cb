"""Attended transfer of a queue call, as Asterisk 22.10.1 did it in the recordings
`calling_atxfer_complete`, `calling_atxfer_agent_hangup` and `calling_atxfer_abort`.

AMI `Atxfer` on the agent's channel holds the caller (Hold on the agent's channel)
and has the agent dial `Exten@Context` through a Local pair: `;1` joins the agent in
a consultation bridge, `;2` runs the dialplan (Queue() of the target queue) as a
queue caller of its own, with the same Linkedid as the caller. The consultation ends
one of three ways:

* **complete** (`*2`, the default `atxfercomplete`, received on the agent's channel,
  or the agent hanging up once the consultation is answered): BridgeMerge of the
  consultation into the caller's bridge, AttendedTransfer (DestType Bridge),
  AgentComplete Reason `transfer`, queue_log `ATTENDEDTRANSFER|BRIDGE|<caller's
  bridge>|hold|talk|origpos`; the agent's leg hangs up. The Local pair is not
  optimised away: the caller talks through `;1` until the far end hangs up.
* **abort** (`CancelAtxfer`, or `*1`): the agent goes back to the caller (Unhold), the
  Local pair hangs up, so `;2` abandons the target queue (RINGCANCELED, ABANDON).
* the consulted side hangs up first: the agent goes back to the caller likewise.

Not modelled (no recording): completing before the consultation is answered (the
agent's `*2` is then ignored; a hang-up aborts the consultation first).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pbxsim.behaviour import CallerScript
from pbxsim.dialplan import steps_for
from pbxsim.kernel import Event, Interrupt
from pbxsim.types import Headers

if TYPE_CHECKING:
    from pbxsim.channels import Channel
    from pbxsim.engine import Bridge, Call, Engine

# delays measured in the recordings (feature code and digits queued as DTMF frames)
HOLD_AFTER_S = 0.29
DIAL_AFTER_S = 0.47
DTMF_ACT_S = 0.1
CANCEL_ACT_S = 0.26
COMPLETE_CODE = "*2"  # features.conf atxfercomplete (Asterisk's default)
ABORT_CODE = "*1"  # features.conf atxferabort (Asterisk's default)
# callers whose agent came back from a consultation (their Queue() ends differently)
_CAME_BACK: weakref.WeakSet[Call] = weakref.WeakSet()


@dataclass(eq=False)
class Consult:
    """One agent's consultation while their caller waits on hold."""

    caller_call: Call
    agent: Channel
    context: str
    exten: str
    one: Channel | None = None
    one_call: Call | None = None
    two_call: Call | None = None
    bridge: Bridge | None = None
    answered: bool = False
    merged: bool = False
    over: bool = False
    by_hangup: bool = False
    digits: str = ""


def _resp(ok: bool, message: str) -> list[Headers]:
    return [[("Response", "Success" if ok else "Error"), ("Message", message)]]


# ------------------------------------------------------------------ AMI actions
def act_atxfer(engine: Engine, h: dict[str, str]) -> list[Headers]:
    name = h.get("channel", "")
    if not name:
        return _resp(False, "No channel specified")
    exten = h.get("exten", "")
    if not exten:
        return _resp(False, "No extension specified")
    agent = engine.channels.get(name)
    if agent is None:
        return _resp(False, "Channel specified does not exist")
    if h.get("context"):
        # manager.c sets it for the feature and leaves it: the phone's later transfer
        # codes look there too (calling_atxfer_abort, calling_phone_xfer_after_abort)
        engine.setvar(agent, "TRANSFER_CONTEXT", h["context"])
    call = engine.bridged_calls.get(name)
    if call is None or name in engine.consults:
        return _resp(True, "Atxfer successfully queued")  # the DTMF goes nowhere
    consult = Consult(call, agent, h.get("context") or agent.context, exten)
    engine.consults[name] = consult
    k = engine.kernel
    k.call_later(HOLD_AFTER_S, engine.chan_event, "Hold", agent)
    k.call_later(DIAL_AFTER_S, _dial, engine, consult)
    return _resp(True, "Atxfer successfully queued")


def act_cancelatxfer(engine: Engine, h: dict[str, str]) -> list[Headers]:
    name = h.get("channel", "")
    if not name:
        return _resp(False, "No channel specified")
    if engine.channels.get(name) is None:
        return _resp(False, "Channel specified does not exist")
    consult = engine.consults.get(name)
    if consult is not None:
        engine.kernel.call_later(CANCEL_ACT_S, abort, engine, consult)
    return _resp(True, "CancelAtxfer successfully queued")


def act_playdtmf(engine: Engine, h: dict[str, str]) -> list[Headers]:
    """PlayDTMF; with `Receive: yes` the digit counts as keyed on that phone, which is
    how the panel sends the in-consultation codes (`*2` complete, `*1` abort); outside a
    consultation the transfer codes (`#1`, `*2` and digits: `keypad_transfer`)."""
    name, digit = h.get("channel", ""), h.get("digit", "")
    if engine.channels.get(name) is None:
        return _resp(False, "Channel not found")
    if len(digit) != 1 or digit not in "0123456789*#ABCD":
        return _resp(False, "No digit specified")
    consult = engine.consults.get(name)
    received = h.get("receive", "").lower() in ("yes", "true", "1", "on")
    if consult is not None and received:
        consult.digits = (consult.digits + digit)[-2:]
        if consult.digits == COMPLETE_CODE and consult.answered:
            engine.kernel.call_later(DTMF_ACT_S, complete, engine, consult)
        elif consult.digits == ABORT_CODE:
            engine.kernel.call_later(DTMF_ACT_S, abort, engine, consult)
    elif received:
        from pbxsim import keypad_transfer  # builds on this module

        keypad_transfer.press(engine, name, digit)
    return _resp(True, "DTMF successfully queued")


# ------------------------------------------------------------------ consultation
def _dial(engine: Engine, consult: Consult) -> None:
    """The agent dials the target through a Local pair (recorded order: Newchannel ;1,
    ;2, BridgeCreate, LocalBridge, BridgeEnter ;1, QueueCallerJoin ;2, the agent moves
    from the caller's bridge into the consultation)."""
    from pbxsim.engine import Call

    agent, k = consult.agent, engine.kernel
    caller_call = consult.caller_call
    if consult.over or agent.gone or caller_call.bridge is None:
        return
    if steps_for(engine.dialplan, consult.context, consult.exten) is None:
        # Asterisk plays pbx-invalid and gives up: the caller is taken off hold
        engine.consults.pop(agent.name, None)
        engine.chan_event("Unhold", agent)
        return
    num = engine._tech_seq.get("Local", 0)
    base = f"Local/{consult.exten}@{consult.context}-{num:08x}"
    target = f"{consult.exten}@{consult.context}"
    one = engine.new_channel(
        target + ";1",
        "",
        "",
        consult.context,
        consult.exten,
        0,
        linkedid=agent.linkedid,
        tech="Local",
        name=base + ";1",
    )
    two = engine.new_channel(
        target + ";2",
        "",
        "",
        consult.context,
        consult.exten,
        4,
        linkedid=agent.linkedid,
        tech="Local",
        name=base + ";2",
    )
    engine._tech_seq["Local"] = num + 1
    two.caller_num, two.caller_name = agent.caller_num, agent.caller_name
    bridge = engine.new_bridge()
    consult.one, consult.bridge = one, bridge
    engine.emit("call", "BridgeCreate", bridge.headers(0))
    lb: Headers = []
    for prefix, chan in (("LocalOne", one), ("LocalTwo", two)):
        lb.extend((prefix + key, value) for key, value in chan.headers(engine.channelvars))
    engine.emit(
        "call",
        "LocalBridge",
        lb + [("Context", consult.context), ("Exten", consult.exten), ("LocalOptimization", "Yes")],
    )
    engine.emit("call", "BridgeEnter", bridge.headers(1) + one.headers(engine.channelvars))
    two_call = Call(chan=two, script=CallerScript())
    two_call.done = k.event()
    one_call = Call(chan=one, script=CallerScript())
    one_call.done = k.event()
    two_call.peer = one_call
    consult.one_call, consult.two_call = one_call, two_call
    engine.calls.extend([one_call, two_call])
    two_call.proc = k.process(engine._run(two_call), two.name)
    one_call.proc = k.process(_local_one(engine, consult), one.name)

    def on_queue(step: str) -> None:
        if step == "connect":
            _answered(engine, consult)
        elif not (consult.over or agent.gone or caller_call.bridge is None):
            # the agent leaves the caller for the consultation as ;2 joins the queue
            engine.emit(
                "call",
                "BridgeLeave",
                caller_call.bridge.headers(1) + agent.headers(engine.channelvars),
            )
            engine.emit(
                "call", "BridgeEnter", bridge.headers(2) + agent.headers(engine.channelvars)
            )

    two_call.on_queue = on_queue


def _answered(engine: Engine, consult: Consult) -> None:
    """The target answered: the agent's dial of ;1 ends (a DialEnd with no caller side)."""
    consult.answered = True
    one = consult.one
    if one is None or one.gone:
        return
    engine.set_state(one, 6)
    one.answered_at = engine.kernel.now
    engine.emit(
        "call", "DialEnd", one.headers(engine.channelvars, "Dest") + [("DialStatus", "ANSWER")]
    )


def _local_one(engine: Engine, consult: Consult) -> Generator[Event, Any, None]:
    """;1 lives until its ;2 half hangs up (HangupRequest from the engine's peer hook)."""
    k = engine.kernel
    with contextlib.suppress(Interrupt):
        yield k.event()
    one = consult.one
    if one is not None and not one.gone:
        if consult.merged and consult.caller_call.bridge is not None:
            engine.emit(
                "call",
                "BridgeLeave",
                consult.caller_call.bridge.headers(1) + one.headers(engine.channelvars),
            )
            engine.destroy(one, 16)
            caller_proc = consult.caller_call.proc
            if caller_proc is not None and not consult.caller_call.chan.gone:
                caller_proc.interrupt("far")
        elif not consult.over:
            _back_to_caller(engine, consult)
            engine.destroy(one, 16)
        else:
            engine.destroy(one, 16)
    done = consult.one_call.done if consult.one_call is not None else None
    if done is not None and not done.triggered:
        done.succeed("")


def came_back(call: Call) -> bool:
    """Has the agent of this caller come back to them from a consultation?"""
    return call in _CAME_BACK


def _back_to_caller(engine: Engine, consult: Consult) -> None:
    """The agent leaves the consultation for the caller's bridge and takes them off hold."""
    consult.over = True
    _CAME_BACK.add(consult.caller_call)
    engine.consults.pop(consult.agent.name, None)
    agent, bridge = consult.agent, consult.bridge
    caller_bridge = consult.caller_call.bridge
    if bridge is None:
        return
    if not agent.gone and caller_bridge is not None:
        engine.emit("call", "BridgeLeave", bridge.headers(1) + agent.headers(engine.channelvars))
        engine.emit(
            "call", "BridgeEnter", caller_bridge.headers(2) + agent.headers(engine.channelvars)
        )
        engine.chan_event("Unhold", agent)
    if consult.one is not None and not consult.one.gone:
        engine.emit(
            "call", "BridgeLeave", bridge.headers(0) + consult.one.headers(engine.channelvars)
        )
    engine.emit("call", "BridgeDestroy", bridge.headers(0))


def abort(engine: Engine, consult: Consult) -> None:
    """CancelAtxfer / `*1`: back to the caller; the Local pair hangs up (;2 abandons)."""
    if consult.over:
        return
    _back_to_caller(engine, consult)
    if consult.two_call is not None:
        engine.caller_hangup(consult.two_call, "16")
    if consult.one is not None and not consult.one.gone:
        engine.destroy(consult.one, 16)
    if consult.one_call is not None and consult.one_call.proc is not None:
        consult.one_call.proc.interrupt("abort")


def complete(engine: Engine, consult: Consult, by_hangup: bool = False) -> None:
    """`*2` or the agent's hang-up after the answer: the caller's Queue() ends the agent's
    leg with the transfer (see `merged`)."""
    if consult.over or not consult.answered:
        return
    consult.over = True
    consult.by_hangup = by_hangup
    proc = consult.caller_call.proc
    if proc is not None:
        proc.interrupt("atxfer")


def transferer_hung_up(engine: Engine, consult: Consult) -> None:
    """The agent's BYE during the consultation: completes it once answered; before the
    answer the consultation is dropped first and the hang-up ends the agent's leg."""
    if consult.answered and not consult.over:
        complete(engine, consult, by_hangup=True)
        return
    abort(engine, consult)
    proc = consult.caller_call.proc
    if proc is not None:
        engine.kernel.call_soon(proc.interrupt, "agent")


def drop(engine: Engine, consult: Consult) -> None:
    """The caller's leg ended while the agent consulted: the consultation goes too."""
    if consult.over:
        return
    consult.over = True
    engine.consults.pop(consult.agent.name, None)
    if consult.two_call is not None:
        engine.caller_hangup(consult.two_call, "16")


def merged(
    engine: Engine,
    q: Any,
    entry: Any,
    caller: Channel,
    agent: Channel,
    bridge: Bridge,
    member_fields: Headers,
    hold: int,
    talk: int,
) -> Generator[Event, Any, None]:
    """Inside the caller's Queue(): the consultation merges into the caller's bridge, in
    the recorded order; then the caller talks through ;1 until either side hangs up."""
    consult = engine.consults.pop(agent.name)
    one, cbridge = consult.one, consult.bridge
    assert one is not None and cbridge is not None
    vars_ = engine.channelvars
    if consult.by_hangup:
        engine.emit("call", "BridgeLeave", cbridge.headers(1) + agent.headers(vars_))
    engine.emit(
        "call",
        "BridgeMerge",
        [("To" + k, v) for k, v in bridge.headers(1)]
        + [("From" + k, v) for k, v in cbridge.headers(2)],
    )
    engine.emit("call", "BridgeLeave", cbridge.headers(1) + one.headers(vars_))
    engine.emit("call", "BridgeEnter", bridge.headers(2) + one.headers(vars_))
    if not consult.by_hangup:
        engine.emit("call", "BridgeLeave", cbridge.headers(0) + agent.headers(vars_))
    engine.emit(
        "call",
        "AttendedTransfer",
        [("Result", "Success")]
        + agent.headers(vars_, "OrigTransferer")
        + [("Orig" + k, v) for k, v in bridge.headers(2)]
        + agent.headers(vars_, "SecondTransferer")
        + [("Second" + k, v) for k, v in cbridge.headers(0)]
        + caller.headers(vars_, "Transferee")
        # with the agent's hang-up Asterisk names no TransferTarget (calling_atxfer_agent_hangup)
        + ([] if consult.by_hangup else one.headers(vars_, "TransferTarget"))
        + [("IsExternal", "No"), ("DestType", "Bridge"), ("DestBridgeUniqueid", bridge.uid)],
    )
    engine.pair_event(
        "AgentComplete",
        caller,
        agent,
        member_fields + [("HoldTime", str(hold)), ("TalkTime", str(talk)), ("Reason", "transfer")],
        "agent",
    )
    engine.emit("call", "BridgeDestroy", cbridge.headers(0))
    engine.qlog(
        caller.uniqueid,
        q.name,
        member_fields[2][1],
        "ATTENDEDTRANSFER",
        "BRIDGE",
        bridge.uid,
        str(hold),
        str(talk),
        str(entry.orig_pos),
    )
    engine.destroy(agent, 16)
    consult.merged = True
    call = consult.caller_call
    call.bridged_with = one
    who = "caller"
    try:
        yield engine.kernel.event()  # until the caller or the far end hangs up
    except Interrupt as exc:
        who = str(exc.cause)
    if who == "caller" and consult.one_call is not None and not one.gone:
        engine.emit("call", "BridgeLeave", bridge.headers(1) + caller.headers(vars_))
        engine.emit("call", "BridgeLeave", bridge.headers(0) + one.headers(vars_))
        engine.emit("call", "BridgeDestroy", bridge.headers(0))
        consult.merged = False  # ;1 goes with the caller's leg, not back into the bridge
        if consult.one_call.proc is not None:
            consult.one_call.proc.interrupt("caller")
        if consult.two_call is not None:
            engine.caller_hangup(consult.two_call, "16")
        return
    engine.emit("call", "BridgeLeave", bridge.headers(0) + caller.headers(vars_))
    engine.emit("call", "BridgeDestroy", bridge.headers(0))
