"""Normalise an AMI message stream (recorded or simulated) and compare two of them.

Asterisk is multi-threaded: the global interleaving of events from different
channels varies from run to run, but the order of events *on one channel* (and on
one ring leg, and on one queue member) does not. So a stream is split into
per-channel sequences of (event, key fields), with channel names replaced by roles
(`caller1`, `agent2#1` = the first channel to PJSIP/agent2), uniqueids by those
roles, and the recording's plumbing (the Local `;2` half that scripts a caller,
CEL/CDR/RTCP/device-state noise) left out. queue_log lines get the same treatment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pbxsim.types import AmiEvent

Message = dict[str, Any]

# Events compared, and the fields that matter for each.
KEY_FIELDS: dict[str, tuple[str, ...]] = {
    "Newchannel": ("ChannelStateDesc", "CallerIDNum", "CallerIDName", "Context", "Exten"),
    "Newstate": ("ChannelStateDesc",),
    "Newexten": ("Context", "Application", "AppData"),
    "VarSet": ("Variable", "Value"),
    "DialBegin": ("DialString",),
    "DialEnd": ("DialStatus",),
    "QueueCallerJoin": ("Queue", "Position", "Count"),
    "QueueCallerLeave": ("Queue", "Position", "Count"),
    "QueueCallerAbandon": ("Queue", "Position", "OriginalPosition", "HoldTime"),
    "AgentCalled": ("Queue", "Interface", "MemberName"),
    "AgentRingNoAnswer": ("Queue", "Interface", "MemberName", "RingTime"),
    "AgentConnect": ("Queue", "Interface", "MemberName", "HoldTime", "RingTime"),
    "AgentComplete": ("Queue", "Interface", "MemberName", "HoldTime", "TalkTime", "Reason"),
    "BridgeEnter": (),
    "BridgeLeave": (),
    "Hangup": ("Cause", "Cause-txt"),
    "HangupRequest": ("Cause",),
    "SoftHangupRequest": ("Cause",),
    "AGIExecStart": ("Command",),
    "AGIExecEnd": ("Command", "ResultCode", "Result"),
    "QueueMemberAdded": (
        "Queue",
        "MemberName",
        "Membership",
        "Penalty",
        "Paused",
        "PausedReason",
        "Status",
    ),
    "QueueMemberRemoved": ("Queue", "MemberName", "Membership", "Penalty", "Paused", "Status"),
    "QueueMemberPause": (
        "Queue",
        "MemberName",
        "Membership",
        "Penalty",
        "Paused",
        "PausedReason",
        "Status",
    ),
    "QueueMemberPenalty": ("Queue", "MemberName", "Penalty"),
    "QueueMemberStatus": ("Queue", "MemberName", "Status", "Paused", "CallsTaken"),
    "OriginateResponse": ("Response", "Reason", "Context", "Exten"),
    "Cdr": (
        "Source",
        "Destination",
        "DestinationContext",
        "CallerID",
        "DestinationChannel",
        "LastApplication",
        "LastData",
        "Duration",
        "BillableSeconds",
        "Disposition",
        "UserField",
    ),
}
# VarSet is compared only for the variables the listener, the IVR and the dialplan use.
VARSET_KEEP = {
    "QUEUESTATUS",
    "ABANDONED",
    "MEMBERINTERFACE",
    "MEMBERNAME",
    "MEMBERPENALTY",
    "MEMBERDYNAMIC",
    "QEHOLDTIME",
    "QEORIGINALPOS",
    "QUEUEPOSITION",
    "QUEUENAME",
    "QUEUE_MAX_PENALTY",
    "QUEUE_MIN_PENALTY",
    "QUEUE_PRIO",
    "IVR_LANG",
    "AGISTATUS",
    "PLAYBACKSTATUS",
    "DIALEDPEERNUMBER",
}
PAIR_TO_CALLER = {"AgentConnect", "AgentComplete"}  # compared in their own per-caller stream
# Numeric fields compared with a tolerance (value, absolute tolerance)
TOLERANCE = {"RingTime": 150, "HoldTime": 1, "TalkTime": 1, "Duration": 1, "BillableSeconds": 1}

_PLUMBING_MESSAGES = {"Authentication accepted", "Thanks for all the fish."}
_CHAN_RE = re.compile(r"(PJSIP|SIP|IAX2|Local)/[^\s,|;]+(;[12])?")


def load_jsonl(path: str | Path) -> list[Message]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def event_to_message(ev: AmiEvent, t: float | None = None) -> Message:
    """An engine AmiEvent as an ami.jsonl-style dict (repeated headers become lists)."""
    out: Message = {}
    if t is not None:
        out["_t"] = t
    for key, value in ev.headers:
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        elif key in ("ChanVariable", "DestChanVariable"):
            out[key] = [value]
        else:
            out[key] = value
    return out


class Roles:
    """Stable names for channels and uniqueids, by order of appearance."""

    def __init__(self) -> None:
        self.by_channel: dict[str, str] = {}
        self.by_uid: dict[str, str] = {}
        self.callers = 0
        self.per_endpoint: dict[str, int] = {}

    def channel(self, name: str, uid: str | None = None) -> str:
        role = self.by_channel.get(name)
        if role is None:
            if name.startswith("Local/") and name.endswith(";2"):
                role = "plumbing"
            elif name.startswith("Local/") or "/trunk-" in name:
                self.callers += 1
                role = f"caller{self.callers}"
            else:
                endpoint = re.sub(r"-[0-9a-f]{8}(;[12])?$", "", name)
                n = self.per_endpoint.get(endpoint, 0) + 1
                self.per_endpoint[endpoint] = n
                role = f"{endpoint.split('/', 1)[-1]}#{n}"
            self.by_channel[name] = role
        if uid:
            self.by_uid.setdefault(uid, role)
        return role

    def text(self, value: str) -> str:
        """Replace channel names and known uniqueids inside free text (AppData, Value)."""

        def sub(m: re.Match[str]) -> str:
            return self.by_channel.get(m.group(0), m.group(0))

        value = _CHAN_RE.sub(sub, value)
        for uid, role in self.by_uid.items():
            if uid in value:
                value = value.replace(uid, role)
        return value


def normalise(
    messages: Iterable[Message], include_responses: bool = False
) -> dict[str, list[tuple[str, ...]]]:
    roles = Roles()
    streams: dict[str, list[tuple[str, ...]]] = {}

    def add(stream: str, item: tuple[str, ...]) -> None:
        streams.setdefault(stream, []).append(item)

    for msg in messages:
        if "Response" in msg and "Event" not in msg:
            if include_responses and msg.get("Message") not in _PLUMBING_MESSAGES:
                add("responses", ("Response", msg["Response"], msg.get("Message", "")))
            continue
        ev = msg.get("Event", "")
        if ev in ("Newchannel",):
            roles.channel(msg["Channel"], msg.get("Uniqueid"))
        if (
            include_responses
            and ev in ("QueueParams", "QueueMember", "QueueEntry", "QueueSummary")
            or (include_responses and ev.endswith("Complete") and "EventList" in msg)
        ):
            fields = tuple(
                f"{k}={roles.text(str(v))}"
                for k, v in msg.items()
                if k not in ("_t", "ActionID", "LoginTime", "LastPause", "Wait") and k != "Event"
            )
            add("responses", (ev, *fields))
            continue
        if ev not in KEY_FIELDS:
            continue
        if ev == "VarSet" and msg.get("Variable") not in VARSET_KEEP:
            continue
        fields = []
        for f in KEY_FIELDS[ev]:
            v = msg.get(f, "")
            if f == "RingTime" and v and ev == "AgentRingNoAnswer":
                v = str(int(round(int(v) / 100.0)) * 100)
            fields.append(f"{f}={roles.text(str(v))}")
        if ev.startswith("QueueMember"):
            add(f"member:{msg.get('Interface')}@{msg.get('Queue')}", (ev, *fields))
            continue
        if ev == "OriginateResponse":
            add("originate", (ev, *fields))
            continue
        if ev == "Cdr":
            role = roles.channel(msg["Channel"])
            if role != "plumbing":
                add(f"cdr:{role}", (ev, *fields))
            continue
        chan = msg.get("Channel")
        dest = msg.get("DestChannel")
        if chan is None and dest is None:
            continue
        if dest is not None:
            d_role = roles.channel(dest, msg.get("DestUniqueid"))
            c_role = roles.channel(chan, msg.get("Uniqueid")) if chan else "-"
            if ev in PAIR_TO_CALLER:
                # app_queue's own thread: ordered against the other queue outcomes, not the bridge
                add(f"connect:{c_role}", (ev, f"to={d_role}", *fields))
            else:
                add(d_role, (ev, f"from={c_role}", *fields))
            continue
        role = roles.channel(chan, msg.get("Uniqueid"))
        if role == "plumbing":
            continue
        add(role, (ev, *fields))
    return streams


def normalise_queue_log(lines: Iterable[str], messages: Iterable[Message]) -> list[tuple[str, ...]]:
    """queue_log without epochs; call ids and agent uniqueids replaced by channel roles."""
    roles = Roles()
    for msg in messages:
        if msg.get("Event") == "Newchannel":
            roles.channel(msg["Channel"], msg.get("Uniqueid"))
    out: list[tuple[str, ...]] = []
    for line in lines:
        line = line.rstrip("\n")
        if not line:
            continue
        parts = line.split("|")
        _epoch, callid, queue, agent, event, *data = parts
        callid = roles.by_uid.get(callid, callid)
        data = [roles.by_uid.get(d, d) for d in data]
        if event in ("RINGNOANSWER", "RINGCANCELED") and data and data[0].isdigit():
            data[0] = str(int(round(int(data[0]) / 100.0)) * 100)
        out.append((callid, queue, agent, event, *data))
    return out


def _close(a: str, b: str) -> bool:
    if a == b:
        return True
    ka, _, va = a.partition("=")
    kb, _, vb = b.partition("=")
    if ka != kb or ka not in TOLERANCE:
        return False
    try:
        return abs(int(va) - int(vb)) <= TOLERANCE[ka]
    except ValueError:
        return False


def _same(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))


def diff_streams(
    expected: dict[str, list[tuple[str, ...]]], actual: dict[str, list[tuple[str, ...]]]
) -> list[str]:
    """Human-readable differences; empty when every stream matches item by item."""
    problems: list[str] = []
    for name in sorted(set(expected) | set(actual)):
        exp, act = expected.get(name, []), actual.get(name, [])
        for i in range(max(len(exp), len(act))):
            e = exp[i] if i < len(exp) else None
            a = act[i] if i < len(act) else None
            if e is None or a is None or not _same(e, a):
                problems.append(f"{name}[{i}]: expected {e} got {a}")
                break
    return problems


def diff_queue_log(expected: list[tuple[str, ...]], actual: list[tuple[str, ...]]) -> list[str]:
    problems = []
    for i in range(max(len(expected), len(actual))):
        e = expected[i] if i < len(expected) else None
        a = actual[i] if i < len(actual) else None
        if (
            e is None
            or a is None
            or not (
                len(e) == len(a)
                and all(
                    x == y or _ql_close(e[3], j, x, y)
                    for j, (x, y) in enumerate(zip(e, a, strict=True))
                )
            )
        ):
            problems.append(f"queue_log[{i}]: expected {e} got {a}")
            break
    return problems


def _ql_close(event: str, idx: int, x: str, y: str) -> bool:
    """Hold/talk seconds may differ by 1 and ring ms by 150 between two runs of one scenario."""
    if not (x.isdigit() and y.isdigit()):
        return False
    if event in ("RINGNOANSWER", "RINGCANCELED"):
        return abs(int(x) - int(y)) <= 150
    if event in (
        "CONNECT",
        "COMPLETECALLER",
        "COMPLETEAGENT",
        "ABANDON",
        "EXITWITHTIMEOUT",
        "EXITEMPTY",
    ):
        return abs(int(x) - int(y)) <= 1 and idx >= 4
    return False
