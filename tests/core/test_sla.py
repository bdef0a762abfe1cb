"""SLA due times and clock states on the example configuration's calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from servicedesk.config import SlaConfig, SlaTarget
from servicedesk.sla import SlaStatus, calendar_for, clock_state, due_times, sla_status_for

MX = ZoneInfo("America/Mexico_City")
H = timedelta(hours=1)
M = timedelta(minutes=1)
THU_1230 = datetime(2026, 11, 19, 12, 30, tzinfo=MX)


def test_due_times_per_priority(example_config):
    cfg = example_config
    # high: 1 h response, 4 h resolution on the office calendar (lunch 13-15, Fri to 17)
    assert due_times(cfg, "high", THU_1230) == (
        datetime(2026, 11, 19, 15, 30, tzinfo=MX),
        datetime(2026, 11, 20, 9, 30, tzinfo=MX),
    )
    assert due_times(cfg, "medium", THU_1230) == (
        datetime(2026, 11, 19, 16, 30, tzinfo=MX),
        datetime(2026, 11, 20, 9, 30, tzinfo=MX),
    )
    assert due_times(cfg, "low", THU_1230) == (
        datetime(2026, 11, 20, 9, 30, tzinfo=MX),
        datetime(2026, 11, 20, 15, 30, tzinfo=MX),
    )
    assert due_times(cfg, "planned", THU_1230) == (None, None)


def test_critical_is_immediate_on_the_24x7_clock(example_config):
    saturday_night = datetime(2026, 11, 21, 23, 10, 5, tzinfo=MX)
    response, resolution = due_times(example_config, "critical", saturday_night)
    assert response == saturday_night
    assert resolution == saturday_night + 4 * H


def test_zero_minute_target_on_office_hours_is_due_at_the_next_opening(example_config):
    sla = SlaConfig(
        priorities={
            **example_config.sla.priorities,
            "high": SlaTarget(response_minutes=0, resolution_minutes=60, calendar="office"),
        }
    )
    cfg = example_config.model_copy(update={"sla": sla})
    friday_evening = datetime(2026, 11, 13, 20, tzinfo=MX)  # then weekend and Revolution Day
    assert due_times(cfg, "high", friday_evening) == (
        datetime(2026, 11, 17, 9, tzinfo=MX),
        datetime(2026, 11, 17, 10, tzinfo=MX),
    )


def test_clock_state_measures_business_time(example_config):
    cal = calendar_for(example_config, "office")
    due = datetime(2026, 11, 19, 15, 30, tzinfo=MX)

    def state(now: datetime, done: datetime | None = None) -> str:
        return clock_state(THU_1230, due, now, done, 75, cal)

    # 14:59: 2.5 wall-clock hours of 3, but only 30 business minutes of 60
    assert state(datetime(2026, 11, 19, 14, 59, tzinfo=MX)) == "on_track"
    assert state(datetime(2026, 11, 19, 15, 14, 59, tzinfo=MX)) == "on_track"
    assert state(datetime(2026, 11, 19, 15, 15, tzinfo=MX)) == "at_risk"  # exactly 75 %
    assert state(due) == "at_risk"
    assert state(due + timedelta(microseconds=1)) == "breached"
    assert state(due + H, done=due) == "met"
    assert state(due + H, done=due + M) == "breached"
    assert state(THU_1230, done=THU_1230) == "met"
    assert clock_state(THU_1230, None, due, None, 75, cal) == "none"


def test_zero_length_target_is_at_risk_until_met_or_breached(example_config):
    cal = calendar_for(example_config, "always")
    t = THU_1230
    assert clock_state(t, t, t, None, 75, cal) == "at_risk"
    assert clock_state(t, t, t + M, None, 75, cal) == "breached"
    assert clock_state(t, t, t + M, t, 75, cal) == "met"


def test_sla_status_for_reports_states_and_business_time_remaining(example_config):
    now = datetime(2026, 11, 19, 17, tzinfo=MX)
    status = sla_status_for(example_config, "high", THU_1230, None, None, now)
    assert status == SlaStatus(
        response_state="breached",
        resolution_state="on_track",  # 2.5 h of 4 h business time used
        response_due=datetime(2026, 11, 19, 15, 30, tzinfo=MX),
        resolution_due=datetime(2026, 11, 20, 9, 30, tzinfo=MX),
        response_remaining=-1.5 * H,
        resolution_remaining=1.5 * H,
    )
    assert status.worst == "breached"
    # overdue time is business time too: Thu 15:30-18:00 plus Fri 9:00-9:30
    later = sla_status_for(
        example_config, "high", THU_1230, None, None, datetime(2026, 11, 20, 9, 30, tzinfo=MX)
    )
    assert later.response_remaining == -3 * H
    assert later.resolution_state == "at_risk" and later.resolution_remaining == timedelta(0)

    done = sla_status_for(
        example_config,
        "high",
        THU_1230,
        datetime(2026, 11, 19, 12, 45, tzinfo=MX),
        datetime(2026, 11, 19, 16, tzinfo=MX),
        now,
    )
    assert (done.response_state, done.resolution_state, done.worst) == ("met", "met", "met")
    assert done.response_remaining is None and done.resolution_remaining is None


def test_planned_work_has_no_clock(example_config):
    status = sla_status_for(example_config, "planned", THU_1230, None, None, THU_1230 + 900 * H)
    assert status == SlaStatus("none", "none", None, None, None, None)
    assert status.worst == "none"


def test_stored_due_times_win_over_the_policy(example_config):
    stored = datetime(2026, 11, 19, 13, tzinfo=MX)  # e.g. set before a priority change
    status = sla_status_for(
        example_config,
        "high",
        THU_1230,
        None,
        None,
        datetime(2026, 11, 19, 15, 1, tzinfo=MX),
        response_due=stored,
        resolution_due=stored + H,
    )
    assert status.response_due == stored and status.response_state == "breached"
    assert status.response_remaining == -M


def test_calendar_for_reuses_one_calendar_per_config(example_config):
    assert calendar_for(example_config, "office") is calendar_for(example_config, "office")
    assert calendar_for(example_config, "office") is not calendar_for(example_config, "extended")


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    st.sampled_from(["critical", "high", "medium", "low"]),
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    st.lists(
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5)), min_size=2, max_size=6
    ),
)
def test_clocks_measure_the_target_and_only_move_forward(example_config, priority, created, steps):
    """elapsed(created, due) is the target; with nothing done, states only advance."""
    target = example_config.sla.priorities[priority]
    cal = calendar_for(example_config, target.calendar)
    response_due, resolution_due = due_times(example_config, priority, created)
    assert cal.elapsed(created, response_due) == target.response_minutes * M
    assert cal.elapsed(created, resolution_due) == target.resolution_minutes * M
    rank = {"on_track": 0, "at_risk": 1, "breached": 2}
    last = -1
    for now in sorted(created + s for s in steps):
        st_ = sla_status_for(example_config, priority, created, None, None, now)
        assert rank[st_.resolution_state] >= last
        last = rank[st_.resolution_state]
        if st_.resolution_remaining < timedelta(0):
            assert st_.resolution_state == "breached"
        assert (now > resolution_due) == (st_.resolution_state == "breached")


def test_due_passed_outside_hours_is_breached_with_no_business_time_overdue(example_config):
    created = datetime(2026, 11, 19, 17, tzinfo=MX)  # high: 1 h response, due at 18:00 close
    evening = datetime(2026, 11, 19, 20, tzinfo=MX)
    status = sla_status_for(example_config, "high", created, None, None, evening)
    assert status.response_due == datetime(2026, 11, 19, 18, tzinfo=MX)
    assert status.response_state == "breached"
    assert status.response_remaining == timedelta(0)
