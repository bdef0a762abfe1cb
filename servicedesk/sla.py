"""SLA clocks: due times and clock states, measured in business time.

Pure functions over the configuration and instants, so the incidents module,
the panel and the reports all agree on what "at risk" or "breached" means.
A clock stops outside its calendar's hours: a 1 h response target on the office
calendar for a ticket opened at 12:30 on Thursday is due at 15:30.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from servicedesk.calendar import BusinessCalendar
from servicedesk.config import CalendarConfig, CentralitaConfig

ClockState = Literal["none", "met", "breached", "at_risk", "on_track"]

_CALENDARS: dict[int, tuple[CalendarConfig, BusinessCalendar]] = {}


def calendar_for(cfg: CentralitaConfig, name: str) -> BusinessCalendar:
    """The BusinessCalendar for a named calendar, built once per config object.

    Reusing it matters: a calendar caches holidays and per-day intervals.
    """
    cal_cfg = cfg.calendars[name]
    hit = _CALENDARS.get(id(cal_cfg))
    if hit is not None and hit[0] is cal_cfg:
        return hit[1]
    if len(_CALENDARS) > 256:
        _CALENDARS.clear()
    cal = BusinessCalendar.from_config(cal_cfg)
    _CALENDARS[id(cal_cfg)] = (cal_cfg, cal)
    return cal


def due_times(
    cfg: CentralitaConfig, priority: str, created_at: datetime
) -> tuple[datetime | None, datetime | None]:
    """(response_due, resolution_due) for a ticket of `priority` created at `created_at`.

    None for a target without a clock (planned work). A zero-minute target is due
    at the calendar's next opening (at creation on a 24x7 calendar).
    """
    target = cfg.sla.priorities[priority]  # type: ignore[index]
    if target.calendar is None:
        return None, None
    cal = calendar_for(cfg, target.calendar)
    response = (
        cal.add(created_at, timedelta(minutes=target.response_minutes))
        if target.response_minutes is not None
        else None
    )
    resolution = (
        cal.add(created_at, timedelta(minutes=target.resolution_minutes))
        if target.resolution_minutes is not None
        else None
    )
    return response, resolution


def clock_state(
    target_start: datetime,
    due: datetime | None,
    now: datetime,
    done_at: datetime | None,
    at_risk_percent: float,
    calendar: BusinessCalendar,
) -> ClockState:
    """The state of one clock.

    * ``none``: no clock (`due` is None);
    * ``met`` / ``breached``: done at or before / after `due`;
    * not done: ``breached`` once `now` > `due`; ``at_risk`` once the business
      time elapsed since `target_start` reaches `at_risk_percent` of the target
      (a zero-length target is at risk until it is met or breached);
      else ``on_track``.
    """
    if due is None:
        return "none"
    if done_at is not None:
        return "met" if done_at <= due else "breached"
    if now > due:
        return "breached"
    target = calendar.elapsed(target_start, due) if due > target_start else timedelta(0)
    if target <= timedelta(0):
        return "at_risk"
    used = calendar.elapsed(target_start, now) if now > target_start else timedelta(0)
    if used * 100 >= target * at_risk_percent:
        return "at_risk"
    return "on_track"


def remaining(
    due: datetime | None, now: datetime, done_at: datetime | None, calendar: BusinessCalendar
) -> timedelta | None:
    """Business time left until `due`; once past it, minus the business time overdue.

    A deadline that passed outside hours is overdue by zero business time (the
    state is still ``breached``: the deadline is an instant).

    None when there is no clock or the clock is done.
    """
    if due is None or done_at is not None:
        return None
    if now <= due:
        return calendar.elapsed(now, due)
    return -calendar.elapsed(due, now)


@dataclass(frozen=True)
class SlaStatus:
    response_state: ClockState
    resolution_state: ClockState
    response_due: datetime | None
    resolution_due: datetime | None
    response_remaining: timedelta | None
    resolution_remaining: timedelta | None

    @property
    def worst(self) -> ClockState:
        """The state to show when only one fits: breached > at_risk > on_track > met > none."""
        order = ("breached", "at_risk", "on_track", "met", "none")
        return min(self.response_state, self.resolution_state, key=order.index)  # type: ignore[return-value]


def sla_status_for(
    cfg: CentralitaConfig,
    priority: str,
    created_at: datetime,
    first_response_at: datetime | None,
    resolved_at: datetime | None,
    now: datetime,
    *,
    response_due: datetime | None = None,
    resolution_due: datetime | None = None,
) -> SlaStatus:
    """Both clocks of one incident at `now`.

    Pass the stored due times when the incident has them (a priority change may
    have recomputed them); otherwise they are computed from the policy.
    """
    target = cfg.sla.priorities[priority]  # type: ignore[index]
    if target.calendar is None:
        return SlaStatus("none", "none", None, None, None, None)
    cal = calendar_for(cfg, target.calendar)
    if response_due is None and resolution_due is None:
        response_due, resolution_due = due_times(cfg, priority, created_at)
    pct = cfg.sla.at_risk_percent
    return SlaStatus(
        response_state=clock_state(created_at, response_due, now, first_response_at, pct, cal),
        resolution_state=clock_state(created_at, resolution_due, now, resolved_at, pct, cal),
        response_due=response_due,
        resolution_due=resolution_due,
        response_remaining=remaining(response_due, now, first_response_at, cal),
        resolution_remaining=remaining(resolution_due, now, resolved_at, cal),
    )
