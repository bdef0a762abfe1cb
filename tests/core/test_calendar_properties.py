"""Property-based tests: BusinessCalendar against a brute-force minute-stepping oracle.

The oracle applies the wall-clock rule (see servicedesk/calendar.py) to every
UTC minute independently: convert the minute to local time with zoneinfo, look
up the local date's shifts and holidays, and test the wall-clock time. It knows
nothing of intervals, offsets or transitions, so it checks the calendar's
interval construction (DST gaps and repeats, midnight transitions, 30-minute
DST, 24:00 ends, split shifts, holidays) minute by minute.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from servicedesk.calendar import BusinessCalendar
from servicedesk.config import WEEKDAYS, CalendarConfig

MINUTE = timedelta(minutes=1)
PROFILE = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Time zones with every kind of transition: DST at 02:00 (New York, Tijuana),
# at 01:00 UTC (Madrid), at midnight (Santiago: Saturday 23:00-24:00 repeats,
# Sunday 00:00 is skipped), 30-minute DST (Lord Howe), none (Mexico City since
# 2022, Kolkata's +05:30, UTC).
DST_DATES: dict[str, list[date]] = {
    "America/New_York": [date(2026, 3, 8), date(2026, 11, 1)],
    "America/Tijuana": [date(2026, 3, 8), date(2026, 11, 1), date(2025, 11, 2)],
    "Europe/Madrid": [date(2026, 3, 29), date(2026, 10, 25)],
    "America/Santiago": [date(2026, 4, 4), date(2026, 9, 6)],
    "Australia/Lord_Howe": [date(2026, 4, 5), date(2026, 10, 4)],
    "America/Mexico_City": [date(2022, 10, 30), date(2026, 11, 16)],
    "Asia/Kolkata": [date(2026, 1, 26)],
    "UTC": [date(2026, 12, 25)],
}
HOLIDAY_SOURCES = [None, ("MX", None), ("US", "NY"), ("ES", "MD")]


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def day_shifts(draw: st.DrawFn) -> list[str]:
    """0-3 non-overlapping shifts; boundaries on a 15-minute grid or any minute, up to 24:00."""
    n = draw(st.integers(0, 3))
    point = st.one_of(st.integers(0, 96).map(lambda q: q * 15), st.integers(0, 1440))
    points = sorted(draw(st.lists(point, min_size=2 * n, max_size=2 * n, unique=True)))
    return [f"{_hhmm(a)}-{_hhmm(b)}" for a, b in zip(points[::2], points[1::2], strict=True)]


@st.composite
def calendars(draw: st.DrawFn) -> tuple[CalendarConfig, date]:
    """A calendar config and an anchor date worth testing around (often a DST change)."""
    tz = draw(st.sampled_from(sorted(DST_DATES)))
    anchor = draw(
        st.one_of(
            st.sampled_from(DST_DATES[tz]),
            st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)),
        )
    )
    data: dict[str, object] = {"timezone": tz}
    if draw(st.integers(0, 9)) == 0:
        data["always_open"] = True
    else:
        hours = {day: draw(day_shifts()) for day in WEEKDAYS}
        if not any(hours.values()):
            hours["mon"] = ["09:00-17:00"]
        if draw(st.booleans()):  # the classic office week, to exercise long runs
            hours = {d: ["09:00-13:00", "15:00-18:00"] for d in WEEKDAYS[:5]} | {
                "sat": hours["sat"],
                "sun": hours["sun"],
            }
        data["hours"] = hours
    source = draw(st.sampled_from(HOLIDAY_SOURCES))
    if source is not None:
        data["holidays"] = {"country": source[0], "subdivision": source[1]}
    data["extra_closed"] = draw(
        st.lists(st.integers(-3, 3).map(lambda k: anchor + timedelta(days=k)), max_size=2)
    )
    return CalendarConfig.model_validate(data), anchor


class Oracle:
    """The wall-clock rule applied to one whole minute at a time."""

    def __init__(self, cfg: CalendarConfig) -> None:
        self.tz = ZoneInfo(cfg.timezone)
        if cfg.always_open:
            self.shifts = {wd: [(0, 1440)] for wd in range(7)}
        else:
            self.shifts = {
                WEEKDAYS.index(d): [s.minutes() for s in shifts] for d, shifts in cfg.hours.items()
            }
        self.holidays = (
            holidays.country_holidays(cfg.holidays.country, subdiv=cfg.holidays.subdivision)
            if cfg.holidays
            else {}
        )
        self.closed = set(cfg.extra_closed)

    def open_minute(self, m: datetime) -> bool:
        local = m.astimezone(self.tz)
        day = local.date()
        if day in self.closed or day in self.holidays:
            return False
        mins = local.hour * 60 + local.minute
        return any(s <= mins < e for s, e in self.shifts.get(local.weekday(), ()))

    # The oracle steps in UTC: adding a timedelta to a zoned datetime is wall-clock
    # arithmetic in Python, and a time in a DST fold never equals one in another zone.
    def elapsed(self, a: datetime, b: datetime) -> timedelta:
        n, m, b = 0, a.astimezone(UTC), b.astimezone(UTC)
        while m < b:
            n += self.open_minute(m)
            m += MINUTE
        return n * MINUTE

    def add(self, t: datetime, minutes: int, limit: int = 400_000) -> datetime:
        m = t.astimezone(UTC)
        for _ in range(limit):
            if self.open_minute(m):
                if minutes == 0:
                    return m
                minutes -= 1
                if minutes == 0:
                    return m + MINUTE
            m += MINUTE
        raise AssertionError("oracle found no room")

    def next_close(self, t: datetime, limit: int = 400_000) -> datetime:
        m = t.astimezone(UTC)
        for _ in range(limit):
            if not self.open_minute(m):
                return m
            m += MINUTE
        raise AssertionError("oracle found no close")

    def weekly_open_minutes(self) -> int:
        return sum(e - s for shifts in self.shifts.values() for s, e in shifts)


def _instant(anchor: date, tz: str, offset_minutes: int, view: str) -> datetime:
    """A minute-aligned instant near local midnight of `anchor`, in some zone."""
    base = datetime.combine(anchor, time(), tzinfo=ZoneInfo(tz)).astimezone(UTC)
    t = base + timedelta(minutes=offset_minutes)
    return t.astimezone(ZoneInfo(view))


views = st.sampled_from(["UTC", "America/Mexico_City", "Asia/Tokyo"])
offsets = st.integers(-2 * 1440, 3 * 1440)


@PROFILE
@given(calendars(), offsets, st.integers(0, 59), views)
def test_is_open_agrees_with_oracle(cal_anchor, offset, second, view):
    cfg, anchor = cal_anchor
    cal, oracle = BusinessCalendar.from_config(cfg), Oracle(cfg)
    m = _instant(anchor, cfg.timezone, offset, view)
    expected = oracle.open_minute(m)
    assert cal.is_open(m) is expected
    # the whole minute shares its state (boundaries are minute-aligned)
    assert cal.is_open(m + timedelta(seconds=second, microseconds=999)) is expected


@PROFILE
@given(calendars(), offsets, st.integers(0, 4 * 1440), views)
def test_elapsed_counts_open_minutes(cal_anchor, offset, span, view):
    cfg, anchor = cal_anchor
    cal, oracle = BusinessCalendar.from_config(cfg), Oracle(cfg)
    a = _instant(anchor, cfg.timezone, offset, view)
    b = a + timedelta(minutes=span)
    assert cal.elapsed(a, b) == oracle.elapsed(a, b)


@PROFILE
@given(calendars(), offsets, st.integers(0, 600), views)
def test_add_matches_oracle(cal_anchor, offset, minutes, view):
    cfg, anchor = cal_anchor
    cal, oracle = BusinessCalendar.from_config(cfg), Oracle(cfg)
    minutes = min(minutes, oracle.weekly_open_minutes())  # keep the oracle's walk short
    t = _instant(anchor, cfg.timezone, offset, view)
    assert cal.add(t, timedelta(minutes=minutes)) == oracle.add(t, minutes)


_MX_FOLD_DAY = date(2022, 10, 30)  # Mexico City's last DST fall-back: 01:00-02:00 repeats


@PROFILE
@given(calendars(), offsets, views)
@example(
    (CalendarConfig(timezone="America/Mexico_City", always_open=True), _MX_FOLD_DAY),
    60,
    "America/Mexico_City",
)
@example(
    (
        CalendarConfig.model_validate(
            {"timezone": "America/Mexico_City", "hours": {"mon": ["09:00-17:00"]}}
        ),
        _MX_FOLD_DAY,
    ),
    60,
    "America/Mexico_City",
)
@example(  # found by hypothesis: open 24x7 after its only closed day; never closes again
    (
        CalendarConfig(
            timezone="America/Mexico_City", always_open=True, extra_closed=[date(2022, 10, 29)]
        ),
        _MX_FOLD_DAY,
    ),
    0,
    "UTC",
)
def test_next_open_and_next_close_match_oracle(cal_anchor, offset, view):
    cfg, anchor = cal_anchor
    cal, oracle = BusinessCalendar.from_config(cfg), Oracle(cfg)
    t = _instant(anchor, cfg.timezone, offset, view)
    assert cal.next_open(t) == oracle.add(t, 0)
    close = cal.next_close(t)
    if close is None:  # only a 24x7 calendar with no closed day ahead never closes
        assert cfg.always_open and cfg.holidays is None
        today = t.astimezone(ZoneInfo(cfg.timezone)).date()
        assert all(day < today for day in cfg.extra_closed), (cfg.extra_closed, today)
    else:
        assert close == oracle.next_close(t)


def _oracle_runs(oracle: Oracle, a: datetime, b: datetime) -> list[tuple[datetime, datetime]]:
    """The oracle's open minutes in [a, b) as maximal runs."""
    runs: list[tuple[datetime, datetime]] = []
    m = a
    while m < b:
        if oracle.open_minute(m):
            if runs and runs[-1][1] == m:
                runs[-1] = (runs[-1][0], m + MINUTE)
            else:
                runs.append((m, m + MINUTE))
        m += MINUTE
    return runs


@PROFILE
@given(calendars(), st.integers(-1440, 0), views)
def test_opening_intervals_are_exactly_the_oracle_open_minutes(cal_anchor, offset, view):
    """Three days around the anchor (often a DST date): the same set, minute for minute."""
    cfg, anchor = cal_anchor
    cal, oracle = BusinessCalendar.from_config(cfg), Oracle(cfg)
    a = _instant(anchor, cfg.timezone, offset, view)
    b = a + timedelta(days=3)
    assert list(cal.opening_intervals(a, b)) == _oracle_runs(oracle, a, b)


FIXED_HOURS = {
    "office": {d: ["09:00-13:00", "15:00-18:00"] for d in WEEKDAYS[:5]},
    "night": {d: ["00:00-03:00", "22:00-24:00"] for d in WEEKDAYS},
    "around_transitions": {d: ["00:30-01:30", "01:45-02:15", "02:30-03:30"] for d in WEEKDAYS},
    "evening_to_midnight": {d: ["20:00-24:00"] for d in WEEKDAYS},
}


def test_every_dst_date_exhaustively():
    """Every time zone's transition dates, several calendars, every minute of 3 days."""
    for tz, dates in DST_DATES.items():
        for name, hours in [*FIXED_HOURS.items(), ("24x7", None)]:
            data: dict[str, object] = {"timezone": tz}
            if hours is None:
                data["always_open"] = True
            else:
                data["hours"] = hours
            cfg = CalendarConfig.model_validate(data)
            cal, oracle = BusinessCalendar.from_config(cfg), Oracle(cfg)
            for day in dates:
                a = _instant(day, tz, -1440, "UTC")
                b = a + timedelta(days=3)
                runs = _oracle_runs(oracle, a, b)
                assert list(cal.opening_intervals(a, b)) == runs, (tz, name, day)
                assert cal.elapsed(a, b) == sum((y - x for x, y in runs), timedelta(0))


# --- algebraic properties, on arbitrary (not minute-aligned) instants --------

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=30))


def _near(cfg: CalendarConfig, anchor: date, t: datetime) -> datetime:
    """Move `t`'s time of day onto `anchor` so DST dates are hit often."""
    base = datetime.combine(anchor, time(), tzinfo=ZoneInfo(cfg.timezone)).astimezone(UTC)
    return base + timedelta(
        hours=t.hour - 12, minutes=t.minute, seconds=t.second, microseconds=t.microsecond
    )


@PROFILE
@given(calendars(), instants, durations)
def test_elapsed_undoes_add(cal_anchor, t, d):
    """elapsed(t, add(t, d)) == d, for every instant t and duration d >= 0."""
    cfg, anchor = cal_anchor
    cal = BusinessCalendar.from_config(cfg)
    t = _near(cfg, anchor, t)
    due = cal.add(t, d)
    assert due >= t
    assert cal.elapsed(t, due) == d


@PROFILE
@given(calendars(), instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4)))
def test_add_undoes_elapsed(cal_anchor, a, span):
    """u = add(a, elapsed(a, b)) is b when b is open; otherwise the close before b.

    Exactly: with e = elapsed(a, b),
    * is_open(b) implies u == b;
    * e > 0 implies u <= b, elapsed(u, b) == 0 and u is a closing instant
      (open just before, or u == b);
    * e == 0 implies u == next_open(a) >= b.
    """
    cfg, anchor = cal_anchor
    cal = BusinessCalendar.from_config(cfg)
    a = _near(cfg, anchor, a)
    b = a + span
    e = cal.elapsed(a, b)
    u = cal.add(a, e)
    if cal.is_open(b):
        assert u == b
    if e > timedelta(0):
        assert a < u <= b
        assert cal.elapsed(u, b) == timedelta(0)
        assert u == b or cal.is_open(u - timedelta(microseconds=1))
    else:
        assert u == cal.next_open(a) >= b


@PROFILE
@given(calendars(), instants, durations, durations)
def test_add_composes_and_elapsed_is_additive(cal_anchor, t, d1, d2):
    cfg, anchor = cal_anchor
    cal = BusinessCalendar.from_config(cfg)
    t = _near(cfg, anchor, t)
    u = cal.add(t, d1)
    if d2 > timedelta(0):
        assert cal.add(u, d2) == cal.add(t, d1 + d2)
    v = u + d2
    assert cal.elapsed(t, v) == cal.elapsed(t, u) + cal.elapsed(u, v)


@PROFILE
@given(calendars(), instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)))
def test_opening_intervals_are_merged_open_and_sum_to_elapsed(cal_anchor, a, span):
    cfg, anchor = cal_anchor
    cal = BusinessCalendar.from_config(cfg)
    a = _near(cfg, anchor, a)
    b = a + span
    ivs = list(cal.opening_intervals(a, b))
    total = timedelta(0)
    prev_end = None
    for x, y in ivs:
        assert x.tzinfo is UTC and y.tzinfo is UTC
        assert a <= x < y <= b
        if prev_end is not None:
            assert x > prev_end  # disjoint and not touching: merged
            assert not cal.is_open(prev_end)  # the gap really is closed
        assert cal.is_open(x)
        assert cal.is_open(y - timedelta(microseconds=1))
        total += y - x
        prev_end = y
    assert total == cal.elapsed(a, b)


@PROFILE
@given(calendars(), instants, instants, durations)
def test_add_is_monotonic_and_zone_independent(cal_anchor, t1, t2, d):
    cfg, anchor = cal_anchor
    cal = BusinessCalendar.from_config(cfg)
    t1, t2 = sorted((_near(cfg, anchor, t1), _near(cfg, anchor, t2)))
    assert cal.add(t1, d) <= cal.add(t2, d)
    local = t1.astimezone(ZoneInfo("Pacific/Kiritimati"))
    assert cal.add(local, d) == cal.add(t1, d)
    assert cal.add(t1, d).tzinfo is UTC


@PROFILE
@given(calendars(), instants, durations)
def test_open_close_and_elapsed_bounds_are_consistent(cal_anchor, t, span):
    cfg, anchor = cal_anchor
    cal = BusinessCalendar.from_config(cfg)
    t = _near(cfg, anchor, t)
    is_open = cal.is_open(t)
    assert (cal.next_open(t) == t) is is_open
    close = cal.next_close(t)
    assert close is None or (close == t) is (not is_open)
    if close is not None and is_open:
        assert not cal.is_open(close)
        assert cal.elapsed(t, close) == close - t  # open all the way to the close
    nxt = cal.next_open(t)
    assert cal.is_open(nxt) and cal.elapsed(t, nxt) == timedelta(0)
    assert timedelta(0) <= cal.elapsed(t, t + span) <= span
