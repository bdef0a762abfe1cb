"""The definitions' figures computed by the database (GROUP BY), not in Python.

A month of a busy desk is a million call rows; loading them to count them costs
seconds and a gigabyte. Here the database groups them per queue and per
15-minute UTC slot (one row per group, a few thousand a month) and Python only
merges those `Figures` into days, hours and half-hours of the service's local
clock. Every zone offset in use is a multiple of 15 minutes, so a UTC slot lies
in exactly one local interval of 15, 30 or 60 minutes.

Each SQL expression below is the SQL spelling of one rule in
`callstats.definitions` (`Figures.count`); the tests check both give the same
figures on the recorded traces and on random fixtures, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from callstats import summary_figures
from callstats.aggregate import AgentFigures, RulesFor
from callstats.definitions import Figures, QueueCall, QueueRules
from servicedesk.config import CentralitaConfig
from servicedesk.models import Call, Contact, RingAttempt

SLOT_SECONDS = 900
Slot = int  # epoch seconds // 900


@dataclass(frozen=True, slots=True)
class CallScope:
    """Which calls: the window and, optionally, one organisation's callers."""

    start: datetime
    end: datetime
    organisation_id: int | None = None


def epoch_seconds(session: Session, column: Any) -> ColumnElement[Any]:
    """A datetime column as integer epoch seconds, on SQLite or PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    return cast(func.floor(func.extract("epoch", column)), Integer)


def window(scope: CallScope) -> ColumnElement[bool]:
    """Entered in [start, end), or refused (join_empty) with a start in it (as `records`)."""
    entered = and_(
        Call.entered_queue_at.is_not(None),
        Call.entered_queue_at >= scope.start,
        Call.entered_queue_at < scope.end,
    )
    refused = and_(
        Call.entered_queue_at.is_(None),
        Call.outcome == "join_empty",
        Call.started_at >= scope.start,
        Call.started_at < scope.end,
    )
    return or_(entered, refused)


def _where(scope: CallScope) -> list[ColumnElement[bool]]:
    return [window(scope)]


def _scoped(stmt: Any, scope: CallScope) -> Any:
    """One organisation's calls: joined from its contacts, so the planner walks each
    contact's calls of the month (ix_call_contact_entered), not every call of the month."""
    if scope.organisation_id is None:
        return stmt
    return stmt.join(Contact, Contact.id == Call.contact_id).where(
        Contact.organisation_id == scope.organisation_id
    )


def _windows(scope: CallScope) -> list[ColumnElement[bool]]:
    """`window` as disjoint parts: for one organisation, the calls that entered a queue
    (index: contact, entered time) and the joinempty refusals (contact, start time) are
    counted apart and merged, each part able to use its index where an OR of both
    could use neither; the whole desk keeps the one condition."""
    if scope.organisation_id is None:
        return [window(scope)]
    return [
        and_(
            Call.entered_queue_at.is_not(None),
            Call.entered_queue_at >= scope.start,
            Call.entered_queue_at < scope.end,
        ),
        and_(
            Call.entered_queue_at.is_(None),
            Call.outcome == "join_empty",
            Call.started_at >= scope.start,
            Call.started_at < scope.end,
        ),
    ]


def _per_queue(queues: Iterable[str], rules_for: RulesFor, attr: str) -> ColumnElement[int]:
    """The queue's rule (servicelevel or short_abandon) as a CASE over the queue name."""
    default = getattr(rules_for("\x00no-such-queue"), attr)
    whens = {q: getattr(rules_for(q), attr) for q in queues}
    whens = {q: v for q, v in whens.items() if v != default}
    if not whens:
        return literal(default)
    return case(whens, value=Call.queue, else_=default)


def _rule_queues(session: Session, scope: CallScope, queues: Iterable[str]) -> set[str]:
    """The queues whose rules the SQL must spell out: those given (every queue the
    configuration names; any other gets the defaults), else those in the data."""
    names = set(queues)
    if names:
        return names
    return {
        q or ""
        for (q,) in session.execute(
            _scoped(select(Call.queue).where(*_where(scope)), scope).distinct()
        ).all()
    }


def configured_queues(cfg: CentralitaConfig) -> set[str]:
    """Every queue name the configuration gives settings to."""
    return set(cfg.queue_definitions()) | set(cfg.queues)


def slot_figures(
    session: Session, scope: CallScope, rules_for: RulesFor, queues: Iterable[str] = ()
) -> dict[tuple[str, Slot], Figures]:
    """(queue, 15-minute UTC slot) → Figures, counted by the database.

    `queues` names the queues whose rules differ from the defaults (those of the
    configuration); any other queue gets `rules_for`'s default rules.

    The window admits a row without an entered time only when it is a joinempty
    refusal, so every condition below tests the stored outcome directly (one
    cheap comparison per aggregate and row): `open` is what no outcome claims.

    The whole desk's figures come from the trigger-kept summaries when they can
    answer (`summary_figures`): the same figures, from thousands of rows.
    """
    if scope.organisation_id is None:
        summed = summary_figures.slot_figures(session, scope.start, scope.end, rules_for)
        if summed is not None:
            return summed
    names = _rule_queues(session, scope, queues)
    sl = _per_queue(names, rules_for, "servicelevel")
    short = _per_queue(names, rules_for, "short_abandon")
    hold = func.coalesce(Call.hold_seconds, 0)
    when_at = func.coalesce(Call.entered_queue_at, Call.started_at)
    slot = epoch_seconds(session, when_at) // SLOT_SECONDS
    outcome = Call.outcome
    answered = outcome.in_(("answered", "transferred"))
    aster = outcome.in_(("abandoned", "timeout", "exit_empty", "withdraw"))
    closed = outcome.in_(_CLOSED)

    def n(cond: ColumnElement[bool]) -> Any:
        # aggregate FILTER: PostgreSQL and SQLite (3.30+) skip the row before aggregating
        return func.count().filter(cond)

    queue = func.coalesce(Call.queue, "")
    stmt = select(
        queue.label("q_key"),
        slot.label("slot_key"),
        n(Call.entered_queue_at.is_(None)),
        func.count(Call.entered_queue_at),
        n(answered),
        n(outcome == "transferred"),
        n(and_(answered, hold <= sl)),
        n(outcome == "abandoned"),
        n(and_(outcome == "abandoned", hold < short)),
        n(outcome == "timeout"),
        n(outcome == "exit_empty"),
        n(outcome.in_(("exit_key", "callback_requested"))),
        n(outcome == "withdraw"),
        func.sum(hold).filter(answered),
        func.sum(Call.talk_seconds).filter(answered),
        func.count(Call.talk_seconds).filter(answered),
        func.max(Call.hold_seconds).filter(closed),
        func.max(hold).filter(answered),
        n(aster),
        n(and_(aster, hold <= sl)),
    ).where(Call.origin_pbx_id.is_(None))  # continued legs from another PBX: see records
    groups = (literal_column("q_key"), literal_column("slot_key"))
    rows = [
        row
        for part in _windows(scope)
        for row in session.execute(_scoped(stmt.where(part).group_by(*groups), scope))
    ]
    out: dict[tuple[str, Slot], Figures] = {}
    formula_of: dict[str, str] = {}
    for row in rows:
        q = row[0]
        formula = formula_of.get(q)
        if formula is None:
            formula = formula_of[q] = rules_for(q).sl_formula
        (
            join_empty,
            offered_n,
            answered_n,
            transferred,
            within,
            abandoned,
            short_n,
            timeout,
            exit_empty,
            exit_key,
            withdraw,
            hold_total,
            talk_total,
            talk_count,
            longest,
            longest_answer,
            aster_n,
            aster_sl,
        ) = (int(v or 0) for v in row[2:])
        closed_n = answered_n + abandoned + timeout + exit_empty + exit_key + withdraw
        fig = Figures(
            offered=offered_n,
            answered=answered_n,
            transferred=transferred,
            answered_within_sl=within,
            abandoned=abandoned,
            short_abandoned=short_n,
            timeout=timeout,
            exit_empty=exit_empty,
            join_empty=join_empty,
            exit_key=exit_key,
            withdraw=withdraw,
            open=offered_n - closed_n,
            hold_answered_total=hold_total,
            talk_total=talk_total,
            talk_count=talk_count,
            longest_wait=longest,
            longest_answer_wait=longest_answer,
            asterisk_abandoned=aster_n,
            asterisk_abandoned_within_sl=aster_sl,
            sl_formula=formula,
        )
        key = (q, int(row[1]))
        if key in out:  # the same slot in both parts of the window
            out[key].add(fig)
        else:
            out[key] = fig
    # rings not answered (RINGNOANSWER, busy) of the same calls, per group
    rings = (
        select(queue.label("q_key"), slot.label("slot_key"), func.count())
        .select_from(RingAttempt)
        .join(Call, Call.id == RingAttempt.call_id)
        .where(RingAttempt.result.in_(("noanswer", "busy")), Call.origin_pbx_id.is_(None))
    )
    for part in _windows(scope):
        for q, s, count in session.execute(_scoped(rings.where(part).group_by(*groups), scope)):
            found = out.get((q, int(s)))
            if found is not None:
                found.ring_noanswer += int(count)
    return out


# outcomes that close a queue entry (an entered call with any other outcome is still open)
_CLOSED = (
    "answered",
    "transferred",
    "abandoned",
    "timeout",
    "exit_empty",
    "exit_key",
    "callback_requested",
    "withdraw",
)


def slot_figures_from_calls(
    calls: Iterable[QueueCall], rules_for: RulesFor, start: float, end: float
) -> dict[tuple[str, Slot], Figures]:
    """The same (queue, slot) grouping over QueueCalls (e.g. from a queue_log file)."""
    out: dict[tuple[str, Slot], Figures] = {}
    rules: dict[str, QueueRules] = {}
    for c in calls:
        if not start <= c.entered_at < end:
            continue
        r = rules.get(c.queue)
        if r is None:
            r = rules[c.queue] = rules_for(c.queue)
        key = (c.queue, int(c.entered_at // SLOT_SECONDS))
        fig = out.get(key)
        if fig is None:
            fig = out[key] = Figures(sl_formula=r.sl_formula)
        fig.count(c, r)
    return out


def merge(
    slots: dict[tuple[str, Slot], Figures],
    key: Callable[[str, Slot], Any],
    formula_for: Callable[[Any], str],
) -> dict[Any, Figures]:
    """Merge slot figures under `key(queue, slot)`; each group's SL formula from `formula_for`."""
    out: dict[Any, Figures] = {}
    for (queue, slot), fig in slots.items():
        k = key(queue, slot)
        acc = out.get(k)
        if acc is None:
            acc = out[k] = Figures(sl_formula=formula_for(k))
        acc.add(fig)
    return out


def agent_figures(
    session: Session, scope: CallScope, rules_for: RulesFor, queues: Iterable[str] = ()
) -> dict[str, AgentFigures]:
    """Per agent (login, else member name), as `aggregate.by_agent` counts them."""
    if scope.organisation_id is None:
        summed = summary_figures.agent_figures(session, scope.start, scope.end, rules_for)
        if summed is not None:
            return summed
    sl = _per_queue(_rule_queues(session, scope, queues), rules_for, "servicelevel")
    outcome = Call.outcome
    answered = outcome.in_(("answered", "transferred"))
    hold = func.coalesce(Call.hold_seconds, 0)
    # `row.agent_login or row.agent_member`: an empty login falls back to the member
    agent = case(
        (and_(Call.agent_login.is_not(None), Call.agent_login != ""), Call.agent_login),
        else_=Call.agent_member,
    )

    def n(cond: ColumnElement[bool]) -> Any:
        return func.sum(case((cond, 1), else_=0))

    stmt = (
        select(
            agent.label("agent_key"),
            func.count(),
            n(outcome == "transferred"),
            n(hold <= sl),
            func.sum(func.coalesce(Call.talk_seconds, 0)),
            n(Call.talk_seconds.is_not(None)),
            func.sum(hold),
            n(Call.hung_up_by == "agent"),
        )
        .where(*_where(scope), answered, agent.is_not(None), agent != "")
        .group_by(literal_column("agent_key"))
    )
    out: dict[str, AgentFigures] = {}
    for name, ans, tr, within, talk, talk_n, hold_t, hung in session.execute(_scoped(stmt, scope)):
        out[name] = AgentFigures(
            name,
            answered=int(ans),
            transferred=int(tr or 0),
            answered_within_sl=int(within or 0),
            talk_total=int(talk or 0),
            talk_count=int(talk_n or 0),
            hold_total=int(hold_t or 0),
            hung_up_by_agent=int(hung or 0),
        )
    rings = (
        select(RingAttempt.agent_login, func.count())
        .join(Call, Call.id == RingAttempt.call_id)
        .where(*_where(scope), RingAttempt.result.in_(("noanswer", "busy")))
        .group_by(RingAttempt.agent_login)
    )
    for login, count in session.execute(_scoped(rings, scope)):
        name = login or ""
        f = out.get(name)
        if f is None:
            f = out[name] = AgentFigures(name)
        f.ring_noanswer += int(count)
    return dict(sorted(out.items()))
