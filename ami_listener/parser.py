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

import logging
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

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
        "CENTRALITA_HANDOFF",  # the caller left for another PBX (asterisk_conf.crosspbx)
        "CENTRALITA_ORIGIN",  # a caller transferred here from another PBX: <pbx>/<linkedid>
        "CENTRALITA_OUTBOUND",
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


MAX_FRAME = 1 << 20  # 1 MiB: no AMI message the listener uses comes near it


class AmiParser:
    """Feed raw bytes in any chunking; get complete messages out, in order.

    Bounded: a frame longer than `max_frame` (no separator in sight) is dropped
    with a log line and the parser resynchronises at the next `\r\n\r\n`. Each
    byte is searched once (the separator search resumes where the last one
    stopped), so a peer sending megabytes without a separator costs linear time.
    """

    def __init__(
        self,
        wanted_events: Iterable[str] | None = WANTED_EVENTS,
        wanted_variables: Iterable[str] | None = WANTED_VARIABLES,
        max_frame: int = MAX_FRAME,
    ) -> None:
        self._buf = bytearray()
        self.max_frame = max_frame
        self.oversized = 0  # frames dropped for exceeding max_frame
        self._discarding = False  # inside an oversized frame: skip to the next separator
        self._tail = b""  # last bytes seen while discarding (a separator may straddle reads)
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
        self._buf = bytearray()
        self._discarding = False
        self._tail = b""
        self.greeting = None

    def _drop(self, size: int) -> None:
        self.oversized += 1
        log.warning(
            "AMI frame over %d bytes dropped (%d bytes so far); resynchronising at the next "
            "separator",
            self.max_frame,
            size,
        )

    def feed(self, data: bytes) -> list[AmiMessage]:
        if self._discarding:
            probe = self._tail + data
            at = probe.find(SEP)
            if at < 0:
                self._tail = probe[-3:]
                return []
            self._discarding = False
            self._tail = b""
            data = probe[at + len(SEP) :]
        buf = self._buf
        searched = max(0, len(buf) - 3)  # bytes before this are known to hold no separator
        buf += data
        if self.greeting is None:
            if len(buf) < len(GREETING_PREFIX) and GREETING_PREFIX.startswith(buf):
                return []
            if buf.startswith(GREETING_PREFIX):
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > self.max_frame:
                        self.greeting = ""
                        self._overflow()
                    return []
                self.greeting = bytes(buf[len(GREETING_PREFIX) : end]).decode("utf-8", "replace")
                del buf[: end + 2]
                searched = 0
            else:
                self.greeting = ""
        last = buf.rfind(SEP, searched)
        if last < 0:
            if len(buf) > self.max_frame:
                self._overflow()
            return []
        frames = bytes(buf[:last]).split(SEP)
        del buf[: last + len(SEP)]
        if len(buf) > self.max_frame:  # the unfinished frame after the last separator
            self._overflow()
        out: list[AmiMessage] = []
        wanted = self._wanted
        wanted_vars = self._wanted_vars
        for frame in frames:
            frame = frame.strip(b"\r\n")
            if not frame:
                continue
            self.frames += 1
            if len(frame) > self.max_frame:
                self._drop(len(frame))
                continue
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

    def _overflow(self) -> None:
        """The frame being read is over the limit: forget it and skip to its end."""
        self._drop(len(self._buf))
        self._tail = bytes(self._buf[-3:])
        self._buf = bytearray()
        self._discarding = True


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
