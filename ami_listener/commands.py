"""Queue-membership commands from the panel, validated and turned into AMI actions.

Values are checked strictly before they reach the AMI socket: a CR or LF in
any field would let a caller of the panel inject extra AMI headers or actions.
Free text (member name, pause reason) also ends up in queue_log, whose fields
are separated by `|` and whose lines by any line break a reader may honour
(VT, FF, NEL, U+2028): only printable characters other than `|` are accepted.
Numbers are ASCII digits in range (`str.isdigit()` is true for '²').
"""

from __future__ import annotations

import re
from typing import Any

from servicedesk.values import ascii_int, printable_text

ALLOWED = ("QueueAdd", "QueueRemove", "QueuePause", "QueuePenalty")
_QUEUE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_INTERFACE = re.compile(r"^(PJSIP|SIP|IAX2|Local)/[^\s,|]{1,100}$")
TEXT_MAX = 80


class CommandError(ValueError):
    pass


def _text_ok(value: str) -> bool:
    return printable_text(value, TEXT_MAX, forbidden="|")


def to_action(fields: dict[str, Any]) -> dict[str, str]:
    """The AMI action for one command entry; raises CommandError with a clear reason."""
    action = str(fields.get("action", ""))
    if action not in ALLOWED:
        raise CommandError(f"unknown action {action!r}")
    queue = str(fields.get("queue", ""))
    interface = str(fields.get("interface", ""))
    if not _INTERFACE.fullmatch(interface) or not interface.isprintable():
        raise CommandError(f"bad interface {interface!r}")
    if queue and not _QUEUE.fullmatch(queue):
        raise CommandError(f"bad queue {queue!r}")
    if not queue and action != "QueuePause":
        raise CommandError(f"{action} needs a queue")
    out = {"Action": action, "Interface": interface}
    if queue:
        out["Queue"] = queue
    if action in ("QueueAdd", "QueuePenalty"):
        penalty = str(fields.get("penalty", "0") or "0")
        number = ascii_int(penalty, 0, 99)
        if number is None:
            raise CommandError(f"bad penalty {penalty!r}")
        out["Penalty"] = str(number)
    if action == "QueueAdd":
        name = str(fields.get("member_name", ""))
        if not _text_ok(name):
            raise CommandError("bad member_name")
        if name:
            out["MemberName"] = name
        out["StateInterface"] = interface
        paused = str(fields.get("paused", "false")).lower()
        out["Paused"] = "true" if paused == "true" else "false"
    if action == "QueuePause":
        paused = str(fields.get("paused", "")).lower()
        if paused not in ("true", "false"):
            raise CommandError("paused must be true or false")
        out["Paused"] = paused
        reason = str(fields.get("reason", ""))
        if not _text_ok(reason):
            raise CommandError("bad reason")
        if reason and paused == "true":
            out["Reason"] = reason
    return out
