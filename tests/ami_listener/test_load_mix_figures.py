"""load_mix against the figures Asterisk itself reported, and the wallboard counters.

Where Asterisk's definition differs, the test recomputes Asterisk's figure from
our records with Asterisk's formula:
* `Abandoned` counts every QueueCallerAbandon (timeouts, empty exits too); in
  load_mix all 16 are true abandons, so it equals our `abandoned`.
* `Holdtime`/`TalkTime` are running averages `(3*old + new) / 4` in integers
  (updated at connect / at completion), not means: our mean hold is 651/24 = 27 s
  while Asterisk shows 37.
* `ServicelevelPerf2` counts abandons within the service level as "in SL".
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ami_listener import wallboard
from servicedesk.bus import Bus
from servicedesk.config import CentralitaConfig
from servicedesk.models import Call
from tests.ami_listener.test_trace_replay import replay


def running_average(values: list[int]) -> int:
    avg = 0
    for v in values:
        avg = (avg * 3 + v) // 4
    return avg


async def test_load_mix_equals_asterisk_figures(
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    _calls, service = await replay(
        traces_dir / "load_mix", example_config, session_factory, redis_url
    )
    with session_factory() as s:
        calls = s.scalars(select(Call).where(Call.queue == "support")).all()
        rna = sum(1 for c in calls for r in c.rings if r.result == "noanswer")
    answered = [c for c in calls if c.outcome == "answered"]
    abandoned = [c for c in calls if c.outcome == "abandoned"]
    assert len(calls) == 40
    assert len(answered) == 24  # Completed: 24
    assert len([c for c in answered if c.hung_up_by == "agent"]) == 16  # COMPLETEAGENT
    assert len([c for c in answered if c.hung_up_by == "caller"]) == 8  # COMPLETECALLER
    assert len(abandoned) == 16  # Abandoned: 16 (all true abandons here)
    assert rna == 8  # RINGNOANSWER lines
    in_sl = [c for c in answered if c.hold_seconds <= 20]
    assert round(100 * len(in_sl) / len(answered), 1) == 33.3  # ServicelevelPerf
    abandoned_in_sl = [c for c in abandoned if c.hold_seconds <= 20]
    perf2 = 100 * (len(in_sl) + len(abandoned_in_sl)) / (len(answered) + len(abandoned))
    assert round(perf2, 1) == 42.5  # ServicelevelPerf2
    by_answer = sorted(answered, key=lambda c: c.answered_at)
    assert running_average([c.hold_seconds for c in by_answer]) == 37  # Holdtime
    by_end = sorted(answered, key=lambda c: c.ended_at)
    assert running_average([c.talk_seconds for c in by_end]) == 10  # TalkTime
    # QueueSummary at the end: LoggedIn 3, Available 3, Callers 0
    agents = service.ingest.agents
    agents.tick(service.ingest.calls.last_ts + 60)
    assert agents.queue_figures("support") == (3, 3)
    assert service.ingest.calls.waiting.get("support", {}) == {}

    # the live counters equal a recomputation from the records
    bus = Bus(redis.Redis.from_url(redis_url, decode_responses=True))
    live = wallboard.read(bus, "2026-11-22", "support")
    settings = service.ingest.calls.queue_settings
    with session_factory() as s:
        again = wallboard.recompute(
            s, "pbx-test", "2026-11-22", "support", example_config.service.timezone, settings
        )
    assert live == again
    assert live["offered"] == 40 and live["answered"] == 24 and live["abandoned"] == 16
    assert live["answered_within_sl"] == 8
    assert live["hold_total_s"] == sum(c.hold_seconds for c in answered)
    assert live["longest_hold_s"] == 53
    notices = [f for _i, f in bus.r.xrange(bus.keys.wallboard)]
    assert {"kind": "queue", "queue": "support"} in notices
    assert {"kind": "counters", "day": "2026-11-22", "queue": "support"} in notices
    wallboard.rebuild(bus, "2026-11-22", "support", again)
    assert wallboard.read(bus, "2026-11-22", "support") == live


@pytest.mark.parametrize("scenario", ["exit_timeout", "join_empty_leave_empty", "abandoned"])
async def test_counters_by_cause_agree(
    scenario: str,
    traces_dir: Path,
    example_config: CentralitaConfig,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    """Timeouts and empty exits are not counted as abandons, live or recomputed."""
    _calls, service = await replay(
        traces_dir / scenario, example_config, session_factory, redis_url
    )
    bus = Bus(redis.Redis.from_url(redis_url, decode_responses=True))
    live = wallboard.read(bus, "2026-11-22", "support")
    with session_factory() as s:
        again = wallboard.recompute(
            s,
            "pbx-test",
            "2026-11-22",
            "support",
            example_config.service.timezone,
            service.ingest.calls.queue_settings,
        )
    assert live == again
    expected = {
        "exit_timeout": {"timeout": 1, "abandoned": 0},
        "join_empty_leave_empty": {"exit_empty": 2, "abandoned": 0},
        "abandoned": {"abandoned": 1, "timeout": 0},
    }[scenario]
    assert {k: live[k] for k in expected} == expected
