"""Staffing from history: Erlang C per queue and 30-minute interval of the week.

Forecast: for each queue, weekday and local half-hour, the mean offered calls
over the same weekday's intervals in the history window (the last
`history_months` months) and the AHT of the answered calls there; Erlang C then
gives the agents needed for the queue's target (`wallboard.sl_warn_percent`
within `servicelevel` s), capped by the maximum occupancy; scheduled agents add
shrinkage: ⌈needed ÷ (1 − shrinkage)⌉.

Check: the agents actually logged in to the queue in each interval of a month
(mean over its occurrences: Σ logged-in seconds ÷ 1800) against the need:
under-staffed when below needed − tolerance, over-staffed when above
scheduled + tolerance.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from callstats import aggregate, erlang
from callstats.definitions import Figures
from callstats.sql_figures import CallScope, configured_queues, slot_figures
from servicedesk.config import CentralitaConfig
from servicedesk.contracts import month_bounds
from servicedesk.models import AgentSession

INTERVAL_MINUTES = 30
Key = tuple[str, int, time]  # queue, weekday (0 = Monday), local interval start


@dataclass(slots=True)
class IntervalNeed:
    queue: str
    weekday: int
    start: time
    calls: float  # mean offered per interval
    aht: float | None  # talk seconds
    handle: float | None  # aht + wrapuptime
    needed: int  # Erlang C agents on the phones
    scheduled: int  # with shrinkage
    service_level: float | None  # Erlang C's predicted SL with `needed`
    logged_in: float | None = None  # mean agents logged in (the check month)
    flag: str = ""  # "under" | "over" | ""


@dataclass
class StaffingPlan:
    history_from: date
    history_to: date  # exclusive
    shrinkage_percent: float
    max_occupancy_percent: float
    tolerance: float
    week_of: date | None = None  # the Monday of the week forecast
    needs: list[IntervalNeed] = field(default_factory=list)

    def flagged(self) -> list[IntervalNeed]:
        return [n for n in self.needs if n.flag]


def _months_before(year: int, month: int, n: int) -> tuple[int, int]:
    m = year * 12 + (month - 1) - n
    return m // 12, m % 12 + 1


def plan(
    session: Session,
    cfg: CentralitaConfig,
    history_start: datetime,
    history_end: datetime,
    *,
    organisation_id: int | None = None,
    known: dict[tuple[str, int], Figures] | None = None,
    known_from: datetime | None = None,
) -> StaffingPlan:
    """Needs per (queue, weekday, half-hour) from the calls in [history_start, history_end).

    `known` (slot figures already counted for [known_from, history_end), e.g. by the
    monthly report) spares counting that part again.
    """
    tz = ZoneInfo(cfg.service.timezone)
    st = cfg.reports.staffing
    rules_for = aggregate.rules_from_config(cfg)
    settings_for = aggregate.settings_from_config(cfg)
    upto = known_from if known is not None and known_from is not None else history_end
    slots = slot_figures(
        session,
        CallScope(history_start, upto, organisation_id),
        rules_for,
        configured_queues(cfg),
    )
    if known is not None and known_from is not None:
        slots.update(known)
    local_of: dict[int, tuple[int, time]] = {}
    buckets: dict[Key, Figures] = {}
    for (queue, slot), fig in slots.items():
        at = local_of.get(slot)
        if at is None:
            local = aggregate.interval_start(slot * 900, INTERVAL_MINUTES, tz)
            at = local_of[slot] = (local.weekday(), local.time())
        key = (queue, *at)
        acc = buckets.get(key)
        if acc is None:
            acc = buckets[key] = Figures(sl_formula=fig.sl_formula)
        acc.add(fig)
    # each queue's whole history, from the (few thousand) buckets rather than the slots
    per_queue: dict[str, Figures] = {}
    for (queue, _weekday, _start), fig in buckets.items():
        q = per_queue.get(queue)
        if q is None:
            q = per_queue[queue] = Figures(sl_formula=fig.sl_formula)
        q.add(fig)
    # how many times each weekday occurs in the window (local dates)
    first = history_start.astimezone(tz).date()
    last = (history_end - timedelta(seconds=1)).astimezone(tz).date()
    days: dict[int, int] = defaultdict(int)
    d = first
    while d <= last:
        days[d.weekday()] += 1
        d += timedelta(days=1)
    out = StaffingPlan(
        first,
        last + timedelta(days=1),
        st.shrinkage_percent,
        st.max_occupancy_percent,
        st.tolerance_agents,
    )
    shrink = st.shrinkage_percent / 100.0
    for (queue, weekday, start), fig in sorted(buckets.items()):
        if not queue or fig.offered == 0:
            continue
        s = settings_for(queue)
        mean_calls = fig.offered / max(1, days[weekday])
        aht = fig.aht if fig.aht is not None else per_queue[queue].aht
        handle = None if aht is None else aht + s.wrapuptime
        needed, sl = 0, None
        if handle is not None and handle > 0:
            target = s.wallboard.sl_warn_percent / 100.0
            staffing = erlang.agents_needed(
                mean_calls * 60.0 / INTERVAL_MINUTES,
                handle,
                target_sl=target if 0 < target < 1 else None,
                target_seconds=s.servicelevel,
                max_occupancy=st.max_occupancy_percent / 100.0,
            )
            needed, sl = staffing.agents, 100.0 * staffing.service_level
        out.needs.append(
            IntervalNeed(
                queue,
                weekday,
                start,
                round(mean_calls, 2),
                None if aht is None else round(aht, 1),
                None if handle is None else round(handle, 1),
                needed,
                math.ceil(needed / (1.0 - shrink)) if needed else 0,
                None if sl is None else round(sl, 1),
            )
        )
    return out


def history_plan_for_month(
    session: Session,
    cfg: CentralitaConfig,
    year: int,
    month: int,
    month_slots: dict[tuple[str, int], Figures] | None = None,
) -> StaffingPlan:
    """The plan from the `history_months` months ending with (year, month), checked
    against the agents logged in during that month. `month_slots`: that month's
    desk-wide slot figures when the caller has them already."""
    tz = ZoneInfo(cfg.service.timezone)
    n = cfg.reports.staffing.history_months
    fy, fm = _months_before(year, month, n - 1)
    start, _ = month_bounds(fy, fm, tz)
    month_start, end = month_bounds(year, month, tz)
    p = plan(session, cfg, start, end, known=month_slots, known_from=month_start)
    check_logged_in(session, cfg, p, month_start, end)
    return p


def next_week_plan(session: Session, cfg: CentralitaConfig, today: date) -> StaffingPlan:
    """Next week's needs (from the Monday after `today`) from the last `history_months`
    months of calls up to today's local midnight; checked against the last 4 weeks."""
    tz = ZoneInfo(cfg.service.timezone)
    end = datetime(today.year, today.month, today.day, tzinfo=tz)
    fy, fm = _months_before(today.year, today.month, cfg.reports.staffing.history_months)
    day = min(today.day, 28)
    start = datetime(fy, fm, day, tzinfo=tz)
    p = plan(session, cfg, start.astimezone(UTC), end.astimezone(UTC))
    p.week_of = today + timedelta(days=7 - today.weekday())
    check_logged_in(
        session, cfg, p, (end - timedelta(days=28)).astimezone(UTC), end.astimezone(UTC)
    )
    return p


def logged_in_per_interval(
    session: Session, tz: ZoneInfo, start: datetime, end: datetime
) -> dict[Key, float]:
    """(queue, weekday, half-hour) → mean agents logged in over [start, end)'s occurrences."""
    rows = session.execute(
        select(AgentSession.queue, AgentSession.login_at, AgentSession.logout_at).where(
            AgentSession.login_at < end,
            (AgentSession.logout_at.is_(None)) | (AgentSession.logout_at > start),
        )
    ).all()
    s0, e0 = start.timestamp(), min(end.timestamp(), datetime.now(UTC).timestamp())
    seconds: dict[Key, float] = defaultdict(float)
    step = INTERVAL_MINUTES * 60
    for queue, a, b in rows:
        lo = max(a.timestamp(), s0)
        hi = min(b.timestamp() if b is not None else e0, e0)
        t = lo
        while t < hi:
            slot_start = t - t % step  # whole half-hours in UTC are whole half-hours locally
            nxt = min(hi, slot_start + step)
            local = datetime.fromtimestamp(slot_start, UTC).astimezone(tz)
            seconds[(queue, local.weekday(), local.time())] += nxt - t
            t = nxt
    occurrences: dict[int, int] = defaultdict(int)
    d = start.astimezone(tz).date()
    last = (end - timedelta(seconds=1)).astimezone(tz).date()
    while d <= last:
        occurrences[d.weekday()] += 1
        d += timedelta(days=1)
    return {k: v / step / max(1, occurrences[k[1]]) for k, v in seconds.items()}


def check_logged_in(
    session: Session, cfg: CentralitaConfig, p: StaffingPlan, start: datetime, end: datetime
) -> None:
    """Fill `logged_in` and `flag` of each need from the agents logged in over [start, end)."""
    tz = ZoneInfo(cfg.service.timezone)
    actual = logged_in_per_interval(session, tz, start, end)
    for need in p.needs:
        have = round(actual.get((need.queue, need.weekday, need.start), 0.0), 2)
        need.logged_in = have
        if have < need.needed - p.tolerance:
            need.flag = "under"
        elif have > need.scheduled + p.tolerance:
            need.flag = "over"
