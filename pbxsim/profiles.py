"""Load profiles: a day of traffic from `centralita.toml` (arrivals by hour, mix, patience, agents).

Everything is drawn from one seeded `random.Random`, so a profile run is the same
call for call for the same seed. The caller's DTMF follows the IVR menu by prompt
name (`ivr_caller_hook`), or, with no IVR server, the call is pre-routed the way the
IVR would route it (the dialplan then skips the AGI).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pbxsim.behaviour import AgentAction, CallerScript


@dataclass(frozen=True)
class LoadProfile:
    name: str
    arrivals_per_hour: tuple[float, ...]  # 24 values, local hour of day
    english_share: float = 0.2
    vip_share: float = 0.1
    status_share: float = 0.1  # callers asking about an existing incident
    category_weights: dict[str, float] = field(default_factory=dict)  # skill -> weight; {} = equal
    patience_median_s: float = 90.0  # how long a caller waits in queue before giving up
    patience_sigma: float = 0.8
    ivr_seconds: float = 35.0  # time spent in the IVR before queueing (no-IVR mode adds it too)
    answer_delay_s: tuple[float, float] = (2.0, 8.0)
    talk_median_s: float = 240.0
    talk_sigma: float = 0.6
    noanswer_share: float = 0.05  # an agent lets a call ring out
    pauses_per_agent_hour: float = 0.3
    pause_minutes: tuple[float, float] = (5.0, 20.0)
    # an agent auto-paused for letting a call ring out (queues.conf autopause) notices
    # and unpauses from the panel after this long
    autopause_return_s: tuple[float, float] = (20.0, 120.0)
    shift_hours: tuple[int, int] = (8, 18)  # agents log in / out (local time)


def _curve(peak: float, hours: dict[int, float]) -> tuple[float, ...]:
    return tuple(peak * hours.get(h, 0.0) for h in range(24))


PROFILES: dict[str, LoadProfile] = {
    "busy_morning": LoadProfile(
        "busy_morning",
        _curve(
            120,
            {
                8: 0.5,
                9: 1.0,
                10: 1.0,
                11: 0.8,
                12: 0.6,
                13: 0.4,
                14: 0.5,
                15: 0.6,
                16: 0.5,
                17: 0.3,
                18: 0.1,
            },
        ),
    ),
    "steady": LoadProfile(
        "steady",
        _curve(40, {h: 1.0 for h in range(8, 19)}),
        patience_median_s=150.0,
        talk_median_s=180.0,
    ),
    "quiet_night": LoadProfile(
        "quiet_night",
        _curve(6, {h: 1.0 for h in (*range(0, 8), *range(19, 24))}),
        shift_hours=(0, 24),
        vip_share=0.3,
    ),
    "storm": LoadProfile(
        "storm",
        _curve(600, {h: 1.0 for h in range(9, 12)}),
        patience_median_s=60.0,
        talk_median_s=120.0,
    ),
}


def skill_penalty(level: int) -> int:
    """Higher skill level, lower penalty (level 10 -> 0, level 1 -> 9)."""
    return max(0, 10 - int(level))


def agent_memberships(cfg: Any, agent: Any) -> dict[str, int]:
    queues = cfg.queue_definitions()
    out: dict[str, int] = {}
    for skill, level in agent.skills.items():
        for lang in agent.languages:
            name = f"{skill}_{lang}"
            if name in queues:
                out[name] = skill_penalty(level)
    return out


def ivr_caller_hook(
    english: bool, menu: str, category_digit: str | None, incident: str = ""
) -> Callable[[list[str]], str | None]:
    """What a caller keys at each prompt, by the prompt's name ('' = silence)."""

    def answer(prompts: list[str]) -> str | None:
        last = prompts[-1] if prompts else ""
        if "welcome" in last or "language_choice" in last:
            return "2" if english else ""
        if "main_menu" in last:
            return menu
        if "category" in last and category_digit:
            return category_digit
        if "enter_incident" in last:
            return incident + "#" if incident else ""
        if "status_agent_offer" in last:
            return "1"
        return ""

    return answer


@dataclass
class ProfileStats:
    placed: int = 0
    logins: int = 0
    pauses: int = 0


class ProfileRunner:
    """Schedules a profile's calls and agent activity on a PbxSim for `hours` from `start`."""

    def __init__(
        self, sim: Any, cfg: Any, profile: LoadProfile, rng: random.Random, *, use_ivr: bool
    ) -> None:
        self.sim = sim
        self.cfg = cfg
        self.profile = profile
        self.rng = rng
        self.use_ivr = use_ivr
        self.stats = ProfileStats()

    def schedule(self, start: datetime, hours: float) -> None:
        t0 = self.sim.now
        self._auto_paused: set[str] = set()
        self.sim.engine.subscribe(self._on_event)
        self._schedule_agents(start, t0, hours)
        self._schedule_calls(start, t0, hours)

    # ----------------------------------------------------------------- agents
    def _schedule_agents(self, start: datetime, t0: float, hours: float) -> None:
        p, rng, sim = self.profile, self.rng, self.sim
        end = t0 + hours * 3600
        for agent in self.cfg.agents:
            plan = []
            for _ in range(2000):
                if rng.random() < p.noanswer_share:
                    plan.append(AgentAction("noanswer", 0.0))
                else:
                    talk = rng.lognormvariate(math.log(p.talk_median_s), p.talk_sigma)
                    plan.append(
                        AgentAction.answer(rng.uniform(*p.answer_delay_s), min(talk, 3600.0))
                    )
            sim.agent(agent.interface, plan, name=agent.name)
            members = agent_memberships(self.cfg, agent)
            day = start.replace(hour=0, minute=0, second=0, microsecond=0)
            while day < start + timedelta(hours=hours):
                login = (
                    t0
                    + (day + timedelta(hours=p.shift_hours[0]) - start).total_seconds()
                    + rng.uniform(0, 600)
                )
                logout = (
                    t0
                    + (day + timedelta(hours=p.shift_hours[1]) - start).total_seconds()
                    + rng.uniform(0, 600)
                )
                if logout > t0 and login < end:
                    login = max(login, t0)
                    sim.at(login, lambda a=agent, m=members: self._login(a, m))
                    if logout < end:
                        sim.at(logout, lambda a=agent, m=members: self._logout(a, m))
                    t = login
                    while True:
                        t += (
                            rng.expovariate(p.pauses_per_agent_hour / 3600.0)
                            if p.pauses_per_agent_hour
                            else 1e12
                        )
                        if t >= min(logout, end):
                            break
                        dur = rng.uniform(*p.pause_minutes) * 60
                        sim.at(t, lambda a=agent: self._pause(a, True))
                        sim.at(min(t + dur, logout - 1), lambda a=agent: self._pause(a, False))
                        t += dur
                day += timedelta(days=1)

    def _act(self, name: str, **headers: str) -> None:
        self.sim.engine.actions.handle(name, list(headers.items()))

    def _login(self, agent: Any, members: dict[str, int]) -> None:
        self.stats.logins += 1
        for queue, penalty in members.items():
            self._act(
                "QueueAdd",
                Queue=queue,
                Interface=agent.interface,
                Penalty=str(penalty),
                MemberName=agent.name,
            )

    def _logout(self, agent: Any, members: dict[str, int]) -> None:
        for queue in members:
            self._act("QueueRemove", Queue=queue, Interface=agent.interface)

    def _on_event(self, event: Any) -> None:
        """An auto-paused agent comes back: one unpause per pause, whatever the queue count."""
        headers = event.headers
        if not headers or headers[0][1] != "QueueMemberPause":
            return
        h = dict(headers)
        iface = h.get("Interface", "")
        if h.get("PausedReason") != "Auto-Pause" or iface in self._auto_paused:
            return
        self._auto_paused.add(iface)

        def back() -> None:
            self._auto_paused.discard(iface)
            self._act("QueuePause", Interface=iface, Paused="false")

        self.sim.at(self.sim.now + self.rng.uniform(*self.profile.autopause_return_s), back)

    def _pause(self, agent: Any, paused: bool) -> None:
        if paused:
            self.stats.pauses += 1
            reason = (
                self.rng.choice(self.cfg.panel.pause_reasons)
                if getattr(self.cfg, "panel", None)
                else "break"
            )
            self._act("QueuePause", Interface=agent.interface, Paused="true", Reason=str(reason))
        else:
            self._act("QueuePause", Interface=agent.interface, Paused="false")

    # ------------------------------------------------------------------ calls
    def _schedule_calls(self, start: datetime, t0: float, hours: float) -> None:
        p, rng = self.profile, self.rng
        peak = max(p.arrivals_per_hour) or 1.0
        t = 0.0
        horizon = hours * 3600
        while True:
            t += rng.expovariate(peak / 3600.0)
            if t >= horizon:
                break
            hour = (start + timedelta(seconds=t)).hour
            if rng.random() * peak > p.arrivals_per_hour[hour]:
                continue  # thinning: keeps the hour-of-day rate
            self.sim.at(t0 + t, self._one_call_factory())

    def _one_call_factory(self) -> Callable[[], None]:
        p, rng, cfg = self.profile, self.rng, self.cfg
        english = rng.random() < p.english_share
        vip = rng.random() < p.vip_share
        skills = [s for s, sk in cfg.skills.items() if sk.dtmf]
        weights = [p.category_weights.get(s, 1.0) for s in skills]
        skill = rng.choices(skills, weights=weights)[0] if skills else cfg.general_skill()
        status = rng.random() < p.status_share
        patience = rng.lognormvariate(math.log(p.patience_median_s), p.patience_sigma)
        number = f"+5255{rng.randint(10**7, 10**8 - 1)}"
        lines = [n for n, ln in cfg.lines.items() if ln.vip == vip] or list(cfg.lines)
        line = lines[0]

        def place() -> None:
            self.stats.placed += 1
            if self.use_ivr:
                hook = ivr_caller_hook(english, "2" if status else "1", cfg.skills[skill].dtmf)
                self.sim.place_call(
                    line, number, "", dtmf=hook, patience=4 * 3600, queue_patience=patience
                )
                return
            lang = (
                "en"
                if english and "en" in cfg.skills[skill].languages
                else cfg.skills[skill].languages[0]
            )
            queue = f"{skill}_{lang}"
            settings = cfg.queue_definitions()[queue].settings
            rule = cfg.routing.rule_vip if vip else cfg.routing.rule_normal
            preset = {
                "CENTRALITA_ACTION": "queue",
                "CENTRALITA_QUEUE": queue,
                "CENTRALITA_MAXWAIT": str(settings.max_wait),
                "CENTRALITA_RULE": rule,
                "QUEUE_PRIO": str(cfg.routing.prio_vip if vip else cfg.routing.prio_normal),
                "QUEUE_MAX_PENALTY": str(cfg.routing.rules[rule].start_max_penalty),
                "IVR_LANG": lang,
                "CENTRALITA_VIP": "1" if vip else "0",
                "CENTRALITA_CATEGORY": skill,
            }
            script = CallerScript(queue_patience=patience, preset=preset, ivr_seconds=p.ivr_seconds)
            exten = cfg.lines[line].did.lstrip("+")
            context = (
                "centralita-inbound"
                if ("centralita-inbound", exten) in self.sim.engine.dialplan
                else "from-trunk"
            )
            self.sim.engine.place_call(exten, number, "", script, context=context)

        return place
