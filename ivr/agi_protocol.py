"""AGI wire format: argument quoting, command lines and reply parsing.

Shared by the FastAGI server and the classic (stdin/stdout) adapter so both
quote and parse identically. Asterisk's `parse_args` (res_agi.c) understands
only double quotes and backslash escapes and ends a command at the newline, so
quoting every argument and removing CR/LF/NUL is enough to stop a caller-supplied
value (caller ID name, DTMF, a percent-decoded IVR choice) from smuggling in a
second command or extra arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from servicedesk.values import is_ascii_digits

# res_agi reads commands into a 2048-byte buffer; longer lines are cut there.
MAX_COMMAND_BYTES = 2000

# Commands Asterisk still runs on a hung-up ("dead") channel; every other
# command gets `511 Command Not Permitted on a dead channel`.
DEAD_OK_VERBS = frozenset(
    {
        "EXEC",
        "GET VARIABLE",
        "GET FULL VARIABLE",
        "SET VARIABLE",
        "VERBOSE",
        "NOOP",
        "DATABASE GET",
        "DATABASE PUT",
        "DATABASE DEL",
        "DATABASE DELTREE",
        "ASYNCAGI BREAK",
    }
)

_VERB = re.compile(r"^[A-Z]+( [A-Z]+)*$")


class AgiError(Exception):
    """Base for AGI conversation failures."""


class ChannelHungUp(AgiError):  # noqa: N818 - reads as an event, not an error
    """The caller is gone: stop the flow (only dead-channel-safe commands still work)."""


class AgiTimeout(AgiError):
    """No reply within the per-command timeout; the conversation can no longer be paired."""


class AgiCommandError(AgiError):
    """510/520: our command was wrong (a bug on our side, never caller input)."""

    def __init__(self, reply: AgiReply) -> None:
        super().__init__(reply.text)
        self.reply = reply


class AgiConnectionLost(AgiError):
    """The socket closed while a reply was awaited."""


# Most arguments (sound names, digits, variable names, percent-encoded values) have
# none of `\\ " CR LF NUL` and take quote()'s fast path (substring tests, no regex).
_CHECKED_VERBS: set[str] = set()
_CACHE_MAX = 4096  # command lines built from our own constants (prompts, digits, timeouts)
_LINE_CACHE: dict[tuple[object, ...], str] = {}


def quote(value: object) -> str:
    """One AGI argument: double-quoted, `\\` and `"` escaped, CR/LF/NUL removed."""
    text = value if type(value) is str else str(value)
    if not ('"' in text or "\\" in text or "\n" in text or "\r" in text or "\x00" in text):
        return f'"{text}"'
    if "\r" in text or "\n" in text or "\x00" in text:
        text = text.replace("\r", "").replace("\n", "").replace("\x00", "")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command_line(verb: str, *args: object) -> str:
    """`VERB "arg1" "arg2"\\n`; the verb is ours (checked), the arguments are quoted."""
    if verb not in _CHECKED_VERBS:
        if not _VERB.match(verb):
            raise ValueError(f"not an AGI verb: {verb!r}")
        _CHECKED_VERBS.add(verb)
    line = verb + "".join([" " + quote(a) for a in args]) + "\n"
    # UTF-8 needs at most 4 bytes a character: only long lines need encoding to check.
    if len(line) * 4 > MAX_COMMAND_BYTES and len(line.encode("utf-8")) > MAX_COMMAND_BYTES:
        raise ValueError(f"AGI command longer than {MAX_COMMAND_BYTES} bytes: {verb}")
    return line


def constant_line(verb: str, *args: object) -> str:
    """`command_line` for arguments from our own code (sound names, digits, timeouts),
    remembered: the standard path sends the same few lines on every call. Never use
    it for caller-supplied values (they would fill the cache)."""
    key = (verb, *args)
    line = _LINE_CACHE.get(key)
    if line is None:
        line = command_line(verb, *args)
        if len(_LINE_CACHE) < _CACHE_MAX:
            _LINE_CACHE[key] = line
    return line


@dataclass(slots=True)
class AgiReply:
    """One reply: `code` 200/510/511/520; for 200 the `result` token, `(data)` and `endpos`."""

    code: int
    result: str = ""
    data: str = ""
    endpos: int | None = None
    text: str = ""
    usage: tuple[str, ...] = ()

    @property
    def timed_out(self) -> bool:
        return self.data == "timeout"

    def result_int(self, default: int = 0) -> int:
        try:
            return int(self.result)
        except ValueError:
            return default


def parse_result_line(line: str) -> AgiReply | None:
    """Parse a complete single-line reply; None for anything that is not one (garbage)."""
    if line.startswith("200 result="):
        rest = line[11:]
        if " " not in rest:  # the common case: `200 result=N`
            return AgiReply(200, rest, "", None, line)
        token, _, tail = rest.partition(" ")
        endpos = None
        cut = tail.rfind("endpos=")
        if cut >= 0 and (cut == 0 or tail[cut - 1] == " "):
            num = tail[cut + 7 :]
            if is_ascii_digits(num) or (num[:1] == "-" and is_ascii_digits(num[1:])):
                endpos = int(num)
                tail = tail[:cut].rstrip(" ")
        data = tail[1:-1] if tail.startswith("(") and tail.endswith(")") else tail
        return AgiReply(200, token, data, endpos, line)
    if len(line) < 3 or not is_ascii_digits(line[:3]) or (len(line) > 3 and line[3] != " "):
        return None
    code = int(line[:3])
    if code == 200:
        return None  # `200` without `result=` is not a reply
    return AgiReply(code=code, text=line)


class ReplyAssembler:
    """Turns the lines Asterisk sends into replies and hang-up notices.

    `feed(line)` returns an AgiReply when one is complete, the string "HANGUP"
    for an inline hang-up notice, or None (a usage text line, or garbage that is
    dropped and counted so it can never be paired with a command).
    """

    __slots__ = ("_usage", "garbage")

    def __init__(self) -> None:
        self._usage: list[str] | None = None
        self.garbage = 0

    @property
    def idle(self) -> bool:
        """No multi-line 520 usage text is being collected."""
        return self._usage is None

    def feed(self, line: str) -> AgiReply | str | None:
        if self._usage is not None:
            if line.startswith("520 "):
                usage = self._usage
                self._usage = None
                return AgiReply(code=520, text="\n".join([*usage, line]), usage=tuple(usage[1:]))
            self._usage.append(line)
            if len(self._usage) > 200:  # a 520 that never ends: give up on it
                self._usage = None
                self.garbage += 1
            return None
        if line == "HANGUP":
            return "HANGUP"
        if line.startswith("520-"):
            self._usage = [line]
            return None
        reply = parse_result_line(line)
        if reply is None:
            self.garbage += 1
        return reply
