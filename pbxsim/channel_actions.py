"""Channel-level AMI actions: CoreShowChannels, Originate, Redirect, Hangup, Setvar, Getvar."""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from pbxsim import outbound
from pbxsim.attended_transfer import (  # noqa: F401 (QueueActions finds act_* here)
    act_atxfer,
    act_cancelatxfer,
    act_playdtmf,
)
from pbxsim.behaviour import CallerScript
from pbxsim.dialplan import steps_for
from pbxsim.kernel import Event
from pbxsim.types import Headers

if TYPE_CHECKING:
    from pbxsim.engine import Call, Engine


def _resp(ok: bool, message: str) -> list[Headers]:
    return [[("Response", "Success" if ok else "Error"), ("Message", message)]]


def _find_call(engine: Engine, name: str) -> Call | None:
    for call in engine.calls:
        if call.chan is not None and call.chan.name == name and not call.chan.gone:
            return call
    return None


def act_coreshowchannels(engine: Engine, h: dict[str, str]) -> list[Headers]:
    now = engine.kernel.now
    items: list[Headers] = []
    for chan in list(engine.channels.values()):
        secs = int(now - chan.created)
        dur = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        items.append(
            [
                ("Event", "CoreShowChannel"),
                *chan.headers(engine.channelvars),
                ("BridgeId", ""),
                ("Application", chan.app),
                ("ApplicationData", chan.appdata),
                ("Duration", dur),
            ]
        )
    out: list[Headers] = [
        [("Response", "Success"), ("EventList", "start"), ("Message", "Channels will follow")]
    ]
    out.extend(items)
    out.append(
        [
            ("Event", "CoreShowChannelsComplete"),
            ("EventList", "Complete"),
            ("ListItems", str(len(items))),
        ]
    )
    return out


def act_hangup(engine: Engine, h: dict[str, str]) -> list[Headers]:
    name = h.get("channel", "")
    if not name:
        return _resp(False, "No channel specified")
    chan = engine.channels.get(name)
    if chan is None:
        return _resp(False, "No such channel")
    call = _find_call(engine, name)
    if call is not None:
        engine.caller_hangup(call)
    else:
        engine.hangup_agent(chan)
    return _resp(True, "Channel Hungup")


def act_setvar(engine: Engine, h: dict[str, str]) -> list[Headers]:
    var = h.get("variable", "")
    if not var:
        return _resp(False, "No variable specified")
    name = h.get("channel", "")
    if name:
        chan = engine.channels.get(name)
        if chan is None:
            return _resp(False, "No such channel")
        engine.setvar(chan, var, h.get("value", ""))
    else:
        engine.globals[var] = h.get("value", "")
    return _resp(True, "Variable Set")


def act_getvar(engine: Engine, h: dict[str, str]) -> list[Headers]:
    var = h.get("variable", "")
    if not var:
        return _resp(False, "No variable specified.")
    name = h.get("channel", "")
    if name:
        chan = engine.channels.get(name)
        if chan is None:
            return _resp(False, "No such channel")
        value = engine.lookup(chan, var)
    else:
        value = engine.globals.get(var, "")
    return [[("Response", "Success"), ("Variable", var), ("Value", value)]]


def act_redirect(engine: Engine, h: dict[str, str]) -> list[Headers]:
    name = h.get("channel", "")
    if not name:
        return _resp(False, "Channel not specified")
    call = _find_call(engine, name)
    if call is None:
        return _resp(False, f"Channel not existent: {name}")
    context, exten = h.get("context", call.chan.context), h.get("exten", "")
    if (context, exten) not in engine.dialplan:
        return _resp(False, "Redirect failed, extension not found")
    call.redirect = (context, exten)
    if call.proc is not None:
        call.proc.interrupt("redirect")
    return _resp(True, "Redirect successful")


_DEVICE = re.compile(r"^(PJSIP|SIP)/([A-Za-z0-9_.-]{1,80})$")


def _variables(text: str) -> dict[str, str]:
    """Originate's `Variable: A=1,B=2` (Asterisk also accepts one header per variable)."""
    out: dict[str, str] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip():
            out[name.strip()] = value
    return out


def act_blindtransfer(engine: Engine, h: dict[str, str]) -> list[Headers]:
    """BlindTransfer (transferer = the agent's channel): the caller bridged to it goes on
    to Exten@Context (see queue_model._blind_transferred for the events)."""
    name = h.get("channel", "")
    if not name:
        return _resp(False, "No channel specified")
    call = engine.bridged_calls.get(name)
    if call is None or call.proc is None or engine.channels.get(name) is None:
        return _resp(False, "Channel specified does not exist")
    context, exten = h.get("context", ""), h.get("exten", "")
    if not exten or steps_for(engine.dialplan, context, exten) is None:
        return _resp(False, "Exten not specified")
    call.transfer_to = (context, exten)
    call.proc.interrupt("transfer")
    return _resp(True, "Transfer succeeded")


_CALLERID = re.compile(r'^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$')


def act_originate(engine: Engine, h: dict[str, str]) -> list[Headers]:
    channel = h.get("channel", "")
    if not channel:
        return _resp(False, "Channel not specified")
    context, exten = h.get("context", ""), h.get("exten", "")
    if not exten and not h.get("application"):
        return _resp(False, "Exten not specified")
    cid_name, cid_num = "", ""
    m = _CALLERID.match(h.get("callerid", ""))
    if m:
        cid_name, cid_num = m.group(1), m.group(2)
    elif h.get("callerid"):
        cid_num = h["callerid"]
    aid = h.get("actionid")
    device = _DEVICE.match(channel)
    if device is not None and exten and steps_for(engine.dialplan, context, exten) is not None:
        variables = _variables(h.get("variable", ""))
        timeout_ms = h.get("timeout", "30000")
        timeout_s = (
            int(timeout_ms) / 1000 if timeout_ms.isascii() and timeout_ms.isdigit() else 30.0
        )
        engine.kernel.call_soon(
            outbound.originate_device,
            engine,
            device.group(1),
            device.group(2),
            context,
            exten,
            (cid_num, cid_name),
            variables,
            timeout_s,
            aid,
        )
        engine.poke()
        return _resp(True, "Originate successfully queued")
    local = re.match(r"^Local/([^@]+)@([^/]+)(/n)?$", channel)
    if local is None:
        return _resp(False, "Originate failed")
    engine.kernel.call_soon(
        lambda: engine.kernel.process(
            _originate_local(
                engine, local.group(1), local.group(2), context, exten, cid_num, cid_name, aid
            )
        )
    )
    engine.poke()
    return _resp(True, "Originate successfully queued")


def _originate_local(
    engine: Engine,
    lexten: str,
    lcontext: str,
    context: str,
    exten: str,
    cid_num: str,
    cid_name: str,
    action_id: str | None,
) -> Generator[Event, Any, None]:
    """A Local channel pair: ;2 runs `lexten@lcontext` (the scripted caller), ;1 runs context/exten."""
    from pbxsim.engine import Call

    k = engine.kernel
    num = engine._tech_seq.get("Local", 0)
    engine._tech_seq["Local"] = num + 1
    base = f"Local/{lexten}@{lcontext}-{num:08x}"
    one = engine.new_channel(
        f"{lexten}@{lcontext};1",
        "",
        "",
        lcontext,
        lexten,
        0,
        tech="Local",
        name=base + ";1",
    )
    two = engine.new_channel(
        f"{lexten}@{lcontext};2",
        "",
        "",
        lcontext,
        lexten,
        4,
        linkedid=one.linkedid,
        tech="Local",
        name=base + ";2",
    )
    engine._tech_seq["Local"] = num + 1
    engine.chan_event(
        "Newexten",
        one,
        [("Extension", lexten), ("Application", "AppDial2"), ("AppData", "(Outgoing Line)")],
        "dialplan",
    )
    for chan in (one, two):
        chan.caller_num, chan.caller_name = cid_num, cid_name
        chan.connected_num, chan.connected_name = cid_num, cid_name
    engine.chan_event(
        "NewCallerid", one, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]
    )
    engine.chan_event(
        "NewCallerid", two, [("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")]
    )
    lb: Headers = []
    for prefix, chan in (("LocalOne", one), ("LocalTwo", two)):
        lb.extend((prefix + key, value) for key, value in chan.headers(engine.channelvars))
    engine.emit(
        "call",
        "LocalBridge",
        lb + [("Context", lcontext), ("Exten", lexten), ("LocalOptimization", "No")],
    )
    engine.emit(
        "call",
        "DialBegin",
        one.headers(engine.channelvars, "Dest") + [("DialString", f"{lexten}@{lcontext}/n")],
    )
    caller = Call(chan=one, script=CallerScript())
    caller.done = k.event()
    peer = Call(chan=two, script=CallerScript())
    peer.done = k.event()
    peer.peer = caller
    engine.calls.extend([caller, peer])
    one.context, one.exten, one.priority = context, exten, 1

    def start_one() -> None:
        engine.set_state(one, 6)
        one.answered_at = k.now
        engine.emit(
            "call", "DialEnd", one.headers(engine.channelvars, "Dest") + [("DialStatus", "ANSWER")]
        )
        caller.proc = k.process(engine._run(caller), one.name)
        response: Headers = [("Event", "OriginateResponse")]
        if action_id is not None:
            response.append(("ActionID", action_id))
        response += [
            ("Response", "Success"),
            ("Channel", one.name),
            ("Context", context),
            ("Exten", exten),
            ("Reason", "4"),
            ("Uniqueid", one.uniqueid),
            ("CallerIDNum", cid_num or "<unknown>"),
            ("CallerIDName", cid_name or "<unknown>"),
        ]
        response += [
            (f"ChanVariable({one.name})", f"{v}={one.vars.get(v, '')}") for v in engine.channelvars
        ]
        k.call_soon(engine.emit, "call", response[0][1], response[1:])

    peer.on_answer = start_one
    peer.proc = k.process(engine._run(peer), two.name)
    yield from ()
