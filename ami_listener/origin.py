"""A caller transferred from another PBX of the desk: the `CENTRALITA_ORIGIN` value.

The receiving box's dialplan (`asterisk_conf.crosspbx`) copies it from a SIP header after
checking it, but it reaches us as an AMI field, so it is parsed again here: ASCII only,
bounded, `<pbx id>/<linkedid>` with a PBX id this desk knows and that is not our own.
Anything else is no origin at all (the call then counts as a new caller call).
"""

from __future__ import annotations

import re
from collections.abc import Collection

ORIGIN_MAX = 100
_ORIGIN = re.compile(r"([A-Za-z0-9_-]{1,32})/([A-Za-z0-9_.-]{1,64})")


def parse_origin(value: str, peers: Collection[str]) -> tuple[str, str] | None:
    """(pbx id, linkedid) of the call this one continues, or None when `value` is not one."""
    if not value or len(value) > ORIGIN_MAX or not value.isascii():
        return None
    m = _ORIGIN.fullmatch(value)
    if m is None or m.group(1) not in peers:
        return None
    return m.group(1), m.group(2)
