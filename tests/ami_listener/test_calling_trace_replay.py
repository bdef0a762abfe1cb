"""The listener on the calling features' real traces: the spied-on queue call agrees with
queue_log call by call, and every root channel (the originated agent legs, the supervisor's
phone) yields exactly one finished record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from servicedesk.config import CentralitaConfig
from tests.ami_listener.test_trace_replay import check_against_queue_log, replay

TRACES = Path(__file__).parents[1] / "data" / "asterisk-traces"


@pytest.mark.parametrize("scenario", ["calling_chanspy_whisper", "calling_originate"])
async def test_calling_traces_replay(
    scenario: str,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    trace = TRACES / scenario
    calls, _service = await replay(trace, example_config, session_factory, redis_url)
    if (trace / "queue_log").read_text().count("ENTERQUEUE"):
        check_against_queue_log(trace, calls)
    roots = set()
    for line in (trace / "ami.jsonl").read_text().splitlines():
        msg = json.loads(line)
        if msg.get("Event") == "Newchannel" and msg["Uniqueid"] == msg["Linkedid"]:
            roots.add(msg["Linkedid"])
    assert {c.linkedid for c in calls.values()} == roots
    assert all(c.ended_at is not None and c.outcome for c in calls.values())
