"""AMI wire format as Asterisk 22's manager.c speaks it: framing, parsing, masks, lists.

Why hand-written: the byte layout (header order, where ActionID goes, which
messages lack Timestamp) is part of what the listener's tests replay, and no
library reproduces Asterisk's quirks (1024-byte lines, 128 headers per message,
`Events: 1` meaning the *system* class). Everything here is pure and
synchronous so the engine can build responses with it too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from pbxsim.types import Headers

GREETING = b"Asterisk Call Manager/11.0.0\r\n"

# manager.c: inbuf is 1025 bytes, so a line (with its CRLF) must fit in 1024.
MAX_LINE_BYTES = 1024
# manager.h AST_MAX_MANHEADERS
MAX_HEADERS = 128

UNKNOWN_COMMAND = (
    "Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."
)

# include/asterisk/manager.h EVENT_FLAG_* and manager.c perms[] (same order:
# authority_to_str walks it to build "Privilege: call,all").
EVENT_FLAGS: tuple[tuple[str, int], ...] = (
    ("system", 1 << 0),
    ("call", 1 << 1),
    ("log", 1 << 2),
    ("verbose", 1 << 3),
    ("command", 1 << 4),
    ("agent", 1 << 5),
    ("user", 1 << 6),
    ("config", 1 << 7),
    ("dtmf", 1 << 8),
    ("reporting", 1 << 9),
    ("cdr", 1 << 10),
    ("dialplan", 1 << 11),
    ("originate", 1 << 12),
    ("agi", 1 << 13),
    ("cc", 1 << 15),
    ("aoc", 1 << 16),
    ("test", 1 << 17),
    ("security", 1 << 18),
    ("message", 1 << 30),
    ("all", 0x7FFFFFFF),
    ("none", 0),
)
FLAG = dict(EVENT_FLAGS)
ALL_EVENTS = 0
for _label, _num in EVENT_FLAGS:
    ALL_EVENTS |= _num

_TRUE = {"yes", "true", "y", "t", "1", "on"}
_FALSE = {"no", "false", "n", "f", "0", "off"}

# Write class each action needs (manager.c / app_queue.c registrations).
# Asterisk grants the action when the user's write mask shares ANY bit with it.
ACTION_AUTHORITY: dict[str, int] = {
    "Ping": 0,
    "Events": 0,
    "Logoff": 0,
    "Login": 0,
    "Challenge": 0,
    "ListCommands": 0,
    "WaitEvent": 0,
    "Hangup": FLAG["system"] | FLAG["call"],
    "Status": FLAG["system"] | FLAG["call"] | FLAG["reporting"],
    "Setvar": FLAG["call"],
    "Getvar": FLAG["call"] | FLAG["reporting"],
    "Redirect": FLAG["call"],
    "Atxfer": FLAG["call"],
    "CancelAtxfer": FLAG["call"],
    "PlayDTMF": FLAG["call"],
    "BlindTransfer": FLAG["call"],
    "Originate": FLAG["originate"],
    "Command": FLAG["command"],
    "UserEvent": FLAG["user"],
    "CoreSettings": FLAG["system"] | FLAG["reporting"],
    "CoreStatus": FLAG["system"] | FLAG["reporting"],
    "CoreShowChannels": FLAG["system"] | FLAG["reporting"],
    "Reload": FLAG["system"] | FLAG["config"],
    "Queues": 0,
    "QueueStatus": 0,
    "QueueSummary": 0,
    "QueueRule": 0,
    "QueueReload": 0,
    "QueueReset": 0,
    "QueueChangePriorityCaller": 0,
    "QueueAdd": FLAG["agent"],
    "QueueRemove": FLAG["agent"],
    "QueuePause": FLAG["agent"],
    "QueuePenalty": FLAG["agent"],
    "QueueLog": FLAG["agent"],
    "QueueMemberRingInUse": FLAG["agent"],
    "Filter": FLAG[
        "system"
    ],  # manager.c: ast_manager_register_xml_core("Filter", EVENT_FLAG_SYSTEM)
}
# Asterisk matches action names case-insensitively; the engine gets the canonical spelling.
CANONICAL_ACTION = {name.lower(): name for name in ACTION_AUTHORITY}


def _instring(bigstr: str, small: str) -> bool:
    """manager.c ast_instring(): every token but the last is a *prefix* match (a quirk kept)."""
    tokens = bigstr.split(",")
    for tok in tokens[:-1]:
        if small.startswith(tok):
            return True
    return small == tokens[-1]


def get_perm(text: str) -> int:
    """manager.conf `read=`/`write=` list → mask (manager.c get_perm)."""
    mask = 0
    for label, num in EVENT_FLAGS:
        if _instring(text, label):
            mask |= num
    return mask


def strings_to_mask(text: str) -> int:
    """An `Events:`/`EventMask:` value → mask; -1 when empty (mask left unchanged).

    Digits are taken as a number first, so `Events: 1` means the system class
    only, exactly as Asterisk does.
    """
    if not text:
        return -1
    if text.isascii() and text.isdigit():
        return int(text) & 0x7FFFFFFF
    low = text.lower()
    if low in _FALSE:
        return 0
    if low in _TRUE:
        return ALL_EVENTS
    return get_perm(text)


def authority_to_str(mask: int) -> str:
    """Mask → `Privilege:` text such as `call,all` (manager.c authority_to_str)."""
    labels = [label for label, num in EVENT_FLAGS[:-1] if mask & num]
    return ",".join(labels) if labels else "<none>"


_category_cache: dict[str, tuple[int, str]] = {}


def category_mask(category: str) -> tuple[int, str]:
    """An event class list ("call", or a Privilege value "call,all") → (mask, Privilege text).

    "all" in a Privilege value is decoration, not a class; a list naming no known
    class gets the `user` class rather than 0, because a 0 mask would reach even
    `Events: off` sessions. Cached: there are only a handful of distinct values.
    """
    hit = _category_cache.get(category)
    if hit is None:
        mask = 0
        for part in category.split(","):
            label = part.strip().lower()
            if label not in ("all", "none"):
                mask |= FLAG.get(label, 0)
        if not mask:
            mask = FLAG["user"]
        hit = (mask, authority_to_str(mask))
        if len(_category_cache) < 1024:
            _category_cache[category] = hit
    return hit


def get_header(headers: Sequence[tuple[str, str]], name: str) -> str:
    """First value of `name` (case-insensitive), "" when absent (astman_get_header)."""
    low = name.lower()
    for key, value in headers:
        if key.lower() == low:
            return value
    return ""


def get_action(headers: Sequence[tuple[str, str]]) -> str:
    """The first non-empty Action value (GET_HEADER_SKIP_EMPTY)."""
    for key, value in headers:
        if value and key.lower() == "action":
            return value
    return ""


def _clean(value: str) -> str:
    # A CR or LF inside a value would end the header (or the message) early.
    if "\r" in value or "\n" in value:
        return value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    return value


def serialize(headers: Iterable[tuple[str, str]]) -> bytes:
    """`Key: Value\\r\\n` lines plus the blank line, UTF-8."""
    text = "".join(f"{k}: {_clean(v)}\r\n" for k, v in headers) + "\r\n"
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def serialize_many(messages: Iterable[Iterable[tuple[str, str]]]) -> bytes:
    return b"".join(serialize(m) for m in messages)


def _with_id(action_id: str | None) -> Headers:
    return [("ActionID", action_id)] if action_id else []


def response(
    action_id: str | None,
    message: str | None = None,
    *,
    status: str = "Success",
    extra: Iterable[tuple[str, str]] = (),
) -> Headers:
    """astman_send_response_full(): Response, ActionID (if any), Message (if any), extra."""
    out: Headers = [("Response", status), *_with_id(action_id)]
    if message is not None:
        out.append(("Message", message))
    out.extend(extra)
    return out


def error(action_id: str | None, message: str) -> Headers:
    """astman_send_error(): `Response: Error` with the exact message text."""
    return response(action_id, message, status="Error")


def event_list(
    action_id: str | None,
    start_message: str,
    items: Iterable[Sequence[tuple[str, str]]],
    complete_event: str,
    extra: Iterable[tuple[str, str]] = (),
    *,
    item_action_id: str = "second",
) -> list[Headers]:
    """A whole EventList reply: the `EventList: start` ack, the items, the `...Complete` event.

    `items` are headers starting with ("Event", name), without ActionID. Asterisk
    puts the item's ActionID second for most lists (CoreShowChannel) but *last* for
    QueueStatus's QueueParams/QueueMember/QueueEntry and QueueSummary; pass
    `item_action_id="last"` for those (as in member_management/ami.raw).
    `extra` headers follow ListItems in the Complete event.
    """
    out: list[Headers] = [
        [
            ("Response", "Success"),
            *_with_id(action_id),
            ("EventList", "start"),
            ("Message", start_message),
        ]
    ]
    count = 0
    for item in items:
        count += 1
        item = list(item)
        if action_id:
            if item_action_id == "last":
                item.append(("ActionID", action_id))
            else:
                item.insert(1, ("ActionID", action_id))
        out.append(item)
    out.append(
        [
            ("Event", complete_event),
            *_with_id(action_id),
            ("EventList", "Complete"),
            ("ListItems", str(count)),
            *extra,
        ]
    )
    return out


def timestamp(t: float) -> str:
    """`Timestamp:` value, `%ld.%06lu` like manager.c."""
    sec = int(t)
    usec = int(round((t - sec) * 1_000_000))
    if usec >= 1_000_000:
        sec, usec = sec + 1, usec - 1_000_000
    return f"{sec}.{usec:06d}"


def event_tv(t: float) -> str:
    """Security events' `EventTV`/`SessionTV`: 2026-11-22T09:27:10.154+0000 (UTC)."""
    ms = int((t - int(t)) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{ms:03d}+0000"


class ParsedMessage:
    """One client message: its headers in order plus what went wrong while reading it."""

    __slots__ = ("headers", "line_too_long", "too_many_lines")

    def __init__(self, headers: Headers, line_too_long: bool, too_many_lines: bool) -> None:
        self.headers = headers
        self.line_too_long = line_too_long
        self.too_many_lines = too_many_lines


class FrameParser:
    """Incremental reader of client messages with Asterisk's limits (bounded memory).

    Lines end in CRLF or a bare LF; an empty line ends a message (an empty line
    with no headers is a message too: Asterisk answers it "Missing action in
    request"). A line longer than `max_line` is discarded up to its end and the
    message is answered with "Failed to parse message: line too long"; more than
    `max_headers` lines make it "Too many lines in message or allocation
    failure". Lines without a colon are kept nowhere (no header can match them).
    Bytes that are not UTF-8 are decoded with U+FFFD so nothing downstream can
    trip on them.
    """

    __slots__ = (
        "_buf",
        "_skipping",
        "_headers",
        "_too_long",
        "_too_many",
        "max_line",
        "max_headers",
        "_lines",
    )

    def __init__(self, max_line: int = MAX_LINE_BYTES, max_headers: int = MAX_HEADERS) -> None:
        self._buf = bytearray()
        self._skipping = False
        self._headers: Headers = []
        self._lines = 0
        self._too_long = False
        self._too_many = False
        self.max_line = max_line
        self.max_headers = max_headers

    def feed(self, data: bytes) -> list[ParsedMessage]:
        out: list[ParsedMessage] = []
        buf = self._buf
        buf += data
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            if self._skipping:
                # the tail of an over-long line: drop it, it is already reported
                self._skipping = False
                start = nl + 1
                continue
            if nl - start >= self.max_line:
                self._too_long = True
                start = nl + 1
                continue
            end = nl - 1 if nl > start and buf[nl - 1] == 13 else nl
            line = bytes(buf[start:end])
            start = nl + 1
            if not line:
                out.append(ParsedMessage(self._headers, self._too_long, self._too_many))
                self._headers = []
                self._lines = 0
                self._too_long = self._too_many = False
                continue
            self._lines += 1
            if self._lines > self.max_headers:
                self._too_many = True
                continue
            text = line.decode("utf-8", "replace")
            key, sep, value = text.partition(":")
            if not sep:
                continue
            # ast_skip_blanks: every byte below 33 before the value is skipped
            i = 0
            while i < len(value) and value[i] <= " ":
                i += 1
            self._headers.append((key, value[i:] if i else value))
        if start:
            del buf[:start]
        if len(buf) >= self.max_line and not self._skipping:
            # no line end within the limit: report once, then discard until LF
            self._too_long = True
            self._skipping = True
            buf.clear()
        elif self._skipping:
            buf.clear()
        return out
