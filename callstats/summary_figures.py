"""The desk's figures read from the trigger-kept summaries (`servicedesk.call_summary`).

A month of a busy desk is a million call rows but only ~25,000 (PBX, queue,
15-minute slot) summary rows, so the whole desk's report reads those instead.
The answer is the same as counting the rows (`sql_figures`), which the tests
check on both engines, with late updates, rings and deletions:

* only for the whole desk (an organisation's calls are found through their
  contacts, which the summaries do not key; its report counts its own rows);
* only for windows that start and end on a slot boundary (month and day
  bounds in any time zone do);
* only while the thresholds the triggers counted with (`call_summary_rule`)
  are the configuration's for every queue in the window; otherwise the rows
  are counted and a warning says to run `centralita db summary`.

Each function returns None when the summary cannot answer, and the caller
counts the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, cast, func, select
from sqlalchemy.orm import Session

from callstats.aggregate import AgentFigures, RulesFor
from callstats.definitions import Figures
from servicedesk.call_summary import (
    SLOT_COUNTS,
    SLOT_SECONDS,
    SummaryRule,
    call_agent_summary,
    call_slot_summary,
    call_survey_summary,
    effective_rule,
    stored_rules,
)

log = logging.getLogger(__name__)
# `slot_figures` unpacks the summed columns in this order
assert (*SLOT_COUNTS, "ring_noanswer") == (
    "join_empty", "offered", "answered", "transferred", "answered_within_sl", "abandoned",
    "short_abandoned", "timeout", "exit_empty", "exit_key", "withdraw", "hold_answered_total",
    "talk_total", "talk_count", "asterisk_abandoned", "asterisk_abandoned_within_sl",
    "ring_noanswer",
)  # fmt: skip


def slot_range(start: datetime, end: datetime) -> tuple[int, int] | None:
    """[first slot, end slot) covering exactly [start, end), or None if not aligned."""
    a, b = start.timestamp(), end.timestamp()
    if a % SLOT_SECONDS or b % SLOT_SECONDS:
        return None
    return int(a) // SLOT_SECONDS, int(b) // SLOT_SECONDS


def rules_match(session: Session, queues: Iterable[str], rules_for: RulesFor) -> bool:
    """Whether the triggers counted every queue in `queues` with today's thresholds."""
    stored = stored_rules(session.connection())
    stale = sorted(
        q
        for q in set(queues)
        if effective_rule(stored, q)
        != SummaryRule(rules_for(q).servicelevel, rules_for(q).short_abandon)
    )
    if stale:
        log.warning(
            "call summaries were counted with other service-level thresholds for %s; "
            "counting the call rows instead (run `centralita db summary` to recount)",
            ", ".join(repr(q) for q in stale),
        )
    return not stale


def slot_figures(
    session: Session, start: datetime, end: datetime, rules_for: RulesFor
) -> dict[tuple[str, int], Figures] | None:
    """(queue, slot) → Figures for the whole desk, as `sql_figures.slot_figures`."""
    slots = slot_range(start, end)
    if slots is None:
        return None
    t = call_slot_summary.c
    names = (*SLOT_COUNTS, "ring_noanswer")
    stmt = (
        select(
            t.queue,
            t.slot,
            *(_sum(t[c]) for c in names),
            func.max(t.longest_wait),
            func.max(t.longest_answer_wait),
        )
        .where(t.slot >= slots[0], t.slot < slots[1])
        .group_by(t.queue, t.slot)
    )
    rows = session.connection().execute(stmt).all()  # plain rows: no ORM result layer
    if not rules_match(session, {r[0] for r in rows}, rules_for):
        return None
    out: dict[tuple[str, int], Figures] = {}
    formula_of: dict[str, str] = {}
    for row in rows:
        (q, slot, je, off, ans, tr, win, ab, short, to, ee, ek, wd, hold, talk, talk_n, aster,
         aster_sl, rna, longest, longest_ans) = row  # fmt: skip
        if off + je == 0:
            continue  # every call of the slot was moved or deleted
        formula = formula_of.get(q)
        if formula is None:
            formula = formula_of[q] = rules_for(q).sl_formula
        out[(q, slot)] = Figures(
            offered=off,
            answered=ans,
            transferred=tr,
            answered_within_sl=win,
            abandoned=ab,
            short_abandoned=short,
            timeout=to,
            exit_empty=ee,
            join_empty=je,
            exit_key=ek,
            withdraw=wd,
            open=off - (ans + ab + to + ee + ek + wd),
            hold_answered_total=hold,
            talk_total=talk,
            talk_count=talk_n,
            longest_wait=longest or 0,
            longest_answer_wait=longest_ans or 0,
            ring_noanswer=rna,
            asterisk_abandoned=aster,
            asterisk_abandoned_within_sl=aster_sl,
            sl_formula=formula,
        )
    return out


def _sum(column: Any) -> Any:
    """SUM as an integer on both engines. PostgreSQL's SUM(bigint) accumulates in
    numeric (a month's 23,000 slot groups × 17 sums: 45 MB and 70 ms of a 0.9 s
    report); SUM(integer) accumulates in bigint. One summary row's count fits an
    integer by far (a slot's talk seconds would need 68 years)."""
    return cast(func.sum(cast(column, Integer)), BigInteger)


def agent_figures(
    session: Session, start: datetime, end: datetime, rules_for: RulesFor
) -> dict[str, AgentFigures] | None:
    """Per agent, as `sql_figures.agent_figures` counts them, for the whole desk."""
    slots = slot_range(start, end)
    if slots is None:
        return None
    t = call_agent_summary.c
    names = (
        "answered",
        "transferred",
        "answered_within_sl",
        "talk_total",
        "talk_count",
        "hold_total",
        "hung_up_by_agent",
        "ring_noanswer",
    )
    queues = session.execute(
        select(call_slot_summary.c.queue)
        .where(call_slot_summary.c.slot >= slots[0], call_slot_summary.c.slot < slots[1])
        .distinct()
    ).scalars()
    if not rules_match(session, queues, rules_for):
        return None
    rows = session.execute(
        select(t.agent, *(_sum(t[n]) for n in names))
        .where(t.slot >= slots[0], t.slot < slots[1])
        .group_by(t.agent)
    ).all()
    out: dict[str, AgentFigures] = {}
    for agent, *values in rows:
        v = dict(zip(names, values, strict=True))
        if v["answered"] == 0 and v["ring_noanswer"] == 0:
            continue
        out[agent] = AgentFigures(agent, **v)
    return dict(sorted(out.items()))


def survey_counts(
    session: Session, start: datetime, end: datetime
) -> list[tuple[str, int, int]] | None:
    """(queue, score, responses) of the calls started in [start, end), whole desk."""
    slots = slot_range(start, end)
    if slots is None:
        return None
    t = call_survey_summary.c
    total = func.sum(t.responses)
    rows = session.execute(
        select(t.queue, t.score, total)
        .where(t.slot >= slots[0], t.slot < slots[1])
        .group_by(t.queue, t.score)
    ).all()
    return [(q, int(score), int(n)) for q, score, n in rows if n]
