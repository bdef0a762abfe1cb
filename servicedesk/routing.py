"""Skills-based routing on stock Asterisk app_queue: pure decisions, no AGI, no Redis.

One queue per skill and language (``<skill>_<lang>``). Agents are dynamic
members of the queues of their skills in their languages; the member penalty
comes from the skill level *relative to the agent's own best skill*:

    penalty = clamp(best_level - level, 0, 9)

so every agent is penalty 0 in the queues of their strongest skill, and a
generalist with ``network = 9, general = 6`` is penalty 0 in ``network_*`` and
3 in ``general_*``. Callers carry ``QUEUE_MAX_PENALTY`` (the rule's starting
value) and a queuerules.conf rule that widens it as the wait grows, so the
strongest agents are tried first and others only after a while.

Overflow: the live state (written to Redis by the AMI listener) is passed in as
an :class:`AvailabilityView`, which keeps this module free of any I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from servicedesk.config import AgentConfig, CentralitaConfig

MAX_PENALTY = 9
# Agent states (agent_state hash, field `state`) in which the agent can take a call.
LOGGED_IN_UNPAUSED = frozenset({"available", "ringing", "oncall", "wrapup"})

RouteAction = Literal["queue", "no_agents"]


@dataclass(frozen=True, slots=True)
class RouteDecision:
    queue: str
    queue_prio: int
    rule: str
    max_penalty: int
    max_wait: int
    action: RouteAction = "queue"
    skill: str = ""
    overflow_from: str = ""  # the skill queue we wanted, when the general queue was chosen


class AvailabilityView(Protocol):
    def staffed(self, queue: str) -> int:
        """How many logged-in, unpaused agents are members of `queue`."""
        ...


@dataclass(frozen=True, slots=True)
class AgentAvailability:
    """An AvailabilityView built from the listener's agent_state hashes."""

    counts: Mapping[str, int]

    def staffed(self, queue: str) -> int:
        return self.counts.get(queue, 0)

    @classmethod
    def from_states(cls, states: Iterable[Mapping[str, str]]) -> AgentAvailability:
        counts: dict[str, int] = {}
        for st in states:
            if st.get("state") not in LOGGED_IN_UNPAUSED:
                continue
            try:
                queues = json.loads(st.get("queues") or "{}")
            except ValueError:
                continue
            if not isinstance(queues, dict):
                continue
            for q in queues:
                counts[str(q)] = counts.get(str(q), 0) + 1
        return cls(counts)


def penalty_for_level(level: int, best_level: int) -> int:
    """The agent's best level is penalty 0; each level below it adds 1, up to 9."""
    return max(0, min(MAX_PENALTY, best_level - level))


def memberships(cfg: CentralitaConfig, agent: AgentConfig) -> dict[str, int]:
    """Queue → penalty for every skill of the agent in every language both speak."""
    best = max(agent.skills.values())
    out: dict[str, int] = {}
    for skill, level in agent.skills.items():
        sk = cfg.skills.get(skill)
        if sk is None:
            continue
        for lang in agent.languages:
            if lang in sk.languages:
                out[f"{skill}_{lang}"] = penalty_for_level(level, best)
    return dict(sorted(out.items()))


# id(cfg) -> (cfg, general skill, queue max_wait): configs are frozen, and routing
# runs on every call, so the derived tables are built once per config object.
_DERIVED: dict[int, tuple[CentralitaConfig, str, dict[str, int]]] = {}


def _derived(cfg: CentralitaConfig) -> tuple[str, dict[str, int]]:
    hit = _DERIVED.get(id(cfg))
    if hit is None or hit[0] is not cfg:
        if len(_DERIVED) > 32:
            _DERIVED.clear()
        waits = {q: d.settings.max_wait for q, d in cfg.queue_definitions().items()}
        hit = (cfg, cfg.general_skill(), waits)
        _DERIVED[id(cfg)] = hit
    return hit[1], hit[2]


def _target_queue(cfg: CentralitaConfig, skill: str, language: str) -> tuple[str, str]:
    """(skill, queue): the skill in the caller's language, else general in it, else the
    skill in its first language; a caller is never sent to a queue that does not exist."""
    general = _derived(cfg)[0]
    sk = cfg.skills.get(skill) or cfg.skills[general]
    if skill not in cfg.skills:
        skill = general
    if language in sk.languages:
        return skill, f"{skill}_{language}"
    if language in cfg.skills[general].languages:
        return general, f"{general}_{language}"
    return skill, f"{skill}_{sk.languages[0]}"


def route(
    cfg: CentralitaConfig,
    skill: str | None,
    language: str,
    priority: str | None,
    vip: bool,
    availability: AvailabilityView | None = None,
) -> RouteDecision:
    """Queue, QUEUE_PRIO, rule and its starting max penalty for one caller.

    Critical beats VIP beats normal for both the priority and the rule. With an
    availability view: nobody staffed on the skill queue → the general queue in
    the caller's language; nobody there either → ``action="no_agents"`` (the IVR
    offers a callback or a message instead of queueing into silence).
    """
    r = cfg.routing
    if priority == "critical":
        prio, rule = max(r.prio_critical, r.prio_vip if vip else 0), r.rule_critical
    elif vip:
        prio, rule = r.prio_vip, r.rule_vip
    else:
        prio, rule = r.prio_normal, r.rule_normal
    general, max_waits = _derived(cfg)
    chosen_skill, queue = _target_queue(cfg, skill or general, language)
    overflow_from = ""
    action: RouteAction = "queue"
    if availability is not None and availability.staffed(queue) == 0:
        general_skill, general_queue = _target_queue(cfg, general, language)
        if general_queue != queue and availability.staffed(general_queue) > 0:
            overflow_from, queue, chosen_skill = queue, general_queue, general_skill
        elif availability.staffed(general_queue) == 0:
            action = "no_agents"
    return RouteDecision(
        queue=queue,
        queue_prio=prio,
        rule=rule,
        max_penalty=r.rules[rule].start_max_penalty,
        max_wait=max_waits[queue],
        action=action,
        skill=chosen_skill,
        overflow_from=overflow_from,
    )


def line_defaults(cfg: CentralitaConfig, line_name: str) -> dict[str, str]:
    """The channel variables the dialplan sets for a line *before* the IVR runs.

    One function for the three places that must agree: asterisk_conf writes these
    as ``Set()`` steps, pbxsim's dialplan model does the same, and the IVR skips
    any ``SET VARIABLE`` whose value equals them (each skipped command is a round
    trip saved on every call). They are the route of a caller who chose nothing:
    the line's general queue in the line's language, normal or VIP priority by
    the line, CENTRALITA_ACTION ``queue``, so an unreachable IVR still ends with
    a person. Order is the dialplan's order (CENTRALITA_ACTION last).
    """
    line = cfg.lines[line_name]
    d = route(cfg, None, line.language, None, line.vip)
    return {
        "IVR_LANG": line.language,
        "CENTRALITA_VIP": "1" if line.vip else "0",
        "CENTRALITA_QUEUE": d.queue,
        "CENTRALITA_MAXWAIT": str(d.max_wait),
        "CENTRALITA_RULE": d.rule,
        "QUEUE_PRIO": str(d.queue_prio),
        "QUEUE_MAX_PENALTY": str(d.max_penalty),
        "CENTRALITA_ACTION": "queue",
    }


MemberVerb = Literal["QueueAdd", "QueuePenalty", "QueueRemove"]


@dataclass(frozen=True, slots=True)
class MemberAction:
    """One AMI action; field names follow the panel→listener command stream."""

    action: MemberVerb
    queue: str
    interface: str
    member_name: str
    penalty: int | None = None


def membership_actions(
    interface: str, member_name: str, old: Mapping[str, int], new: Mapping[str, int]
) -> list[MemberAction]:
    """The minimal actions turning memberships `old` into `new`.

    Adds first, then penalty changes, then removals, each sorted by queue: the
    agent stays reachable throughout a change and the output is deterministic.
    """
    adds = [
        MemberAction("QueueAdd", q, interface, member_name, new[q])
        for q in sorted(new)
        if q not in old
    ]
    changes = [
        MemberAction("QueuePenalty", q, interface, member_name, new[q])
        for q in sorted(new)
        if q in old and old[q] != new[q]
    ]
    removes = [
        MemberAction("QueueRemove", q, interface, member_name) for q in sorted(old) if q not in new
    ]
    return [*adds, *changes, *removes]


def apply_actions(current: Mapping[str, int], actions: Iterable[MemberAction]) -> dict[str, int]:
    """What app_queue's memberships become after the actions (used by tests and the panel)."""
    out = dict(current)
    for a in actions:
        if a.action == "QueueRemove":
            out.pop(a.queue, None)
        else:
            assert a.penalty is not None
            out[a.queue] = a.penalty
    return out
