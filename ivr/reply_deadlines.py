"""How long the FastAGI server waits for each AGI reply: what Asterisk really takes.

Asterisk answers GET VARIABLE or SET VARIABLE at once, but STREAM FILE, GET DATA,
GET OPTION, SAY * and WAIT FOR DIGIT only when the sound has played to its end
(plus, for input commands, the digit timeouts). One deadline for all commands
either cut prompts off (a 16 s main menu against a 10 s deadline: every call ended
"no AGI reply in time") or let a stuck GET VARIABLE hang for a minute. So:

* a media command waits for its prompt's length (``asterisk_conf.prompt_lengths``:
  the longest language's copy, since Asterisk picks it by CHANNEL(language)), plus
  the digit timeouts Asterisk may spend after it (GET DATA: one per digit), plus
  ``media_margin`` (recordings by a voice talent run longer than the rendered ones);
* a media command whose length cannot be known (an uncatalogued sound, RECORD FILE,
  EXEC of an application, WAIT FOR DIGIT -1) has no deadline of its own: the
  session limit and Asterisk's hang-up notice still end it;
* every other command gets ``command_timeout``.

``time_scale`` divides every deadline: a test against pbxsim paced at ×N sees the
same deadlines, in simulated seconds, as a real PBX would.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from asterisk_conf.prompt_lengths import DIGIT_SECONDS

_MISS = object()
_CACHE_MAX = 4096
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
# Verbs whose reply comes only when something has been played or waited for.
MEDIA_VERBS: tuple[str, ...] = (
    "STREAM FILE",
    "CONTROL STREAM FILE",
    "GET DATA",
    "GET OPTION",
    "WAIT FOR DIGIT",
    "SAY ALPHA",
    "SAY DIGITS",
    "SAY NUMBER",
    "SAY PHONETIC",
    "SAY DATE",
    "SAY TIME",
    "SAY DATETIME",
    "RECORD FILE",
    "EXEC",
    "SPEECH RECOGNIZE",
)
_MEDIA_PREFIXES = tuple(v + " " for v in MEDIA_VERBS)
DEFAULT_DIGIT_TIMEOUT_S = 6.0  # Asterisk's response timeout when GET DATA names none


def _args(text: str) -> list[str]:
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in _ARG.finditer(text)]


def _int(text: str, default: int) -> int:
    t = text.strip()
    if t.isascii() and (t.isdigit() or (t[:1] == "-" and t[1:].isdigit())):
        return int(t)
    return default


class ReplyDeadlines:
    """`seconds(line)`: how long to wait for the reply to one command line (None: no limit)."""

    def __init__(
        self,
        command_timeout: float,
        *,
        media_margin: float = 15.0,
        lengths: Mapping[str, float] | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self.scale = 1.0 / time_scale
        self.command_s = command_timeout * self.scale
        self.margin = media_margin
        self.lengths = dict(lengths or {})
        self._cache: dict[str, float | None] = {}

    def seconds(self, line: str) -> float | None:
        if line.startswith("SET "):  # SET VARIABLE (half of every call's commands), SET MUSIC...
            return self.command_s
        hit = self._cache.get(line, _MISS)
        if hit is not _MISS:
            return hit  # type: ignore[return-value]
        if not line.startswith(_MEDIA_PREFIXES):
            return self.command_s
        verb = next(v for v in MEDIA_VERBS if line.startswith(v + " "))
        wait = self.media_seconds(verb, _args(line[len(verb) :]))
        value = None if wait is None else wait * self.scale
        if len(self._cache) < _CACHE_MAX:  # our media lines are a few constants
            self._cache[line] = value
        return value

    def prompt_seconds(self, name: str) -> float | None:
        return self.lengths.get(name)

    def media_seconds(self, verb: str, args: list[str]) -> float | None:
        """Unscaled seconds Asterisk may take to answer a media command, margin included."""
        arg = args + [""] * 3
        if verb in ("STREAM FILE", "CONTROL STREAM FILE"):
            played = self.prompt_seconds(arg[0])
        elif verb == "GET DATA":
            prompt = self.prompt_seconds(arg[0])
            timeout_ms = _int(arg[1], 0)
            max_digits = _int(arg[2], 0)
            if prompt is None or max_digits <= 0:
                return None  # no bound on the digits (Asterisk's default is 1024)
            per_digit = timeout_ms / 1000 if timeout_ms > 0 else DEFAULT_DIGIT_TIMEOUT_S
            played = prompt + max_digits * per_digit
        elif verb == "GET OPTION":
            prompt = self.prompt_seconds(arg[0])
            timeout_ms = _int(arg[2], 0)
            per_digit = timeout_ms / 1000 if timeout_ms > 0 else DEFAULT_DIGIT_TIMEOUT_S
            played = None if prompt is None else prompt + per_digit
        elif verb == "WAIT FOR DIGIT":
            timeout_ms = _int(arg[0], -1)
            played = None if timeout_ms < 0 else timeout_ms / 1000
        elif verb.startswith("SAY "):
            # digits, letters and numbers are a word or two per character; dates a dozen words
            words = 12 if verb in ("SAY DATE", "SAY TIME", "SAY DATETIME") else 2 * len(arg[0])
            played = (words + 1) * DIGIT_SECONDS
        else:
            played = None  # RECORD FILE, EXEC, SPEECH: as long as the caller or the app takes
        return None if played is None else played + self.margin
