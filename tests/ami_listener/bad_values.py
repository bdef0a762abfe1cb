"""Recorded trace bytes with one bad value planted in a call, and a known-good call after it."""

from __future__ import annotations

import re
from pathlib import Path

BAD_ID = "1795339491.0"  # the caller's Uniqueid/Linkedid in answered_caller_hangup
GOOD_ID = "1795339999.0"
STRAY_ID = "1795330000.9"  # a caller first seen in a QueueStatus QueueEntry
_IDS = re.compile(rb"((?:Uniqueid|Linkedid|DestUniqueid|DestLinkedid): )1795339491\.(\d+)")


def trace_bytes(traces_dir: Path) -> bytes:
    return (traces_dir / "answered_caller_hangup" / "ami.raw").read_bytes()


def renamed(raw: bytes, prefix: bytes = b"1795339999") -> bytes:
    """The same call with other channel ids: a second, independent, good call."""
    return _IDS.sub(rb"\g<1>" + prefix + rb".\2", raw)


def varset(variable: str, value: str, uid: str = BAD_ID) -> bytes:
    return (
        "Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/trunk-00000000\r\n"
        f"Uniqueid: {uid}\r\nLinkedid: {uid}\r\nVariable: {variable}\r\nValue: {value}\r\n\r\n"
    ).encode()


def queue_entry(wait: str, uid: str = STRAY_ID) -> bytes:
    return (
        "Event: QueueEntry\r\nQueue: support\r\nPosition: 1\r\nChannel: PJSIP/trunk-00000000\r\n"
        f"Uniqueid: {uid}\r\nCallerIDNum: 5551001\r\nCallerIDName: Alice Caller\r\n"
        f"Wait: {wait}\r\nPriority: 0\r\n\r\n"
    ).encode()


def with_bad_value(raw: bytes, trigger: str) -> bytes:
    """The trace with `trigger` planted in its call (see TRIGGERS)."""
    join = raw.index(b"Event: QueueCallerJoin")
    if trigger == "hold_30_digits":
        return raw.replace(b"HoldTime: 3\r\n", b"HoldTime: " + b"9" * 30 + b"\r\n")
    if trigger == "talk_28_digits":
        return raw.replace(b"TalkTime: 5\r\n", b"TalkTime: " + b"7" * 28 + b"\r\n")
    if trigger == "position_25_digits":
        return raw.replace(b"Position: 1\r\n", b"Position: " + b"8" * 25 + b"\r\n")
    planted = {
        "contact_27_digits": varset("CENTRALITA_CONTACT", "1" * 27),
        "incident_29_digits": varset("CENTRALITA_INCIDENT", "2" * 29),
        "contact_unknown": varset("CENTRALITA_CONTACT", "424242"),
        "contact_superscript": varset("CENTRALITA_CONTACT", "²"),
        "incident_superscript": varset("CENTRALITA_INCIDENT", "³"),
        "queue_entry_wait_20_digits": queue_entry("9" * 20),
    }[trigger]
    return raw[:join] + planted + raw[join:]


TRIGGERS = (
    "hold_30_digits",
    "talk_28_digits",
    "position_25_digits",
    "contact_27_digits",
    "incident_29_digits",
    "contact_unknown",
    "contact_superscript",
    "incident_superscript",
    "queue_entry_wait_20_digits",
)
