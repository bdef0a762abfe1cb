"""Queue-membership commands from the panel, validated and turned into AMI actions.

Values are checked strictly before they reach the AMI socket: a CR or LF in
any field would let a caller of the panel inject extra AMI headers or actions.
"""

from __future__ import annotations

import re
from typing import Any

ALLOWED = ("QueueAdd", "QueueRemove", "QueuePause", "QueuePenalty")
_QUEUE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_INTERFACE = re.compile(r"^(PJSIP|SIP|IAX2|Local)/[^\s,|]{1,100}$")
_TEXT = re.compile(r"^[^\r\n\x00]{0,80}$")


class CommandError(ValueError):
    pass


def to_action(fields: dict[str, Any]) -> dict[str, str]:
    """The AMI action for one command entry; raises CommandError with a clear reason."""
    action = str(fields.get("action", ""))
    if action not in ALLOWED:
        raise CommandError(f"unknown action {action!r}")
    queue = str(fields.get("queue", ""))
    interface = str(fields.get("interface", ""))
    if not _INTERFACE.match(interface):
        raise CommandError(f"bad interface {interface!r}")
    if queue and not _QUEUE.match(queue):
        raise CommandError(f"bad queue {queue!r}")
    if not queue and action != "QueuePause":
        raise CommandError(f"{action} needs a queue")
    out = {"Action": action, "Interface": interface}
    if queue:
        out["Queue"] = queue
    if action in ("QueueAdd", "QueuePenalty"):
        penalty = str(fields.get("penalty", "0") or "0")
        if not penalty.isdigit() or int(penalty) > 99:
            raise CommandError(f"bad penalty {penalty!r}")
        out["Penalty"] = penalty
    if action == "QueueAdd":
        name = str(fields.get("member_name", ""))
        if not _TEXT.match(name):
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
        if not _TEXT.match(reason):
            raise CommandError("bad reason")
        if reason and paused == "true":
            out["Reason"] = reason
    return out
