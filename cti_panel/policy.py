"""Who may do what to which incident, call and contact: the panel's written policy.

Supervisors and administrators act on everything. An agent acts on:
- incidents they own;
- unowned incidents at or below their tier whose category is one of their skills
  (or that have no category yet) — taking one makes it theirs;
- resolved incidents they are asked to verify: ones they owned, or to which a
  call they answered is linked (the reporter phoning back to confirm);
- their own calls (wrap-up, linking, creating from the pop);
- contact cards of callers on their own calls; other contacts only by search.
Everyone may read incidents. The page offers only what the lifecycle allows
*and* this policy permits, and the server checks both again on submit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from servicedesk import incidents as core
from servicedesk.bus import AGENT_POPS_KEPT, Bus
from servicedesk.config import AgentConfig, CentralitaConfig
from servicedesk.models import Call, Incident, IncidentCall

STAFF_ROLES = ("supervisor", "admin")
RECENT_POPS = AGENT_POPS_KEPT  # how far back a pop proves "this call reached me"


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    agent_login: str | None

    @property
    def staff(self) -> bool:
        return self.role in STAFF_ROLES


def agent_of(cfg: CentralitaConfig, login: str | None) -> AgentConfig | None:
    return next((a for a in cfg.agents if a.login == login), None) if login else None


def lifecycle_actions(inc: Incident) -> set[str]:
    """The workflow steps the incident's state allows (servicedesk.incidents.TRANSITIONS)."""
    status = inc.status
    if status == "closed":
        return set()
    if status == "resolved":
        return {"verify", "comment"}
    allowed = core.TRANSITIONS[status]
    out = {"update", "comment"}
    if "assigned" in allowed:
        out.add("assign")
    if "in_progress" in allowed and status != "in_progress":
        out.add("start")
    if "escalated" in allowed and inc.level < core.MAX_LEVEL:
        out.add("escalate")
    if "resolved" in allowed:
        out.add("resolve")
    return out


def _linked_call_answered_by(session: Session, inc: Incident, login: str) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    IncidentCall.incident_id == inc.id,
                    IncidentCall.call_id == Call.id,
                    Call.agent_login == login,
                )
            )
        )
    )


def may_work(session: Session, cfg: CentralitaConfig, actor: Actor, inc: Incident) -> bool:
    """Whether `actor` may change this incident at all (read access is for everyone)."""
    if actor.staff:
        return True
    me = agent_of(cfg, actor.agent_login)
    if me is None:
        return False
    if inc.assignee_login == me.login:
        return True
    if inc.status == "resolved":
        return _linked_call_answered_by(session, inc, me.login) or _owned_before(inc, me.login)
    if inc.assignee_login is None:
        return inc.level <= me.tier and (inc.category is None or inc.category in me.skills)
    return False


def _owned_before(inc: Incident, login: str) -> bool:
    return login in owner_history(inc)


def allowed_actions(
    session: Session, cfg: CentralitaConfig, actor: Actor, inc: Incident
) -> set[str]:
    actions = lifecycle_actions(inc)
    if not may_work(session, cfg, actor, inc):
        return set()
    if (
        not actor.staff
        and "assign" in actions
        and inc.assignee_login not in (None, actor.agent_login)
    ):
        actions.discard("assign")
    return actions


def assignable_agents(cfg: CentralitaConfig, actor: Actor, inc: Incident) -> list[AgentConfig]:
    """Staff may give the incident to anyone at its level; an agent may take it, or hand
    their own incident to a colleague at its level."""
    at_level = [a for a in cfg.agents if a.tier >= inc.level]
    if actor.staff or inc.assignee_login == actor.agent_login:
        return at_level
    me = agent_of(cfg, actor.agent_login)
    return [me] if me is not None and me in at_level else []


def escalation_targets(cfg: CentralitaConfig, level: int) -> list[AgentConfig]:
    """Panel users who can own the incident at `level` (agents whose tier reaches it)."""
    return [a for a in cfg.agents if a.tier >= level]


def owner_history(inc: Incident) -> list[str]:
    """Every owner the incident has had, in order (from its audit trail)."""
    owners: list[str] = []
    for ev in sorted(inc.events, key=lambda e: (e.at, e.id or 0)):
        data = ev.data or {}
        who = data.get("assignee") if ev.kind in ("assigned", "started", "escalated") else None
        if who and (not owners or owners[-1] != who):
            owners.append(str(who))
    return owners


def may_use_call(bus: Bus, actor: Actor, call: Call) -> bool:
    """An agent's own call: answered by them, or popped on their screen."""
    if actor.staff:
        return True
    if not actor.agent_login:
        return False
    if call.agent_login == actor.agent_login:
        return True
    return call.linkedid in _popped_calls(bus, actor.agent_login)


def _popped_calls(bus: Bus, login: str) -> set[str]:
    entries = bus.r.xrevrange(bus.keys.agent_pops(login), count=RECENT_POPS)
    return {str(f.get("call_id", "")) for _, f in entries}


def may_see_contact(session: Session, bus: Bus, actor: Actor, contact_id: int) -> bool:
    """Contact cards: staff always; an agent only for a caller on one of their calls."""
    if actor.staff:
        return True
    if not actor.agent_login:
        return False
    entries = bus.r.xrevrange(bus.keys.agent_pops(actor.agent_login), count=RECENT_POPS)
    if any(str(f.get("contact_id", "")) == str(contact_id) for _, f in entries):
        return True
    return bool(
        session.scalar(
            select(
                exists().where(Call.agent_login == actor.agent_login, Call.contact_id == contact_id)
            )
        )
    )
