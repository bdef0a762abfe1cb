"""The dialer follows an originated call from the real calling_originate recording:
OriginateResponse (by ActionID), the customer's DialEnd and the Hangup, in order."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.dialer import Dialer
from servicedesk.bus import Bus
from servicedesk.calling_models import OutboundCall
from servicedesk.config import CentralitaConfig
from servicedesk.db import session_scope

TRACE = Path(__file__).parents[1] / "data" / "asterisk-traces" / "calling_originate"


async def test_dialer_statuses_from_the_recording(
    example_config: CentralitaConfig, session_factory: sessionmaker[Session], redis_url: str
) -> None:
    now = datetime.now(UTC)
    with session_scope(session_factory) as s:
        for rid in ("ok", "nobody"):
            s.add(
                OutboundCall(
                    request_id=rid,
                    purpose="click_to_call",
                    agent_login="1001",
                    requested_by="ana",
                    number="+525512345678",
                    number_kind="national",
                    status="agent_ringing",
                    requested_at=now,
                )
            )
    bus = Bus(redis.Redis.from_url(redis_url, decode_responses=True))
    dialer = Dialer(example_config, session_factory, bus, "unused")
    writer = asyncio.create_task(dialer._writer())
    dialer.by_action = {"rec-2": "ok", "rec-3": "nobody"}
    for line in (TRACE / "ami.jsonl").open(encoding="utf-8"):
        msg = json.loads(line)
        if "Event" in msg:
            dialer._on_event(msg)
    await dialer._writes.join()
    writer.cancel()
    with session_scope(session_factory) as s:
        rows = {r.request_id: r for r in s.scalars(select(OutboundCall))}
        ok, nobody = rows["ok"], rows["nobody"]
        assert (ok.status, ok.uniqueid) == ("ended", "1796418579.0")
        assert ok.agent_answered_at is not None and ok.answered_at is not None
        assert ok.answered_at > ok.agent_answered_at and ok.ended_at is not None
        assert (nobody.status, nobody.uniqueid) == ("agent_unreachable", None)
        assert nobody.reason == "agent phone: reason 3"
    assert dialer.busy_logins() == set()
