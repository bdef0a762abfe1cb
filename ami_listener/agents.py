"""Agent live state from queue-member and agent events: a pure state machine.

Asterisk reports membership per queue (QueueMember*) and call activity per
member interface (AgentCalled/Connect/Complete). An agent's single state is
derived from both: oncall > ringing > wrapup > paused > available, and
logged_out when in no queue. Wrap-up lasts the queue's wrapuptime after
AgentComplete; it is expired by `tick(ts)` with event time (replays are
deterministic) and by the service's clock in live mode.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

STATES = ("logged_out", "available", "ringing", "oncall", "wrapup", "paused")


@dataclass(slots=True)
class AgentChange:
    """One row for AgentStateChange; `at` is epoch seconds from Asterisk's Timestamp."""

    login: str
    at: float
    kind: str
    queue: str = ""
    reason: str | None = None


@dataclass(slots=True)
class SessionChange:
    """Open (logout_at None) or close one AgentSession."""

    login: str
    interface: str
    queue: str
    penalty: int
    login_at: float
    logout_at: float | None = None


@dataclass(slots=True)
class AgentLive:
    login: str
    name: str
    interface: str
    queues: dict[str, int] = field(default_factory=dict)
    login_at: dict[str, float] = field(default_factory=dict)
    paused: bool = False
    pause_reason: str = ""
    ringing: set[str] = field(default_factory=set)  # ring channel uniqueids
    oncall: str | None = None  # linkedid of the call
    wrapup_until: float | None = None
    state: str = "logged_out"
    since: float = 0.0

    def derive(self, now: float) -> str:
        if not self.queues:
            return "logged_out"
        if self.oncall:
            return "oncall"
        if self.ringing:
            return "ringing"
        if self.wrapup_until is not None and now < self.wrapup_until:
            return "wrapup"
        if self.paused:
            return "paused"
        return "available"

    def as_hash(self) -> dict[str, object]:
        from ami_listener.timeutil import iso

        return {
            "login": self.login,
            "name": self.name,
            "interface": self.interface,
            "state": self.state,
            "pause_reason": self.pause_reason if self.paused else "",
            "since": iso(self.since) if self.since else "",
            "queues": dict(self.queues),
        }


def default_login(interface: str) -> str:
    """Fallback login for an interface not in the configuration: `PJSIP/agent1` → `agent1`."""
    return interface.split("/", 1)[-1] or interface


class AgentTracker:
    def __init__(
        self,
        interface_logins: dict[str, tuple[str, str]] | None = None,
        wrapup_for: Callable[[str], int] | None = None,
    ) -> None:
        # interface -> (login, display name), from cfg.agents
        self.interface_logins = dict(interface_logins or {})
        self.wrapup_for = wrapup_for or (lambda _q: 0)
        self.agents: dict[str, AgentLive] = {}
        self.by_member_name: dict[str, str] = {}
        self.changes: list[AgentChange] = []
        self.sessions: list[SessionChange] = []
        self.dirty: set[str] = set()
        self.touched_queues: set[str] = set()
        self._wrapups: dict[str, float] = {}

    # --- identity --------------------------------------------------------
    def agent_for(self, interface: str, member_name: str = "") -> AgentLive:
        if not interface and member_name in self.by_member_name:
            return self.agents[self.by_member_name[member_name]]
        login, name = self.interface_logins.get(interface, ("", ""))
        if not login:
            login = default_login(interface) if interface else member_name
        agent = self.agents.get(login)
        if agent is None:
            agent = AgentLive(login=login, name=name or member_name or login, interface=interface)
            self.agents[login] = agent
            self.dirty.add(login)
        if member_name:
            self.by_member_name[member_name] = login
            if not name and agent.name != member_name:
                agent.name = member_name
        return agent

    def login_for(self, interface: str, member_name: str = "") -> str:
        return self.agent_for(interface, member_name).login

    def _refresh(self, agent: AgentLive, now: float) -> None:
        state = agent.derive(now)
        if state != agent.state:
            agent.state = state
            agent.since = now
        self.dirty.add(agent.login)
        self.touched_queues.update(agent.queues)

    # --- membership ------------------------------------------------------
    def member_seen(
        self,
        msg_queue: str,
        interface: str,
        name: str,
        penalty: int,
        paused: bool,
        reason: str,
        login_time: float | None,
        ts: float,
    ) -> AgentLive:
        """Any member event or QueueMember list entry: make sure the membership exists."""
        agent = self.agent_for(interface, name)
        if msg_queue not in agent.queues:
            agent.queues[msg_queue] = penalty
            at = login_time if login_time else ts
            agent.login_at[msg_queue] = at
            self.changes.append(AgentChange(agent.login, at, "login", msg_queue))
            self.sessions.append(SessionChange(agent.login, interface, msg_queue, penalty, at))
        agent.queues[msg_queue] = penalty
        if paused != agent.paused or (paused and reason != agent.pause_reason):
            agent.paused = paused
            agent.pause_reason = reason if paused else ""
        self.touched_queues.add(msg_queue)
        self._refresh(agent, ts)
        return agent

    def member_added(
        self,
        queue: str,
        interface: str,
        name: str,
        penalty: int,
        paused: bool,
        reason: str,
        ts: float,
        login_time: float | None = None,
    ) -> None:
        """`login_time` is Asterisk's LoginTime (whole seconds), the same key QueueStatus
        reports after a restart, so a session is never opened twice."""
        self.member_seen(queue, interface, name, penalty, paused, reason, login_time or ts, ts)

    def member_removed(self, queue: str, interface: str, name: str, ts: float) -> None:
        agent = self.agent_for(interface, name)
        if queue in agent.queues:
            penalty = agent.queues.pop(queue)
            login_at = agent.login_at.pop(queue, ts)
            self.changes.append(AgentChange(agent.login, ts, "logout", queue))
            self.sessions.append(
                SessionChange(agent.login, interface, queue, penalty, login_at, logout_at=ts)
            )
        self.touched_queues.add(queue)
        self._refresh(agent, ts)

    def member_paused(
        self, queue: str, interface: str, name: str, paused: bool, reason: str, ts: float
    ) -> None:
        agent = self.agent_for(interface, name)
        if queue not in agent.queues:
            self.member_seen(queue, interface, name, 0, paused, reason, None, ts)
        agent.paused = paused
        agent.pause_reason = reason if paused else ""
        self.changes.append(
            AgentChange(
                agent.login, ts, "pause" if paused else "unpause", queue, reason if paused else None
            )
        )
        self._refresh(agent, ts)

    def member_penalty(
        self, queue: str, interface: str, name: str, penalty: int, ts: float
    ) -> None:
        agent = self.agent_for(interface, name)
        agent.queues[queue] = penalty
        self.touched_queues.add(queue)
        self._refresh(agent, ts)

    def resync_members(self, present: dict[str, set[str]], ts: float) -> None:
        """After a QueueStatus snapshot: memberships Asterisk no longer has are logged out.

        `present` maps login -> queues reported; a restart of Asterisk or a drop
        while agents logged out would otherwise leave ghosts in Redis.
        """
        for agent in self.agents.values():
            for queue in list(agent.queues):
                if queue not in present.get(agent.login, set()):
                    self.member_removed(queue, agent.interface, "", ts)

    # --- calls -----------------------------------------------------------
    def ring_started(self, agent: AgentLive, ring_uid: str, queue: str, ts: float) -> None:
        agent.ringing.add(ring_uid)
        self.changes.append(AgentChange(agent.login, ts, "ringing", queue))
        self._refresh(agent, ts)

    def ring_ended(self, login: str, ring_uid: str, ts: float) -> None:
        agent = self.agents.get(login)
        if agent is None or ring_uid not in agent.ringing:
            return
        agent.ringing.discard(ring_uid)
        self._refresh(agent, ts)

    def connected(self, login: str, linkedid: str, queue: str, ts: float) -> None:
        agent = self.agents[login]
        agent.ringing.clear()
        agent.oncall = linkedid
        agent.wrapup_until = None
        self.changes.append(AgentChange(login, ts, "oncall", queue))
        self._refresh(agent, ts)

    def completed(self, login: str, linkedid: str, queue: str, ts: float) -> None:
        agent = self.agents.get(login)
        if agent is None or agent.oncall != linkedid:
            return
        agent.oncall = None
        wrap = self.wrapup_for(queue)
        if wrap > 0:
            agent.wrapup_until = ts + wrap
            self._wrapups[login] = ts + wrap
            self.changes.append(AgentChange(login, ts, "wrapup", queue))
        else:
            self.changes.append(AgentChange(login, ts, "idle", queue))
        self._refresh(agent, ts)

    def tick(self, now: float) -> None:
        """Expire wrap-ups whose time has come (event time in replays, clock when live)."""
        if not self._wrapups:
            return
        for login, until in list(self._wrapups.items()):
            if until <= now:
                del self._wrapups[login]
                agent = self.agents[login]
                if agent.wrapup_until == until:
                    agent.wrapup_until = None
                    if not agent.oncall:
                        self.changes.append(AgentChange(login, until, "idle"))
                    self._refresh(agent, until)

    # --- queue figures ---------------------------------------------------
    def queue_figures(self, queue: str) -> tuple[int, int]:
        """(logged_in, available) for one queue."""
        logged = avail = 0
        for agent in self.agents.values():
            if queue in agent.queues:
                logged += 1
                if agent.state == "available":
                    avail += 1
        return logged, avail
