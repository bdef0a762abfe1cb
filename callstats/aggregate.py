"""Figures per queue, per agent and per 15/30/60-minute interval, over a time range.

Input is any iterable of `QueueCall`s (from the call records or from
queue_log), so both paths aggregate with the same code. Intervals are cut on
the entered-queue time in the service's time zone, on the local wall clock
(a 30-minute report in Mexico City starts at :00 and :30 local time).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from callstats.definitions import ANSWERED_OUTCOMES, Figures, QueueCall, QueueRules, total
from servicedesk.config import CentralitaConfig, QueueSettings

INTERVALS = (15, 30, 60)
RulesFor = Callable[[str], QueueRules]


def settings_from_config(cfg: CentralitaConfig) -> Callable[[str], QueueSettings]:
    """queue name → QueueSettings; queues not in the configuration get `queue_defaults`."""
    table = {name: q.settings for name, q in cfg.queue_definitions().items()}
    for name, settings in cfg.queues.items():
        table.setdefault(name, settings)
    default = cfg.queue_defaults
    return lambda queue: table.get(queue, default)


def rules_from_config(cfg: CentralitaConfig) -> RulesFor:
    """queue name → QueueRules (servicelevel, short_abandon, sl_formula) from its settings."""
    settings_for = settings_from_config(cfg)
    cache: dict[str, QueueRules] = {}

    def rules_for(queue: str) -> QueueRules:
        rules = cache.get(queue)
        if rules is None:
            s = settings_for(queue)
            rules = cache[queue] = QueueRules(s.servicelevel, s.short_abandon, s.sl_formula)
        return rules

    return rules_for


def agent_keys_from_config(cfg: CentralitaConfig) -> dict[str, str]:
    """Member name and interface → login, for queue_log's agent field."""
    out: dict[str, str] = {}
    for agent in cfg.agents:
        out[agent.name] = agent.login
        out[agent.interface] = agent.login
    return out


def in_range(
    calls: Iterable[QueueCall], start: float | None = None, end: float | None = None
) -> list[QueueCall]:
    """Calls whose entered time is in [start, end) (epoch seconds; None = open)."""
    return [
        c
        for c in calls
        if (start is None or c.entered_at >= start) and (end is None or c.entered_at < end)
    ]


def by_queue(calls: Iterable[QueueCall], rules_for: RulesFor) -> dict[str, Figures]:
    out: dict[str, tuple[Figures, QueueRules]] = {}
    for c in calls:
        slot = out.get(c.queue)
        if slot is None:
            rules = rules_for(c.queue)
            slot = out[c.queue] = (Figures(sl_formula=rules.sl_formula), rules)
        slot[0].count(c, slot[1])
    return {q: slot[0] for q, slot in sorted(out.items())}


def overall(per_queue: dict[str, Figures]) -> Figures:
    return total(per_queue.values())


@dataclass(slots=True)
class AgentFigures:
    """One agent's share: the calls they answered and the rings they let go.

    * answered = calls connected to this agent (transfers included);
    * talk_total / aht = Σ talk and its mean over those with a known talk time;
    * hold_total / asa = the callers' waits before this agent answered;
    * ring_noanswer = rings to this agent that timed out or were declined
      (RINGNOANSWER; a 486 decline is one too); rings cancelled because another
      member answered or the caller left are not the agent's doing.
    """

    agent: str
    answered: int = 0
    transferred: int = 0
    answered_within_sl: int = 0
    talk_total: int = 0
    talk_count: int = 0
    hold_total: int = 0
    hung_up_by_agent: int = 0
    ring_noanswer: int = 0

    @property
    def aht(self) -> float | None:
        return None if self.talk_count == 0 else self.talk_total / self.talk_count

    @property
    def asa(self) -> float | None:
        return None if self.answered == 0 else self.hold_total / self.answered

    def as_dict(self) -> dict[str, object]:
        return {
            "agent": self.agent,
            "answered": self.answered,
            "transferred": self.transferred,
            "answered_within_sl": self.answered_within_sl,
            "talk_total": self.talk_total,
            "aht": None if self.aht is None else round(self.aht, 1),
            "asa": None if self.asa is None else round(self.asa, 1),
            "hung_up_by_agent": self.hung_up_by_agent,
            "ring_noanswer": self.ring_noanswer,
        }


def by_agent(calls: Iterable[QueueCall], rules_for: RulesFor) -> dict[str, AgentFigures]:
    out: dict[str, AgentFigures] = {}
    levels: dict[str, int] = {}

    def fig(agent: str) -> AgentFigures:
        f = out.get(agent)
        if f is None:
            f = out[agent] = AgentFigures(agent)
        return f

    for c in calls:
        if c.ring_noanswer_by_agent:
            for agent, n in c.ring_noanswer_by_agent.items():
                fig(agent).ring_noanswer += n
        if c.outcome not in ANSWERED_OUTCOMES or not c.agent:
            continue
        f = fig(c.agent)
        hold = c.hold or 0
        sl = levels.get(c.queue)
        if sl is None:
            sl = levels[c.queue] = rules_for(c.queue).servicelevel
        f.answered += 1
        f.transferred += c.outcome == "transferred"
        f.answered_within_sl += hold <= sl
        f.hold_total += hold
        f.hung_up_by_agent += c.hung_up_by == "agent"
        if c.talk is not None:
            f.talk_total += c.talk
            f.talk_count += 1
    return dict(sorted(out.items()))


def interval_start(epoch: float, minutes: int, tz: tzinfo) -> datetime:
    """The local-time start of the `minutes` interval containing `epoch`."""
    if minutes not in INTERVALS:
        raise ValueError(f"interval must be one of {INTERVALS} minutes (got {minutes})")
    local = datetime.fromtimestamp(epoch, UTC).astimezone(tz)
    return local.replace(minute=local.minute - local.minute % minutes, second=0, microsecond=0)


def by_interval(
    calls: Iterable[QueueCall], rules_for: RulesFor, minutes: int, tz: str | tzinfo
) -> dict[tuple[str, datetime], Figures]:
    """(queue, local interval start) → figures; only intervals with calls appear."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    interval_start(0, minutes, zone)  # validates `minutes`
    # Every zone offset in use is a multiple of 15 minutes, so the local interval
    # of an instant depends only on its 15-minute UTC slot: convert once per slot.
    starts: dict[int, datetime] = {}
    rules_cache: dict[str, QueueRules] = {}
    out: dict[tuple[str, datetime], Figures] = {}
    for c in calls:
        slot = int(c.entered_at // 900)
        start = starts.get(slot)
        if start is None:
            start = starts[slot] = interval_start(c.entered_at, minutes, zone)
        rules = rules_cache.get(c.queue)
        if rules is None:
            rules = rules_cache[c.queue] = rules_for(c.queue)
        key = (c.queue, start)
        fig = out.get(key)
        if fig is None:
            fig = out[key] = Figures(sl_formula=rules.sl_formula)
        fig.count(c, rules)
    return dict(sorted(out.items(), key=lambda kv: (kv[0][1].timestamp(), kv[0][0])))


def interval_end(start: datetime, minutes: int) -> datetime:
    """The next interval's start, in absolute time (correct across DST changes)."""
    return (start.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(start.tzinfo)
