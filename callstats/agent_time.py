"""Agent time: logged-in and paused seconds per agent, and occupancy.

Definitions (per agent, clipped to the period [start, end) and to `as_of` for
sessions still open):

* **logged in** = the union of the agent's queue sessions (AgentSession
  login_at .. logout_at): an agent in three queues at once is logged in once;
* **paused** = time logged in while paused in at least one queue (from the
  `pause` / `unpause` / `logout` rows of AgentStateChange), whatever the reason;
* **available time** = logged in − paused;
* **occupancy %** = talk seconds of the calls the agent answered in the period
  ÷ available time. Ring and wrap-up time are not talk, so 100 % is not reachable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicedesk.models import AgentSession, AgentStateChange

Span = tuple[float, float]


def union_seconds(spans: Iterable[Span], start: float, end: float) -> float:
    """Total length of the union of `spans`, each clipped to [start, end)."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in spans if b > start and a < end)
    total = 0.0
    cur_a = cur_b = None
    for a, b in clipped:
        if b <= a:
            continue
        if cur_b is None or a > cur_b:
            if cur_b is not None and cur_a is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        elif b > cur_b:
            cur_b = b
    if cur_a is not None and cur_b is not None:
        total += cur_b - cur_a
    return total


def paused_spans(changes: Iterable[tuple[float, str, str]], until: float) -> list[Span]:
    """Spans paused in at least one queue, from time-ordered (at, kind, queue) rows.

    A `pause` in a queue lasts until that queue's `unpause` or `logout`; a queue
    name of "" (an event for every queue) pauses / unpauses them all.
    """
    paused: set[str] = set()
    spans: list[Span] = []
    since: float | None = None
    for at, kind, queue in sorted(changes):
        before = bool(paused)
        if kind == "pause":
            paused.add(queue)
        elif kind in ("unpause", "logout"):
            if queue:
                paused.discard(queue)
                paused.discard("")
            else:
                paused.clear()
        else:
            continue
        if not before and paused:
            since = at
        elif before and not paused and since is not None:
            spans.append((since, at))
            since = None
    if paused and since is not None and until > since:
        spans.append((since, until))
    return spans


@dataclass(slots=True)
class AgentTime:
    agent: str
    logged_in_s: float = 0.0
    paused_s: float = 0.0
    talk_s: int = 0

    @property
    def available_s(self) -> float:
        return max(0.0, self.logged_in_s - self.paused_s)

    @property
    def occupancy(self) -> float | None:
        """talk ÷ (logged in − paused), %; None without available time."""
        avail = self.available_s
        return None if avail <= 0 else 100.0 * self.talk_s / avail


def agent_times(
    session: Session,
    start: datetime,
    end: datetime,
    as_of: datetime,
    talk_by_agent: dict[str, int] | None = None,
) -> dict[str, AgentTime]:
    """Per agent login: logged-in and paused seconds in [start, end), talk from the calls."""
    s, e = start.timestamp(), end.timestamp()
    until = min(e, as_of.timestamp())
    sessions = session.execute(
        select(AgentSession.agent_login, AgentSession.login_at, AgentSession.logout_at).where(
            AgentSession.login_at < end,
            (AgentSession.logout_at.is_(None)) | (AgentSession.logout_at > start),
        )
    ).all()
    spans: dict[str, list[Span]] = {}
    for login, a, b in sessions:
        stop = b.timestamp() if b is not None else until
        spans.setdefault(login, []).append((a.timestamp(), stop))
    changes = session.execute(
        select(
            AgentStateChange.agent_login,
            AgentStateChange.at,
            AgentStateChange.kind,
            AgentStateChange.queue,
        ).where(
            AgentStateChange.at < end,
            AgentStateChange.kind.in_(("pause", "unpause", "logout")),
        )
    ).all()
    per_agent: dict[str, list[tuple[float, str, str]]] = {}
    for login, at, kind, queue in changes:
        per_agent.setdefault(login, []).append((at.timestamp(), kind, queue or ""))
    out: dict[str, AgentTime] = {}
    for login in sorted(set(spans) | set(per_agent) | set(talk_by_agent or {})):
        t = AgentTime(login, talk_s=(talk_by_agent or {}).get(login, 0))
        t.logged_in_s = union_seconds(spans.get(login, []), s, until)
        paused = paused_spans(per_agent.get(login, []), until)
        # paused only counts while logged in
        t.paused_s = sum(
            union_seconds([(max(a, pa), min(b, pb)) for a, b in spans.get(login, [])], s, until)
            for pa, pb in paused
        )
        out[login] = t
    return out
