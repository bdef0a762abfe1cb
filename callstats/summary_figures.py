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

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from callstats.aggregate import AgentFigures, RulesFor, rules_from_config
from callstats.definitions import Figures
from servicedesk.call_summary import (
    SLOT_COUNTS,
    SLOT_SECONDS,
    SummaryRule,
    call_agent_summary,
    call_slot_summary,
    call_survey_summary,
    effective_rule,
    rebuild,
    stored_rules,
)
from servicedesk.config import CentralitaConfig

log = logging.getLogger(__name__)


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
    counts = [func.sum(t[c]) for c in (*SLOT_COUNTS, "ring_noanswer")]
    stmt = (
        select(t.queue, t.slot, *counts, func.max(t.longest_wait), func.max(t.longest_answer_wait))
        .where(t.slot >= slots[0], t.slot < slots[1])
        .group_by(t.queue, t.slot)
    )
    rows = session.execute(stmt).all()
    if not rules_match(session, {r[0] for r in rows}, rules_for):
        return None
    out: dict[tuple[str, int], Figures] = {}
    names = (*SLOT_COUNTS, "ring_noanswer", "longest_wait", "longest_answer_wait")
    for row in rows:
        v = dict(zip(names, (int(x or 0) for x in row[2:]), strict=True))
        if v["offered"] + v["join_empty"] == 0:
            continue  # every call of the slot was moved or deleted
        closed = (
            v["answered"]
            + v["abandoned"]
            + v["timeout"]
            + v["exit_empty"]
            + v["exit_key"]
            + v["withdraw"]
        )
        out[(row[0], int(row[1]))] = Figures(
            **v, open=v["offered"] - closed, sl_formula=rules_for(row[0]).sl_formula
        )
    return out


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
    rows = session.execute(
        select(t.agent, t.queue, *(func.sum(t[n]) for n in names))
        .where(t.slot >= slots[0], t.slot < slots[1])
        .group_by(t.agent, t.queue)
    ).all()
    if not rules_match(session, {r[1] for r in rows}, rules_for):
        return None
    out: dict[str, AgentFigures] = {}
    for agent, _queue, *values in rows:
        v = dict(zip(names, (int(x or 0) for x in values), strict=True))
        if v["answered"] == 0 and v["ring_noanswer"] == 0:
            continue
        f = out.get(agent)
        if f is None:
            f = out[agent] = AgentFigures(agent)
        for n, x in v.items():
            setattr(f, n, getattr(f, n) + x)
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


def config_rules(cfg: CentralitaConfig) -> dict[str, SummaryRule]:
    """Every configured queue's thresholds, and the defaults under ""."""
    rules_for = rules_from_config(cfg)
    out = {"": SummaryRule(rules_for("").servicelevel, rules_for("").short_abandon)}
    for q in set(cfg.queue_definitions()) | set(cfg.queues):
        r = rules_for(q)
        out[q] = SummaryRule(r.servicelevel, r.short_abandon)
    return out


def recount(conn: Connection, cfg: CentralitaConfig) -> None:
    """Store the configuration's thresholds and recount every summary (one transaction)."""
    rebuild(conn, config_rules(cfg))
