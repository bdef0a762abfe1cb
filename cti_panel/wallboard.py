"""The supervisor wallboard's figures, computed from the listener's live Redis state.

Service level follows each queue's `sl_formula` (Asterisk's three conventions):
answered -> within/answered; offered -> within/offered;
offered_minus_short -> within/(offered - short_abandoned).

Every figure carries a level (ok / warn / crit) from the queue's
`WallboardThresholds`. Waits are judged twice, against the absolute limits
(`longest_wait_*_s`) and against the queue's own service-level target
(`wait_*_percent_of_target` of `servicelevel`), and the worse verdict wins: a
caller who has waited 20 s on a 20 s target is already lost to the service
level, whatever the absolute limit says.

A skill group (the same skill in every language) and the totals add the
queues' counters; their service level uses the queues' common formula, or
`answered` when they differ (as `callstats.definitions.total` does), and their
thresholds are the queues' own when all agree, else `queue_defaults`.

Times that grow on their own (longest wait, time in state) travel as epoch
`*_since` values with the server's `now`, so a board ticks them locally every
second without the server re-sending anything.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from callstats.definitions import abandon_rate
from servicedesk import callback_figures
from servicedesk.bus import COUNTER_FIELDS, Bus
from servicedesk.config import CentralitaConfig, QueueDefinition, WallboardThresholds
from servicedesk.models import Incident

log = logging.getLogger(__name__)
OPEN_STATUSES = ("new", "assigned", "in_progress", "escalated")
AGENT_STATES = ("available", "ringing", "oncall", "wrapup", "paused", "logged_out")


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


def _epoch(v: str | None) -> float | None:
    """A Redis epoch string, or None when absent or not a finite number."""
    try:
        t = float(v) if v else None
    except ValueError:
        return None
    return t if t is not None and t == t and abs(t) < 1e11 else None


def today(cfg: CentralitaConfig, now: datetime) -> str:
    return now.astimezone(ZoneInfo(cfg.service.timezone)).date().isoformat()


def thresholds(wb: WallboardThresholds, servicelevel_s: int) -> dict[str, float]:
    """The limits a board needs, waits already merged with the service-level target."""
    return {
        "sl_target": wb.sl_warn_percent,
        "sl_crit": wb.sl_crit_percent,
        "waiting_warn": wb.waiting_warn,
        "waiting_crit": wb.waiting_crit,
        "wait_warn_s": min(
            wb.longest_wait_warn_s, servicelevel_s * wb.wait_warn_percent_of_target / 100
        ),
        "wait_crit_s": min(
            wb.longest_wait_crit_s, servicelevel_s * wb.wait_crit_percent_of_target / 100
        ),
        "asa_warn_s": servicelevel_s * wb.wait_warn_percent_of_target / 100,
        "asa_crit_s": servicelevel_s * wb.wait_crit_percent_of_target / 100,
        "abandon_warn": wb.abandon_warn_percent,
        "abandon_crit": wb.abandon_crit_percent,
        "available_warn": wb.available_warn,
    }


def figures(
    c: dict[str, int],
    formula: str,
    servicelevel_s: int,
    wb: WallboardThresholds,
    *,
    waiting: int,
    longest_since: float | None,
    available: int,
    logged_in: int,
    epoch: float,
) -> dict[str, Any]:
    """One tile's figures and levels (a queue, a skill group or the totals)."""
    t = thresholds(wb, servicelevel_s)
    longest = max(0, int(epoch - longest_since)) if longest_since is not None else 0
    sl = service_level(formula, c)
    answered = c["answered"]
    asa = round(c["hold_total_s"] / answered, 1) if answered else None
    ab = abandon_rate(c["abandoned"], c["offered"])
    ab = None if ab is None else round(ab, 1)
    if available == 0 and waiting > 0:
        available_level = "crit"
    else:
        available_level = "warn" if available <= t["available_warn"] else "ok"
    return {
        "waiting": waiting,
        "longest_wait_s": longest,
        "longest_wait_since": longest_since,
        "available_agents": available,
        "logged_in": logged_in,
        **{k: c[k] for k in ("offered", "answered", "abandoned", "short_abandoned")},
        "service_level": sl,
        "sl_formula": formula,
        "servicelevel_s": servicelevel_s,
        "target_percent": wb.sl_warn_percent,
        "abandon_rate": ab,
        "asa_s": asa,
        "aht_s": round(c["talk_total_s"] / c["talk_count"], 1) if c["talk_count"] else None,
        "thresholds": t,
        "levels": {
            "waiting": _level(waiting, wb.waiting_warn, wb.waiting_crit, higher_is_worse=True),
            "longest_wait": _level(
                longest, t["wait_warn_s"], t["wait_crit_s"], higher_is_worse=True
            ),
            "service_level": _level(
                sl, wb.sl_warn_percent, wb.sl_crit_percent, higher_is_worse=False
            ),
            "asa": _level(asa, t["asa_warn_s"], t["asa_crit_s"], higher_is_worse=True),
            "abandon_rate": _level(
                ab, wb.abandon_warn_percent, wb.abandon_crit_percent, higher_is_worse=True
            ),
            "available": available_level,
        },
        "colors": {"ok": wb.color_ok, "warn": wb.color_warn, "crit": wb.color_crit},
    }


def queue_rows(cfg: CentralitaConfig, bus: Bus, now: datetime) -> list[dict[str, Any]]:
    defs: list[QueueDefinition] = list(cfg.queue_definitions().values())
    day = today(cfg, now)
    pipe = bus.r.pipeline()
    for q in defs:
        pipe.hgetall(bus.keys.queue_state(q.name))
        pipe.hgetall(bus.keys.counters(day, q.name))
        pipe.hgetall(callback_figures.key(bus, day, q.name))
    replies = pipe.execute()
    rows = []
    epoch = now.timestamp()
    for i, q in enumerate(defs):
        state, raw, cb = replies[3 * i], replies[3 * i + 1], replies[3 * i + 2]
        c = {k: _int(raw.get(k)) for k in COUNTER_FIELDS}
        row = {
            "queue": q.name,
            "skill": q.skill,
            "language": q.language,
            **figures(
                c,
                q.settings.sl_formula,
                q.settings.servicelevel,
                q.settings.wallboard,
                waiting=_int(state.get("waiting")),
                longest_since=_epoch(state.get("longest_wait_since")),
                available=_int(state.get("available_agents")),
                logged_in=_int(state.get("logged_in")),
                epoch=epoch,
            ),
            "counters": c,
            # callbacks today, apart from abandons (servicedesk.callback_figures)
            "callbacks": {k: _int(cb.get(k)) for k in callback_figures.FIELDS},
        }
        rows.append(row)
    return rows


def _group(
    cfg: CentralitaConfig,
    rows: list[dict[str, Any]],
    agents: list[dict[str, Any]],
    epoch: float,
) -> dict[str, Any]:
    """Tile figures over several queue rows; agents counted once however many queues they serve."""
    defs = cfg.queue_definitions()
    settings = [defs[r["queue"]].settings for r in rows]
    first = settings[0] if settings else cfg.queue_defaults
    same = all(
        s.wallboard == first.wallboard and s.servicelevel == first.servicelevel for s in settings
    )
    chosen = first if same else cfg.queue_defaults
    formulas = {s.sl_formula for s in settings}
    formula = formulas.pop() if len(formulas) == 1 else "answered"
    c = dict.fromkeys(COUNTER_FIELDS, 0)
    for r in rows:
        for k in COUNTER_FIELDS:
            c[k] += r["counters"][k]
    names = {r["queue"] for r in rows}
    sinces = [r["longest_wait_since"] for r in rows if r["longest_wait_since"] is not None]
    serving = [a for a in agents if names & set(a["queues"]) and a["state"] != "logged_out"]
    callbacks = {k: sum(r["callbacks"][k] for r in rows) for k in callback_figures.FIELDS}
    return {"callbacks": callbacks} | figures(
        c,
        formula,
        chosen.servicelevel,
        chosen.wallboard,
        waiting=sum(r["waiting"] for r in rows),
        longest_since=min(sinces) if sinces else None,
        available=sum(1 for a in serving if a["state"] == "available"),
        logged_in=len(serving),
        epoch=epoch,
    )


def group_rows(
    cfg: CentralitaConfig, rows: list[dict[str, Any]], agents: list[dict[str, Any]], epoch: float
) -> list[dict[str, Any]]:
    """One tile per skill (its queues in every language), in the configuration's order."""
    out = []
    for skill in cfg.skills:
        mine = [r for r in rows if r["skill"] == skill]
        if mine:
            out.append(
                {
                    "skill": skill,
                    "queues": [r["queue"] for r in mine],
                    **_group(cfg, mine, agents, epoch),
                }
            )
    return out


def agent_rows(bus: Bus, now: datetime) -> list[dict[str, Any]]:
    logins = sorted(bus.r.smembers(bus.keys.agents))
    pipe = bus.r.pipeline()
    for login in logins:
        pipe.hgetall(bus.keys.agent_state(login))
    rows = []
    for login, st in zip(logins, pipe.execute(), strict=True):
        since = st.get("since") or ""
        try:
            started = datetime.fromisoformat(since)
            if started.tzinfo is None:
                started = started.replace(tzinfo=UTC)
            in_state = max(0, int((now - started).total_seconds()))
            since_epoch: float | None = started.timestamp()
        except ValueError:
            in_state, since_epoch = None, None
        try:
            queues = json.loads(st.get("queues") or "{}")
        except ValueError:
            queues = {}
        state = st.get("state", "logged_out")
        rows.append(
            {
                "login": login,
                "name": st.get("name", ""),
                "state": state if state in AGENT_STATES else "logged_out",
                "pause_reason": st.get("pause_reason", ""),
                "in_state_s": in_state,
                "since": since_epoch,
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
        if self._at and time.monotonic() - self._at < self.ttl:
            return self._value
        from servicedesk.incidents import sla_status

        out = {p: {"at_risk": 0, "breached": 0} for p in cfg.sla.priorities}
        try:
            with sessions() as s:
                for inc in s.scalars(select(Incident).where(Incident.status.in_(OPEN_STATUSES))):
                    if inc.priority not in out:  # one odd row never hides the others
                        continue
                    try:
                        state = _worst_state(sla_status(cfg, inc, now))
                    except Exception:
                        log.exception("wallboard: SLA state of incident %s failed", inc.id)
                        continue
                    if state in ("at_risk", "breached"):
                        out[inc.priority][state] += 1
        except Exception:  # the database: keep the last figures, the live ones go on
            log.exception("wallboard: reading open incidents failed")
            self._at = time.monotonic()
            return self._value or out
        self._value, self._at = out, time.monotonic()
        return out


def _worst_state(status: Any) -> str:
    """One state to show for both clocks: breached > at_risk > on_track > met > none."""
    return str(getattr(status, "worst", status))


def snapshot(
    cfg: CentralitaConfig,
    bus: Bus,
    sessions: sessionmaker[Session],
    risk: IncidentRiskCache,
    chart: Any | None = None,
    *,
    live_times: bool = True,
) -> dict[str, Any]:
    """Everything a board shows. `chart` is a `wallboard_chart.IntervalChart` (optional);
    without `live_times` the values that grow every second are left out (the stream's form)."""
    now = datetime.now(UTC)
    epoch = now.timestamp()
    queues = queue_rows(cfg, bus, now)
    agents = agent_rows(bus, now)
    out = {
        "at": now.isoformat(),
        "now": epoch,
        "queues": queues,
        "groups": group_rows(cfg, queues, agents, epoch),
        "totals": _group(cfg, queues, agents, epoch),
        "agents": agents,
        "incidents": risk.get(cfg, sessions, now),
    }
    if chart is not None:
        out["chart"] = chart.get(cfg, sessions, now)
    for row in queues:
        del row["counters"]
    if not live_times:  # the board ticks these itself from the `*_since` epochs
        for row in (*queues, *out["groups"], out["totals"]):
            del row["longest_wait_s"], row["levels"]["longest_wait"]
        for a in agents:
            del a["in_state_s"]
    return out
