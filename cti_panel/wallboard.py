"""The supervisor wallboard's figures, computed from the listener's live Redis state.

Service level follows each queue's `sl_formula` (Asterisk's three conventions):
answered -> within/answered; offered -> within/offered;
offered_minus_short -> within/(offered - short_abandoned).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicedesk.bus import COUNTER_FIELDS, Bus
from servicedesk.config import CentralitaConfig, QueueDefinition
from servicedesk.models import Incident

OPEN_STATUSES = ("new", "assigned", "in_progress", "escalated")


def service_level(formula: str, c: dict[str, int]) -> float | None:
    within = c.get("answered_within_sl", 0)
    if formula == "offered":
        base = c.get("offered", 0)
    elif formula == "offered_minus_short":
        base = c.get("offered", 0) - c.get("short_abandoned", 0)
    else:
        base = c.get("answered", 0)
    return None if base <= 0 else round(100.0 * within / base, 1)


def _level(value: float | None, warn: float, crit: float, *, higher_is_worse: bool) -> str:
    if value is None:
        return "ok"
    if higher_is_worse:
        return "crit" if value >= crit else "warn" if value >= warn else "ok"
    return "crit" if value < crit else "warn" if value < warn else "ok"


def _int(v: str | None) -> int:
    try:
        return int(float(v)) if v not in (None, "") else 0
    except ValueError:
        return 0


def today(cfg: CentralitaConfig, now: datetime) -> str:
    return now.astimezone(ZoneInfo(cfg.service.timezone)).date().isoformat()


def queue_rows(cfg: CentralitaConfig, bus: Bus, now: datetime) -> list[dict[str, Any]]:
    defs: list[QueueDefinition] = list(cfg.queue_definitions().values())
    day = today(cfg, now)
    pipe = bus.r.pipeline()
    for q in defs:
        pipe.hgetall(bus.keys.queue_state(q.name))
        pipe.hgetall(bus.keys.counters(day, q.name))
    replies = pipe.execute()
    rows = []
    epoch = now.timestamp()
    for i, q in enumerate(defs):
        state, raw = replies[2 * i], replies[2 * i + 1]
        c = {k: _int(raw.get(k)) for k in COUNTER_FIELDS}
        since = state.get("longest_wait_since") or ""
        longest = max(0, int(epoch - float(since))) if since else 0
        waiting = _int(state.get("waiting"))
        sl = service_level(q.settings.sl_formula, c)
        wb = q.settings.wallboard
        answered = c["answered"]
        rows.append(
            {
                "queue": q.name,
                "skill": q.skill,
                "language": q.language,
                "waiting": waiting,
                "longest_wait_s": longest,
                "available_agents": _int(state.get("available_agents")),
                "logged_in": _int(state.get("logged_in")),
                **{k: c[k] for k in ("offered", "answered", "abandoned", "short_abandoned")},
                "service_level": sl,
                "sl_formula": q.settings.sl_formula,
                "servicelevel_s": q.settings.servicelevel,
                "asa_s": round(c["hold_total_s"] / answered, 1) if answered else None,
                "aht_s": round(c["talk_total_s"] / c["talk_count"], 1) if c["talk_count"] else None,
                "levels": {
                    "waiting": _level(
                        waiting, wb.waiting_warn, wb.waiting_crit, higher_is_worse=True
                    ),
                    "longest_wait": _level(
                        longest,
                        wb.longest_wait_warn_s,
                        wb.longest_wait_crit_s,
                        higher_is_worse=True,
                    ),
                    "service_level": _level(
                        sl, wb.sl_warn_percent, wb.sl_crit_percent, higher_is_worse=False
                    ),
                },
                "colors": {"ok": wb.color_ok, "warn": wb.color_warn, "crit": wb.color_crit},
            }
        )
    return rows


def agent_rows(bus: Bus, now: datetime) -> list[dict[str, Any]]:
    logins = sorted(bus.r.smembers(bus.keys.agents))
    pipe = bus.r.pipeline()
    for login in logins:
        pipe.hgetall(bus.keys.agent_state(login))
    rows = []
    for login, st in zip(logins, pipe.execute(), strict=True):
        since = st.get("since") or ""
        try:
            in_state = max(0, int((now - datetime.fromisoformat(since)).total_seconds()))
        except ValueError:
            in_state = None
        try:
            queues = json.loads(st.get("queues") or "{}")
        except ValueError:
            queues = {}
        rows.append(
            {
                "login": login,
                "name": st.get("name", ""),
                "state": st.get("state", "logged_out"),
                "pause_reason": st.get("pause_reason", ""),
                "in_state_s": in_state,
                "queues": sorted(queues) if isinstance(queues, dict) else [],
            }
        )
    return rows


class IncidentRiskCache:
    """SLA risk per priority needs the database; recomputed at most every `ttl` seconds."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._at = 0.0
        self._value: dict[str, dict[str, int]] = {}

    def get(
        self, cfg: CentralitaConfig, sessions: sessionmaker[Session], now: datetime
    ) -> dict[str, dict[str, int]]:
        if time.monotonic() - self._at < self.ttl:
            return self._value
        from servicedesk.incidents import sla_status

        out = {p: {"at_risk": 0, "breached": 0} for p in cfg.sla.priorities}
        with sessions() as s:
            for inc in s.scalars(select(Incident).where(Incident.status.in_(OPEN_STATUSES))):
                state = _worst_state(sla_status(cfg, inc, now))
                if state in ("at_risk", "breached") and inc.priority in out:
                    out[inc.priority][state] += 1
        self._value, self._at = out, time.monotonic()
        return out


def _worst_state(status: Any) -> str:
    """One state to show for both clocks: breached > at_risk > on_track > met > none."""
    return str(getattr(status, "worst", status))


def snapshot(
    cfg: CentralitaConfig, bus: Bus, sessions: sessionmaker[Session], risk: IncidentRiskCache
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "at": now.isoformat(),
        "queues": queue_rows(cfg, bus, now),
        "agents": agent_rows(bus, now),
        "incidents": risk.get(cfg, sessions, now),
    }
