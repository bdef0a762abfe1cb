"""Outbound calls in the call records: the calling_originate recording replayed into the
listener gives the originated call with CENTRALITA_OUTBOUND its outbound outcome (the
customer answered), the originate without it stays `ivr_only`; the migration allows the
new outcomes on both engines and maps them back on downgrade."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from servicedesk import migrate
from servicedesk.config import CentralitaConfig
from servicedesk.db import make_engine
from servicedesk.models import Call
from tests.ami_listener.test_trace_replay import replay

TRACE = Path(__file__).parents[1] / "data" / "asterisk-traces" / "calling_originate"


async def test_originated_calls_are_outbound(
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    calls, _service = await replay(TRACE, example_config, session_factory, redis_url)
    roots = [
        json.loads(line)
        for line in (TRACE / "ami.jsonl").read_text().splitlines()
        if '"Newchannel"' in line
    ]
    first, second = [m["Uniqueid"] for m in roots if m["Uniqueid"] == m["Linkedid"]]
    assert calls[first].outcome == "outbound_answered"  # Variable CENTRALITA_OUTBOUND=req42
    assert calls[first].queue is None and calls[first].entered_queue_at is None
    assert calls[second].outcome == "ivr_only"  # originated without it (not the dialer's)


def _insert(engine: object, outcome: str) -> None:
    now = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
    lid = f"l-{outcome}"
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(
            Call.__table__.insert(),
            {
                "pbx_id": "p",
                "linkedid": lid,
                "uniqueid": lid,
                "started_at": now,
                "outcome": outcome,
            },
        )


def test_migration_allows_outbound_outcomes(db_url: str) -> None:
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        _insert(engine, "outbound_answered")
        _insert(engine, "outbound_no_answer")
        with pytest.raises(IntegrityError):
            _insert(engine, "outbound_maybe")
    finally:
        engine.dispose()
    migrate.downgrade(db_url, "calling_features")
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            outcomes = set(conn.execute(text("SELECT outcome FROM call")).scalars())
        assert outcomes == {"ivr_only"}
        with pytest.raises(IntegrityError):
            _insert(engine, "outbound_answered")
    finally:
        engine.dispose()
    migrate.upgrade(db_url)
