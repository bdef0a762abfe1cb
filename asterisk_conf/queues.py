"""queues.conf and queuerules.conf: one queue per skill and language, and the widening rules.

Members are dynamic (QueueAdd from the panel through the listener), so no
`member =>` lines. Option names are the ones app_queue's queue_set_param()
accepts; setinterfacevar/setqueueentryvar/setqueuevar feed the listener's VarSets.

Announcements (app_queue.c queue_exec / say_position): with
announce-to-first-user = yes the caller at the head of the queue hears them too
(without it a lone caller hears only music). A *position* announcement plays at
once when the caller joins or moves up (last_pos starts at 0), and at the head of
the queue no member rings while it plays; measured on Asterisk 22.10.1 it held the
first ring back 9 s. So position and hold-time announcements are made only when
`announce_holdtime` is not "no" (the shipped default is "no": the IVR already gave
an estimate), and the periodic "all agents busy" prompt, whose clock starts at
join, plays every `announce_frequency` s without delaying the first ring. app_queue
never cuts an announcement short, so a max wait that expires during one ends when it
does (up to the prompt's length late); with the default 60 s period no max wait
under a minute can meet one.

A member who does not answer is paused (autopause, default "all": in every
queue, the usual desk setting when someone is away from the phone), so the next
ring goes to the next best member the penalty rule admits instead of the same
absent agent every timeout + retry seconds; the agent unpauses from the panel.
"""

from __future__ import annotations

from servicedesk.config import CentralitaConfig, QueueDefinition

from . import names
from .render import Section, render_file


def queue_section(cfg: CentralitaConfig, qdef: QueueDefinition) -> Section:
    s = qdef.settings
    skill = cfg.skills[qdef.skill]
    label = skill.name_es if qdef.language == "es" else skill.name_en
    sec = Section(qdef.name, comments=[f"{label} ({qdef.language})"])
    sec.add("musicclass", "default")
    sec.add("strategy", s.strategy)
    sec.add("servicelevel", s.servicelevel)
    sec.add("timeout", s.timeout)
    sec.add("retry", s.retry)
    sec.add("wrapuptime", s.wrapuptime)
    sec.add("weight", s.weight)
    sec.add("maxlen", 0)
    sec.add("joinempty", s.joinempty)
    sec.add("leavewhenempty", s.leavewhenempty)
    sec.add("ringinuse", "no")
    sec.add("reportholdtime", "no")
    periodic = s.announce_frequency
    positional = periodic if s.announce_holdtime != "no" else 0
    sec.add("announce-frequency", positional)
    sec.add("announce-position", "yes" if positional else "no")
    sec.add("announce-holdtime", s.announce_holdtime)
    sec.add("announce-to-first-user", "yes" if periodic else "no")
    sec.add("periodic-announce", f"{names.PROMPT_DIR}/all_busy")
    sec.add("periodic-announce-frequency", periodic)
    sec.add("autopause", s.autopause)
    sec.add("setinterfacevar", "yes")
    sec.add("setqueueentryvar", "yes")
    sec.add("setqueuevar", "yes")
    sec.add("defaultrule", cfg.routing.rule_normal)
    return sec


def build_queues(cfg: CentralitaConfig) -> str:
    general = (
        Section("general")
        .add("persistentmembers", "no")
        .add("autofill", "yes")
        .add("shared_lastcall", "yes")
        .add("log_membername_as_agent", "no")
    )
    queues = [queue_section(cfg, q) for _, q in sorted(cfg.queue_definitions().items())]
    return render_file(
        [general.render()] + [q.render() for q in queues],
        intro=[
            "Members are dynamic: the panel adds them with QueueAdd (penalty from skill level).",
            "persistentmembers = no: after a restart the listener re-adds logged-in agents.",
        ],
    )


def build_queuerules(cfg: CentralitaConfig) -> str:
    parts = [Section("general").render()]
    for name, rule in sorted(cfg.routing.rules.items()):
        sec = Section(
            name,
            comments=[
                f"starts at QUEUE_MAX_PENALTY={rule.start_max_penalty} (set by the IVR);"
                " absolute widening steps"
            ],
            arrow_keys=frozenset({"penaltychange"}),
        )
        for step in rule.steps:
            sec.add("penaltychange", f"{step.after_seconds},{step.max_penalty}")
        parts.append(sec.render())
    return render_file(parts)
