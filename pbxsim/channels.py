"""Channels and the header blocks Asterisk puts on every channel event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pbxsim.types import Headers

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
CAUSE_TXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "No user responding",
    21: "Call Rejected",
    26: "Answered elsewhere",
}


def ami_escape(value: str) -> str:
    """ast_escape_c as used for CallerIDName on channel snapshots."""
    out = []
    for ch in value:
        if ch in "\\'\"?":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    return "".join(out)


def sip_display(name: str) -> str:
    """What PJSIP keeps from a quoted SIP display name: inner quotes stay backslash-escaped."""
    return name.replace("\\", "\\\\").replace('"', '\\"')


@dataclass(eq=False)
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    endpoint: str
    caller_num: str
    caller_name: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    connected_num: str = ""
    connected_name: str = ""
    language: str = "en"
    accountcode: str = ""
    vars: dict[str, str] = field(default_factory=dict)
    created: float = 0.0
    answered_at: float | None = None
    hangup_requested: bool = False
    gone: bool = False
    cause: int = 16
    app: str = ""
    appdata: str = ""
    dnid: str = ""  # the number dialled (PJSIP inbound); Local channels have none
    cdr: dict[str, Any] | None = None  # the caller's CDR segment this dialled leg belongs to
    userfield: str = ""  # CDR(userfield)
    sip_headers: dict[str, str] = field(default_factory=dict)  # of the INVITE (PJSIP_HEADER)

    @property
    def tech(self) -> str:
        return self.name.split("/", 1)[0]

    def headers(self, channelvars: tuple[str, ...], prefix: str = "") -> Headers:
        p = prefix
        cl_num = self.connected_num or "<unknown>"
        cl_name = self.connected_name or "<unknown>"
        h: Headers = [
            (p + "Channel", self.name),
            (p + "ChannelState", str(self.state)),
            (p + "ChannelStateDesc", STATE_DESC.get(self.state, "Unknown")),
            (p + "CallerIDNum", self.caller_num or "<unknown>"),
            (p + "CallerIDName", ami_escape(self.caller_name) if self.caller_name else "<unknown>"),
            (p + "ConnectedLineNum", cl_num),
            (p + "ConnectedLineName", ami_escape(cl_name) if self.connected_name else cl_name),
            (p + "Language", self.language),
            (p + "AccountCode", self.accountcode),
            (p + "Context", self.context),
            (p + "Exten", self.exten),
            (p + "Priority", str(self.priority)),
            (p + "Uniqueid", self.uniqueid),
            (p + "Linkedid", self.linkedid),
        ]
        for var in channelvars:
            h.append((p + "ChanVariable", f"{var}={self.vars.get(var, '')}"))
        return h
