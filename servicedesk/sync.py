"""Mirror the configuration's skills, queues and agents into the database.

The TOML file is the source of truth; the tables exist so reports and the panel
can join on them. Sync is idempotent (a second run changes nothing) and keeps
history: an agent that left the file is deactivated, never deleted, because
calls and sessions still name it. Skills and queues that left the file are
removed with their skill levels (calls keep the queue's name as text).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicedesk.config import CentralitaConfig
from servicedesk.models import Agent, AgentSkill, Queue, Skill


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed)

    def summary(self) -> str:
        if not self.changed:
            return "database already matches the configuration"
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.removed)} removed/deactivated"
        )


def _put(obj: object, values: dict[str, object]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _sync_skills(session: Session, cfg: CentralitaConfig, report: SyncReport) -> dict[str, Skill]:
    existing = {s.code: s for s in session.scalars(select(Skill))}
    for code, sk in cfg.skills.items():
        values = {"name_es": sk.name_es, "name_en": sk.name_en}
        skill = existing.get(code)
        if skill is None:
            skill = Skill(code=code, **values)
            session.add(skill)
            existing[code] = skill
            report.created.append(f"skill {code}")
        elif _put(skill, values):
            report.updated.append(f"skill {code}")
    session.flush()
    return existing


def _sync_queues(
    session: Session, cfg: CentralitaConfig, skills: dict[str, Skill], report: SyncReport
) -> None:
    existing = {q.name: q for q in session.scalars(select(Queue))}
    wanted = cfg.queue_definitions()
    for name, qd in wanted.items():
        values = {
            "skill_id": skills[qd.skill].id,
            "language": qd.language,
            "servicelevel": qd.settings.servicelevel,
            "short_abandon": qd.settings.short_abandon,
        }
        queue = existing.get(name)
        if queue is None:
            session.add(Queue(name=name, **values))
            report.created.append(f"queue {name}")
        elif _put(queue, values):
            report.updated.append(f"queue {name}")
    for name, queue in existing.items():
        if name not in wanted:
            session.delete(queue)
            report.removed.append(f"queue {name}")
    session.flush()


def _sync_agents(
    session: Session, cfg: CentralitaConfig, skills: dict[str, Skill], report: SyncReport
) -> None:
    existing = {a.login: a for a in session.scalars(select(Agent))}
    wanted = {a.login: a for a in cfg.agents}
    # An interface may move from one login to another: free it first, or the
    # unique constraint trips halfway through the flush.
    claimed = {a.interface: a.login for a in cfg.agents}
    for login, agent in existing.items():
        owner = claimed.get(agent.interface)
        if owner is not None and owner != login:
            agent.interface = f"{agent.interface}#moved-{agent.id}"
    session.flush()
    for login, ac in wanted.items():
        values = {"name": ac.name, "interface": ac.interface, "email": ac.email, "active": True}
        agent = existing.get(login)
        if agent is None:
            agent = Agent(login=login, **values)
            session.add(agent)
            report.created.append(f"agent {login}")
        elif _put(agent, values):
            report.updated.append(f"agent {login}")
        levels = {s.skill.code: s for s in agent.skills}
        for code, level in ac.skills.items():
            row = levels.pop(code, None)
            if row is None:
                agent.skills.append(AgentSkill(skill=skills[code], level=level))
                report.created.append(f"agent {login} skill {code}={level}")
            elif row.level != level:
                row.level = level
                report.updated.append(f"agent {login} skill {code}={level}")
        for code, row in levels.items():
            agent.skills.remove(row)
            report.removed.append(f"agent {login} skill {code}")
    for login, agent in existing.items():
        if login not in wanted and agent.active:
            agent.active = False
            report.removed.append(f"agent {login} (deactivated)")
    session.flush()


def _drop_skills(
    session: Session, cfg: CentralitaConfig, skills: dict[str, Skill], report: SyncReport
) -> None:
    for code, skill in skills.items():
        if code in cfg.skills:
            continue
        for row in session.scalars(select(AgentSkill).where(AgentSkill.skill_id == skill.id)):
            session.delete(row)
        session.delete(skill)
        report.removed.append(f"skill {code}")
    session.flush()


def sync_from_config(session: Session, cfg: CentralitaConfig) -> SyncReport:
    """Write skills, queues (service level, short abandon), agents and skill levels.

    Flushes but does not commit: the caller owns the transaction.
    """
    report = SyncReport()
    skills = _sync_skills(session, cfg, report)
    _sync_queues(session, cfg, skills, report)
    _sync_agents(session, cfg, skills, report)
    _drop_skills(session, cfg, skills, report)
    return report
