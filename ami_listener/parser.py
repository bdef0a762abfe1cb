"""Lean incremental AMI parser working on bytes.

Why not panoramisk's: it decodes every TCP read with errors='ignore' (a
multibyte character split across reads is silently lost: `José` → `Jos`), and
builds a case-insensitive dict per message (~33k msg/s). Here frames are split
on the raw bytes `\\r\\n\\r\\n` first and decoded only once complete, so a UTF-8
sequence can never be cut (continuation bytes are >= 0x80 and never part of
the separator); undecodable bytes become U+FFFD instead of vanishing.

Events the listener never uses are recognised from their first line and skipped
without being split into headers (`wanted` filter); this is what the event mask
and manager filters do server-side, repeated here because a server may ignore
them (and recorded traces contain everything).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

AmiMessage = dict[str, "str | list[str]"]

GREETING_PREFIX = b"Asterisk Call Manager/"
SEP = b"\r\n\r\n"

# Channel variables the call state machine reads from VarSet.
WANTED_VARIABLES = frozenset(
    {
        "QUEUESTATUS",
        "IVR_LANG",
        "QUEUE_PRIO",
        "CENTRALITA_ACTION",
        "CENTRALITA_QUEUE",
        "CENTRALITA_CONTACT",
        "CENTRALITA_INCIDENT",
        "CENTRALITA_CATEGORY",
        "CENTRALITA_PRIORITY",
        "CENTRALITA_VIP",
        "CENTRALITA_LINE",
        "CENTRALITA_IVR",
        "CENTRALITA_RULE",
    }
)

# Events the listener acts on. Everything else is counted and dropped unparsed.
WANTED_EVENTS = frozenset(
    {
        "Newchannel",
        "Hangup",
        "HangupRequest",
        "VarSet",
        "DialEnd",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
        "AgentCalled",
        "AgentRingNoAnswer",
        "AgentConnect",
        "AgentComplete",
        "AgentDump",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "QueueMemberPause",
        "QueueMemberPenalty",
        "QueueParams",
        "QueueMember",
        "QueueEntry",
        "QueueStatusComplete",
        "QueueSummary",
        "QueueSummaryComplete",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
        "FullyBooted",
        "Shutdown",
    }
)


def parse_frame(text: str) -> AmiMessage:
    """One message's `Key: Value` lines → dict; a repeated key becomes a list."""
    msg: AmiMessage = {}
    for line in text.split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            key, sep, value = line.partition(":")
            if not sep:
                continue  # body line of a `Response: Follows`; not used by the listener
            value = value.strip()
        old = msg.get(key)
        if old is None:
            msg[key] = value
        elif isinstance(old, list):
            old.append(value)
        else:
            msg[key] = [old, value]
    return msg


def header_list(msg: AmiMessage, key: str) -> list[str]:
    """A header that may repeat (ChanVariable) as a list, whatever its count."""
    value = msg.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def header(msg: AmiMessage, key: str, default: str = "") -> str:
    value = msg.get(key)
    if value is None:
        return default
    return value[0] if isinstance(value, list) else value


class AmiParser:
    """Feed raw bytes in any chunking; get complete messages out, in order."""

    def __init__(
        self,
        wanted_events: Iterable[str] | None = WANTED_EVENTS,
        wanted_variables: Iterable[str] | None = WANTED_VARIABLES,
    ) -> None:
        self._buf = b""
        self.greeting: str | None = None
        self.skipped = 0  # events recognised and dropped unparsed
        self.frames = 0  # every complete message seen, parsed or not
        self._wanted = (
            None if wanted_events is None else {f"Event: {e}".encode() for e in wanted_events}
        )
        self._wanted_vars = (
            None
            if wanted_variables is None
            else {f"Variable: {v}".encode() for v in wanted_variables}
        )

    def reset(self) -> None:
        """A new connection starts with a greeting and an empty buffer."""
        self._buf = b""
        self.greeting = None

    def feed(self, data: bytes) -> list[AmiMessage]:
        buf = self._buf + data if self._buf else data
        if self.greeting is None:
            if len(buf) < len(GREETING_PREFIX) and GREETING_PREFIX.startswith(buf):
                self._buf = buf
                return []
            if buf.startswith(GREETING_PREFIX):
                end = buf.find(b"\r\n")
                if end < 0:
                    self._buf = buf
                    return []
                self.greeting = buf[len(GREETING_PREFIX) : end].decode("utf-8", "replace")
                buf = buf[end + 2 :]
            else:
                self.greeting = ""
        if SEP not in buf:
            self._buf = buf
            return []
        frames = buf.split(SEP)
        self._buf = frames.pop()
        out: list[AmiMessage] = []
        wanted = self._wanted
        wanted_vars = self._wanted_vars
        for frame in frames:
            frame = frame.strip(b"\r\n")
            if not frame:
                continue
            self.frames += 1
            if wanted is not None and frame.startswith(b"Event: "):
                nl = frame.find(b"\r\n")
                first = frame if nl < 0 else frame[:nl]
                if first not in wanted:
                    self.skipped += 1
                    continue
                if wanted_vars is not None and first == b"Event: VarSet":
                    at = frame.find(b"\r\nVariable: ")
                    if at >= 0:
                        end = frame.find(b"\r\n", at + 2)
                        var = frame[at + 2 : end if end >= 0 else len(frame)]
                        if var not in wanted_vars:
                            self.skipped += 1
                            continue
            out.append(parse_frame(frame.decode("utf-8", "replace")))
        return out


def unescape_ami(value: str) -> str:
    """Undo AMI's backslash escaping of caller names (`O\\'Brien` → `O'Brien`).

    Asterisk escapes `\\`, `"` and `'` with a backslash in channel events; one
    level is removed. A name sent in SIP as `"Zoë \\"Z\\" Adams"` arrives as
    `Zoë \\\\\\"Z\\\\\\" Adams` and becomes `Zoë \\"Z\\" Adams` — the SIP-level
    backslashes PJSIP kept stay, exactly as CEL's unescaped `CallerIDname` shows.
    """
    if "\\" not in value:
        return value
    out: list[str] = []
    it = iter(value)
    for ch in it:
        if ch == "\\":
            nxt = next(it, None)
            if nxt is None:
                out.append(ch)
            else:
                out.append(nxt)
        else:
            out.append(ch)
    return "".join(out)


MessageSink = Callable[[AmiMessage], None]
