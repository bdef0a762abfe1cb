"""The demo's morning so far: the last hours of finished queue calls, and today's
wallboard counters rebuilt from them, so the board opens on a desk already at work
(a chart with history, service level in the eighties, a few abandons) instead of on
zeros. Only `centralita demo` calls this; benchmarks and tests seed no history.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from servicedesk.config import CentralitaConfig
from servicedesk.models import Call

# share of the traffic per queue, for the queues the configuration has
MIX = {
    "general_es": 34,
    "network_es": 18,
    "email_es": 12,
    "erp_es": 11,
    "hardware_es": 10,
    "general_en": 6,
    "network_en": 4,
    "email_en": 3,
    "hardware_en": 2,
}


def seed_call_history(
    session: Session,
    cfg: CentralitaConfig,
    numbers: list[str],
    now: datetime,
    *,
    hours: float = 3.0,
    per_minute: float = 2.5,  # about 13 erlangs of talk: a 20-agent desk, busy but coping
    seed_value: int = 2026,
) -> list[str]:
    """Finished calls over the last `hours` of the local day; returns the queues touched."""
    from cti_panel.wallboard_chart import day_start

    rng = random.Random(seed_value)
    defs = cfg.queue_definitions()
    mix = {q: w for q, w in MIX.items() if q in defs} or dict.fromkeys(defs, 1)
    queues, weights = list(mix), list(mix.values())
    by_skill: dict[str, list[str]] = {}
    for a in cfg.agents:
        for skill in a.skills:
            by_skill.setdefault(skill, []).append(a.login)
    start = max(day_start(cfg, now), now - timedelta(hours=hours))
    t, n = start, 0
    while True:
        t += timedelta(seconds=rng.expovariate(per_minute / 60))
        q = defs[rng.choices(queues, weights)[0]]
        sl = q.settings.servicelevel
        # most answered well inside the target, some late; a few hang up while waiting
        hold = int(rng.expovariate(1 / (sl * 0.45)))
        abandoned = rng.random() < 0.035
        talk = rng.randint(70, 540)
        end = t + timedelta(seconds=hold + (0 if abandoned else talk))
        if end > now - timedelta(seconds=30):
            if t > now - timedelta(seconds=30):
                break
            continue  # still in progress: the live calls are pbxsim's
        n += 1
        agent = None if abandoned else rng.choice(by_skill.get(q.skill) or [None])
        session.add(
            Call(
                pbx_id=cfg.connections.pbx_id,
                linkedid=f"demo-morning-{n}",
                uniqueid=f"demo-morning-{n}",
                caller_num=rng.choice(numbers) if numbers else None,
                language=q.language,
                queue=q.name,
                started_at=t - timedelta(seconds=rng.randint(15, 40)),
                entered_queue_at=t,
                answered_at=None if abandoned else t + timedelta(seconds=hold),
                ended_at=end,
                hold_seconds=hold,
                talk_seconds=None if abandoned else talk,
                agent_login=agent,
                hung_up_by="caller",
                outcome="abandoned" if abandoned else "answered",
            )
        )
    session.flush()
    return queues


def rebuild_counters(
    session: Session, cfg: CentralitaConfig, redis_url: str, now: datetime
) -> None:
    """Today's live counters from the call records (callstats' definitions, the same
    arithmetic the listener's counters follow), written before the listener starts."""
    from pathlib import Path

    from callstats import aggregate
    from callstats.definitions import figures
    from callstats.records import load_calls
    from cti_panel.wallboard import today
    from cti_panel.wallboard_chart import day_start
    from servicedesk.bus import Bus, connect

    bus = Bus(
        connect(redis_url, embedded_dir=Path(".centralita")), cfg.connections.redis.key_prefix
    )
    day = today(cfg, now)
    rules_for = aggregate.rules_from_config(cfg)
    calls = load_calls(session, day_start(cfg, now), now, pbx_id=cfg.connections.pbx_id)
    pipe = bus.r.pipeline()
    for queue in cfg.queue_definitions():
        mine = [c for c in calls if c.queue == queue]
        if not mine:
            continue
        key = bus.keys.counters(day, queue)
        pipe.delete(key)
        pipe.hset(key, mapping=figures(mine, rules_for(queue)).counters())
        pipe.xadd(bus.keys.wallboard, {"kind": "counters", "day": day, "queue": queue})
    pipe.execute()
    bus.r.close()
