"""The inter-PBX trunk of a multi-PBX desk: how the other boxes reach one PBX by SIP.

An agent on one box may blind-transfer a caller to a queue on another box. The call
then leaves by a SIP trunk between the two boxes, carrying `X-Centralita-Call:
<pbx id>/<linkedid>` so the receiving box's listener records the continued leg as
part of the same caller call (see `asterisk_conf.crosspbx`). A PBX with no `trunk`
takes no transfers from the others and offers none to them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# a hostname or an IPv4 address: what pjsip.conf `contact` and `match` accept, and
# nothing that could change .conf syntax
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


class PbxTrunk(BaseModel):
    """The SIP address the other PBXs of the desk send transfers to, and by which they
    recognise calls from this PBX (pjsip `identify` by source address)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = Field(default=5060, ge=1, le=65535)

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        if not v.isascii() or not _HOST.match(v):
            raise ValueError(f"{v!r} is not a host name or IPv4 address")
        return v


def transfer_context(pbx_id: str) -> str:
    """The dialplan context whose extensions (queue names) move a caller to PBX `pbx_id`."""
    return f"centralita-transfer-{pbx_id}"


def transfer_peers(pbxs: Mapping[str, Any], own: str) -> list[str]:
    """The other PBXs `own` exchanges transfers with (`pbxs`: connections.pbxs); both ends
    need a trunk address, as the generated config does."""
    mine = pbxs.get(own)
    if mine is None or mine.trunk is None:
        return []
    return sorted(pid for pid, link in pbxs.items() if pid != own and link.trunk is not None)
