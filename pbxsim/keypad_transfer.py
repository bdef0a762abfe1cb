"""Transfers keyed on the agent's phone, as Asterisk 22.10.1 did them in the recordings
`calling_phone_blind_transfer` (`#1` then `801`) and `calling_phone_atxfer` (`*2` then
`801`, completed by `*2`) and `calling_phone_xfer_after_abort` (`#1 801` after a
cancelled panel Atxfer): the feature codes of features.conf, received on the agent's
channel while it is bridged to a queue caller.

The code puts the caller on hold (Hold on the agent's channel, 0.1 s after its last
digit); the digits that follow are collected in the transfer context (the channel's
TRANSFER_CONTEXT, which AMI Atxfer leaves set, else its own context: the endpoint's). Once they match an extension
that no longer one could match, the transfer starts at once; otherwise Asterisk waits
for `transferdigittimeout` (3 s, features.conf default: the rig's `_X.` in
`from-agents` made it wait in both recordings). Then:

* blind: the caller goes on to the extension as with AMI BlindTransfer
  (`queue_model._blind_transferred`), but the BlindTransfer event says
  `IsExternal: No` and the bridge is left agent first;
* attended: the consultation of `attended_transfer` (its Local pair, queue call of its
  own, `*2` to complete).

Digits that match nothing: the agent is taken off hold and stays with the caller
(Asterisk plays pbx-invalid; not recorded, modelled as for Atxfer).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pbxsim import attended_transfer
from pbxsim.dialplan import _pattern, steps_for

if TYPE_CHECKING:
    from pbxsim.engine import Call, Engine

BLIND_CODE = "#1"  # features.conf blindxfer (generated)
ATTENDED_CODE = "*2"  # features.conf atxfer (generated)
HOLD_AFTER_S = 0.1  # Hold after the code's last digit (both recordings)
DIGIT_TIMEOUT_S = 3.0  # features.conf transferdigittimeout (default)
# callers sent on by a keyed blind transfer (their events come in another order)
_KEYED: weakref.WeakSet[Call] = weakref.WeakSet()


@dataclass(eq=False)
class Keypad:
    """What an agent's phone has keyed during one queue call."""

    call: Call
    kind: str = ""  # "", "blind" or "attended"
    recent: str = ""
    digits: str = ""
    seq: int = 0


_PADS: weakref.WeakKeyDictionary[Engine, dict[str, Keypad]] = weakref.WeakKeyDictionary()


def keyed(call: Call) -> bool:
    """Was this caller sent on by a transfer keyed on the agent's phone?"""
    return call in _KEYED


def transfer_context(engine: Engine, name: str) -> str:
    chan = engine.channels[name]
    return chan.vars.get("TRANSFER_CONTEXT") or chan.context


def could_extend(engine: Engine, context: str, digits: str) -> bool:
    """Could a longer string still match an extension of `context` (ast_matchmore_extension)?"""
    for ctx, ext in engine.dialplan:
        if ctx != context:
            continue
        if not ext.startswith("_"):
            if len(ext) > len(digits) and ext.startswith(digits):
                return True
        elif _pattern(ext).match(digits + "0") or _pattern(ext).match(digits + "00"):
            return True
    return False


def press(engine: Engine, name: str, digit: str) -> None:
    """One digit received on an agent's channel (AMI PlayDTMF Receive=yes, or the phone)."""
    call = engine.bridged_calls.get(name)
    if call is None or name in engine.consults:
        _PADS.get(engine, {}).pop(name, None)
        return
    pads = _PADS.setdefault(engine, {})
    pad = pads.get(name)
    if pad is None or pad.call is not call:
        pad = pads[name] = Keypad(call)
    k = engine.kernel
    if not pad.kind:
        pad.recent = (pad.recent + digit)[-2:]
        if pad.recent in (BLIND_CODE, ATTENDED_CODE):
            pad.kind = "blind" if pad.recent == BLIND_CODE else "attended"
            k.call_later(HOLD_AFTER_S, engine.chan_event, "Hold", engine.channels[name])
        return
    pad.digits += digit
    pad.seq += 1
    context = transfer_context(engine, name)
    now = steps_for(engine.dialplan, context, pad.digits) is not None and not could_extend(
        engine, context, pad.digits
    )
    k.call_later(0.0 if now else DIGIT_TIMEOUT_S, _collected, engine, name, pad, pad.seq)


def _collected(engine: Engine, name: str, pad: Keypad, seq: int) -> None:
    """The digits are in (or the digit timeout ran out): transfer, or back to the caller."""
    pads = _PADS.get(engine, {})
    if pad.seq != seq or pads.get(name) is not pad:
        return
    del pads[name]
    call, agent = pad.call, engine.channels.get(name)
    if agent is None or engine.bridged_calls.get(name) is not call or call.proc is None:
        return
    context = transfer_context(engine, name)
    if pad.kind == "attended":
        consult = attended_transfer.Consult(call, agent, context, pad.digits)
        engine.consults[name] = consult
        attended_transfer._dial(engine, consult)
        return
    if steps_for(engine.dialplan, context, pad.digits) is None:
        engine.chan_event("Unhold", agent)
        return
    call.transfer_to = (context, pad.digits)
    _KEYED.add(call)
    call.proc.interrupt("transfer")
