"""Supervision audit: every listen, whisper or barge is recorded, whoever starts it.

The wallboard's request is recorded when made (`requested`); Asterisk's ChanSpyStart
and ChanSpyStop (read by the dialer) record `started` and `stopped` for both the
wallboard's calls and codes dialled on a supervisor phone, so a use that bypasses
the panel is audited too. The mode comes from the feature code the supervisor
phone ran (221 listen, 222 whisper, 223 barge).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from servicedesk.calling_models import SPY_MODES, SupervisionEvent

CODE_MODES = {"221": "listen", "222": "whisper", "223": "barge"}
MODE_CODES = {mode: code for code, mode in CODE_MODES.items()}
assert set(MODE_CODES) == set(SPY_MODES)


def mode_of_exten(exten: str) -> str | None:
    return CODE_MODES.get(exten[:3]) if len(exten) > 3 else None


def endpoint_of_channel(channel: str) -> str:
    """`PJSIP/1001-0000002a` → `1001`."""
    rest = channel.split("/", 1)[-1]
    return rest.rsplit("-", 1)[0] if "-" in rest else rest


def record(
    session: Session,
    *,
    kind: str,
    mode: str,
    actor: str,
    source: str,
    at: datetime,
    agent_login: str | None = None,
    spyer_channel: str = "",
    spyee_channel: str = "",
    request_id: str | None = None,
) -> SupervisionEvent:
    row = SupervisionEvent(
        kind=kind,
        mode=mode,
        actor=actor[:64],
        source=source,
        at=at,
        agent_login=agent_login,
        spyer_channel=spyer_channel[:120],
        spyee_channel=spyee_channel[:120],
        request_id=request_id,
    )
    session.add(row)
    session.flush()
    return row
