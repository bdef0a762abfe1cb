"""A mid-morning desk written straight into the listener's Redis contract and the database:
queue counters and waits, agents in every state, today's calls and open incidents."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from cti_panel.wallboard import today
from cti_panel.wallboard_chart import day_start
from servicedesk.db import make_engine, make_sessionmaker, session_scope
from servicedesk.models import Call
from tests.panel.conftest import Panel

# queue -> offered, answered, within SL, abandoned, short, hold total, waiting, longest wait (s), free
QUEUES = {
    "general_es": (64, 58, 52, 5, 2, 580, 2, 12, 2),
    "general_en": (9, 9, 9, 0, 0, 40, 0, 0, 1),
    "network_es": (31, 26, 17, 4, 1, 520, 3, 21, 0),  # a caller past the 20 s target: red
    "network_en": (5, 5, 5, 0, 0, 30, 0, 0, 1),
    "email_es": (18, 17, 16, 1, 1, 120, 1, 4, 1),
    "email_en": (2, 2, 2, 0, 0, 9, 0, 0, 1),
    "erp_es": (22, 19, 14, 2, 0, 300, 1, 16, 1),  # 16 s of 20 s: amber
    "hardware_es": (14, 14, 13, 0, 0, 110, 0, 0, 2),
    "hardware_en": (1, 1, 1, 0, 0, 5, 0, 0, 1),
}
AGENTS = [  # login, name, state, pause reason, seconds in state, queues
    ("1001", "Ana Torres", "oncall", "", 184, ["general_es", "network_es"]),
    ("1002", "Bruno Salgado", "available", "", 35, ["general_es", "general_en"]),
    ("1003", "Carla Méndez", "paused", "lunch", 1260, ["general_es", "email_es"]),
    ("1004", "Diego Ramírez", "oncall", "", 402, ["network_es", "network_en"]),
    ("1005", "Elena Castillo", "wrapup", "", 6, ["erp_es"]),
    ("1006", "Fernando Ibarra", "ringing", "", 3, ["hardware_es", "hardware_en"]),
    ("1007", "Gabriela Núñez", "available", "", 12, ["email_es", "email_en"]),
    ("1008", "Héctor Villalobos", "oncall", "", 95, ["general_es"]),
    ("1009", "Isabel Cordero", "paused", "training", 2400, ["general_es", "erp_es"]),
    ("1010", "Jorge Lozano", "available", "", 270, ["general_en", "network_en"]),
    ("1011", "Karla Espinoza", "oncall", "", 33, ["network_es"]),
    ("1012", "Luis Arriaga", "paused", "break", 420, ["hardware_es"]),
    ("1013", "María Fernanda Solís", "oncall", "", 611, ["email_es"]),
    ("1014", "Norma Quintero", "available", "", 64, ["erp_es", "general_es"]),
    ("1015", "Óscar Treviño", "logged_out", "", 9000, []),
    ("1016", "Pablo Vázquez", "oncall", "", 58, ["erp_es"]),
    ("1017", "Regina Aguilar", "oncall", "", 141, ["general_es", "general_en"]),
    ("1018", "Santiago Medina", "available", "", 9, ["network_es"]),
    ("1019", "Teresa Cruz", "oncall", "", 233, ["hardware_es", "email_es"]),
    ("1020", "Ulises Salazar", "wrapup", "", 4, ["general_es"]),
    ("1021", "Valeria Ochoa", "oncall", "", 77, ["email_es"]),
]


def seed_live(panel: Panel, now: datetime | None = None) -> None:
    bus = panel.bus
    now = now or datetime.now(UTC)
    day = today(panel.cfg, now)
    pipe = bus.r.pipeline()
    for q, (off, ans, within, ab, short, hold, waiting, longest, free) in QUEUES.items():
        pipe.hset(
            bus.keys.counters(day, q),
            mapping={
                "offered": off,
                "answered": ans,
                "answered_within_sl": within,
                "abandoned": ab,
                "short_abandoned": short,
                "hold_total_s": hold,
                "talk_total_s": ans * 240,
                "talk_count": ans,
            },
        )
        pipe.hset(
            bus.keys.queue_state(q),
            mapping={
                "waiting": waiting,
                "longest_wait_since": f"{now.timestamp() - longest:.3f}" if waiting else "",
                "available_agents": free,
                "logged_in": free + 2,
            },
        )
    for login, name, st, reason, secs, queues in AGENTS:
        pipe.hset(
            bus.keys.agent_state(login),
            mapping={
                "login": login,
                "name": name,
                "state": st,
                "pause_reason": reason,
                "since": (now - timedelta(seconds=secs)).isoformat(),
                "queues": json.dumps(dict.fromkeys(queues, 0)),
            },
        )
        pipe.sadd(bus.keys.agents, login)
    pipe.execute()


def seed_history(panel: Panel, now: datetime | None = None, hours: float = 3.0) -> int:
    """Answered and abandoned calls over the last `hours` of today (for the chart)."""
    now = now or datetime.now(UTC)
    start = max(day_start(panel.cfg, now).astimezone(UTC), now - timedelta(hours=hours))
    rng = random.Random(7)
    engine = make_engine(panel.db_url)
    n = 0
    with session_scope(make_sessionmaker(engine)) as s:
        t = start
        while t < now - timedelta(seconds=60):
            n += 1
            hold = int(rng.expovariate(1 / 12))
            outcome = "abandoned" if rng.random() < 0.06 else "answered"
            s.add(
                Call(
                    pbx_id="pbx1",
                    linkedid=f"hist{n}",
                    uniqueid=f"hist{n}",
                    queue=rng.choice(list(QUEUES)),
                    started_at=t - timedelta(seconds=40),
                    entered_queue_at=t,
                    hold_seconds=hold,
                    talk_seconds=rng.randint(90, 600) if outcome == "answered" else None,
                    outcome=outcome,
                )
            )
            t += timedelta(seconds=rng.expovariate(1 / 50))
    engine.dispose()
    return n
