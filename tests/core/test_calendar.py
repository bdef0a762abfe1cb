"""Worked examples for BusinessCalendar: the cases a person checks by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from servicedesk.calendar import BusinessCalendar
from servicedesk.config import CalendarConfig

MX = ZoneInfo("America/Mexico_City")
NY = ZoneInfo("America/New_York")
MAD = ZoneInfo("Europe/Madrid")
H = timedelta(hours=1)


@pytest.fixture()
def office(example_config) -> BusinessCalendar:
    return BusinessCalendar.from_config(example_config.calendars["office"])


def cal(tz: str, hours: dict[str, list[str]] | None = None, **extra: object) -> BusinessCalendar:
    data: dict[str, object] = {"timezone": tz, **extra}
    if hours is None:
        data["always_open"] = True
    else:
        data["hours"] = hours
    return BusinessCalendar.from_config(CalendarConfig.model_validate(data))


def test_thursday_lunchtime_ticket_waits_for_the_afternoon_shift(office):
    created = datetime(2026, 11, 19, 12, 30, tzinfo=MX)  # Thursday
    due = office.add(created, H)
    assert due == datetime(2026, 11, 19, 15, 30, tzinfo=MX)
    assert due.tzinfo is UTC
    assert office.elapsed(created, due) == H


def test_friday_afternoon_crosses_the_weekend_and_revolution_day(office):
    # Friday closes at 17:00; Monday 16 Nov 2026 is Revolution Day (holidays package).
    created = datetime(2026, 11, 13, 16, 30, tzinfo=MX)
    assert office.closed_reason(date(2026, 11, 16)) == "Revolution Day"
    due = office.add(created, 2 * H)
    assert due == datetime(2026, 11, 17, 10, 30, tzinfo=MX)
    assert office.elapsed(created, due) == 2 * H


def test_extra_closed_days_and_christmas(office):
    # 24 Dec is an extra closed day, 25 Dec a public holiday, then the weekend.
    assert not office.is_open(datetime(2026, 12, 24, 10, tzinfo=MX))
    assert office.closed_reason(date(2026, 12, 24)) == "extra closed day"
    assert office.next_open(datetime(2026, 12, 23, 18, tzinfo=MX)) == datetime(
        2026, 12, 28, 9, tzinfo=MX
    )


def test_is_open_at_shift_edges(office):
    thu = datetime(2026, 11, 19, tzinfo=MX)
    assert not office.is_open(thu.replace(hour=8, minute=59, second=59))
    assert office.is_open(thu.replace(hour=9))
    assert office.is_open(thu.replace(hour=12, minute=59, second=59, microsecond=999999))
    assert not office.is_open(thu.replace(hour=13))  # shifts are [start, end)
    assert office.is_open(thu.replace(hour=15))
    assert not office.is_open(datetime(2026, 11, 21, 10, tzinfo=MX))  # Saturday


def test_add_ending_at_closing_time_returns_the_close_not_the_next_morning(office):
    created = datetime(2026, 11, 19, 17, tzinfo=MX)
    assert office.add(created, H) == datetime(2026, 11, 19, 18, tzinfo=MX)


def test_zero_duration_is_now_when_open_else_the_next_opening(office):
    open_t = datetime(2026, 11, 19, 10, 15, 7, tzinfo=MX)
    assert office.add(open_t, timedelta(0)) == open_t
    night = datetime(2026, 11, 19, 22, tzinfo=MX)
    assert office.add(night, timedelta(0)) == datetime(2026, 11, 20, 9, tzinfo=MX)
    lunch_close = datetime(2026, 11, 19, 13, tzinfo=MX)
    assert office.add(lunch_close, timedelta(0)) == datetime(2026, 11, 19, 15, tzinfo=MX)


def test_next_close(office):
    assert office.next_close(datetime(2026, 11, 19, 10, tzinfo=MX)) == datetime(
        2026, 11, 19, 13, tzinfo=MX
    )
    closed = datetime(2026, 11, 19, 14, tzinfo=MX)
    assert office.next_close(closed) == closed


def test_opening_intervals_are_utc_and_split_at_lunch(office):
    ivs = list(
        office.opening_intervals(
            datetime(2026, 11, 19, 10, tzinfo=MX), datetime(2026, 11, 20, 10, tzinfo=MX)
        )
    )
    assert ivs == [
        (datetime(2026, 11, 19, 16, tzinfo=UTC), datetime(2026, 11, 19, 19, tzinfo=UTC)),
        (datetime(2026, 11, 19, 21, tzinfo=UTC), datetime(2026, 11, 20, 0, tzinfo=UTC)),
        (datetime(2026, 11, 20, 15, tzinfo=UTC), datetime(2026, 11, 20, 16, tzinfo=UTC)),
    ]


def test_shift_ending_at_24_00_joins_the_next_days_midnight_shift():
    c = cal("America/Mexico_City", {"mon": ["20:00-24:00"], "tue": ["00:00-02:00"]})
    mon_22 = datetime(2026, 11, 16, 22, tzinfo=MX)
    assert c.is_open(datetime(2026, 11, 16, 23, 59, 59, 999999, tzinfo=MX))
    assert c.next_close(mon_22) == datetime(2026, 11, 17, 2, tzinfo=MX)
    assert list(c.opening_intervals(mon_22, mon_22 + 10 * H)) == [
        (mon_22.astimezone(UTC), datetime(2026, 11, 17, 2, tzinfo=MX).astimezone(UTC))
    ]
    assert c.add(mon_22, 3 * H) == datetime(2026, 11, 17, 1, tzinfo=MX)


# --- DST ------------------------------------------------------------------


def test_spring_forward_day_is_23_hours_on_a_24x7_calendar():
    c = cal("America/New_York")
    day, nxt = datetime(2026, 3, 8, tzinfo=NY), datetime(2026, 3, 9, tzinfo=NY)
    assert c.elapsed(day, nxt) == 23 * H
    assert c.add(day, 23 * H) == nxt


def test_fall_back_day_is_25_hours_on_a_24x7_calendar():
    c = cal("Europe/Madrid")
    day, nxt = datetime(2026, 10, 25, tzinfo=MAD), datetime(2026, 10, 26, tzinfo=MAD)
    assert c.elapsed(day, nxt) == 25 * H


def test_shift_starting_in_the_skipped_hour_opens_when_the_clock_resumes():
    # New York jumps 02:00 -> 03:00 on 8 Mar 2026; a 02:30 start clamps to 03:00.
    c = cal("America/New_York", {"sun": ["02:30-05:00"]})
    sun = datetime(2026, 3, 8, tzinfo=NY)
    assert c.next_open(sun) == datetime(2026, 3, 8, 3, tzinfo=NY)
    assert c.elapsed(sun, sun + 24 * H) == 2 * H
    # a normal Sunday has the full 2.5 h
    other = datetime(2026, 3, 15, tzinfo=NY)
    assert c.elapsed(other, other + 24 * H) == 2.5 * H


def test_shift_across_the_skipped_hour_loses_an_hour():
    c = cal("America/New_York", {"sun": ["01:00-04:00"]})
    sun = datetime(2026, 3, 8, tzinfo=NY)
    assert c.elapsed(sun, sun + 24 * H) == 2 * H
    assert c.add(datetime(2026, 3, 8, 1, 30, tzinfo=NY), H) == datetime(
        2026, 3, 8, 3, 30, tzinfo=NY
    )


def test_repeated_hour_counts_twice():
    # New York repeats 01:00-02:00 on 1 Nov 2026: 00:00-03:00 lasts four real hours,
    # and a shift inside the repeated hour is open both times.
    c = cal("America/New_York", {"sun": ["00:00-03:00"]})
    sun = datetime(2026, 11, 1, tzinfo=NY)
    assert c.elapsed(sun, sun + 24 * H) == 4 * H
    inside = cal("America/New_York", {"sun": ["01:15-01:45"]})
    ivs = list(inside.opening_intervals(sun, sun + 24 * H))
    assert ivs == [
        (datetime(2026, 11, 1, 5, 15, tzinfo=UTC), datetime(2026, 11, 1, 5, 45, tzinfo=UTC)),
        (datetime(2026, 11, 1, 6, 15, tzinfo=UTC), datetime(2026, 11, 1, 6, 45, tzinfo=UTC)),
    ]
    # fold=1 (second pass) is open too: the wall-clock rule
    assert inside.is_open(datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NY))


def test_office_hours_keep_their_wall_clock_across_dst_in_tijuana():
    tj = ZoneInfo("America/Tijuana")
    c = cal("America/Tijuana", {d: ["09:00-18:00"] for d in ("fri", "mon")})
    fri = datetime(2026, 3, 6, 17, tzinfo=tj)  # PST (-8); Monday is PDT (-7)
    due = c.add(fri, 2 * H)
    assert due == datetime(2026, 3, 9, 10, tzinfo=tj)
    assert due == datetime(2026, 3, 9, 17, tzinfo=UTC)


def test_santiago_midnight_transitions():
    scl = ZoneInfo("America/Santiago")
    # 5 Apr 2026 00:00 (-03) falls back to 4 Apr 23:00 (-04): Saturday's last hour repeats.
    c = cal("America/Santiago", {"sat": ["22:00-24:00"], "sun": ["00:00-02:00"]})
    sat = datetime(2026, 4, 4, 12, tzinfo=scl)
    assert c.elapsed(sat, sat + 24 * H) == 5 * H
    # 6 Sep 2026 00:00 (-04) jumps to 01:00 (-03): Sunday's midnight does not exist.
    sep = datetime(2026, 9, 5, 12, tzinfo=scl)
    assert c.elapsed(sep, sep + 24 * H) == 3 * H
    assert c.next_close(datetime(2026, 9, 5, 23, tzinfo=scl)) == datetime(2026, 9, 6, 2, tzinfo=scl)


def test_mexico_city_has_had_no_dst_since_2022():
    c = cal("America/Mexico_City")
    d = datetime(2026, 4, 5, tzinfo=MX)  # the old first-Sunday-of-April change
    assert c.elapsed(d, d + timedelta(days=1)) == 24 * H


# --- holidays ---------------------------------------------------------------


def test_subdivision_holidays_apply():
    hours = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}
    national = cal("Europe/Madrid", hours, holidays={"country": "ES"})
    madrid = cal("Europe/Madrid", hours, holidays={"country": "ES", "subdivision": "MD"})
    madrid_day = datetime(2026, 5, 2, 10, tzinfo=MAD)  # Fiesta de la Comunidad (a Saturday)
    assert national.is_open(madrid_day)
    assert not madrid.is_open(madrid_day)
    assert madrid.closed_reason(date(2026, 5, 2)) == "Madrid Day"


def test_holidays_are_computed_once_per_year(example_config, monkeypatch):
    import holidays

    calls: list[int] = []
    real = holidays.country_holidays

    def counting(*args, **kwargs):
        calls.append(kwargs.get("years"))
        return real(*args, **kwargs)

    monkeypatch.setattr(holidays, "country_holidays", counting)
    c = BusinessCalendar.from_config(example_config.calendars["office"])
    start = datetime(2026, 12, 1, tzinfo=MX)
    c.elapsed(start, start + timedelta(days=60))
    c.elapsed(start, start + timedelta(days=60))
    assert sorted(calls) == [2026, 2027]


def test_always_open_calendar_still_honours_configured_closed_days():
    c = cal("America/Mexico_City", extra_closed=["2026-12-25"])
    xmas = datetime(2026, 12, 25, 12, tzinfo=MX)
    assert not c.is_open(xmas)
    assert c.next_open(xmas) == datetime(2026, 12, 26, tzinfo=MX)
    assert c.next_close(datetime(2026, 12, 20, tzinfo=MX)) == datetime(2026, 12, 25, tzinfo=MX)
    assert cal("America/Mexico_City").next_close(xmas) is None


# --- inputs -------------------------------------------------------------------


def test_naive_datetimes_are_refused_with_a_clear_message(office):
    naive = datetime(2026, 11, 19, 12, 30)
    for call in (
        lambda: office.is_open(naive),
        lambda: office.add(naive, H),
        lambda: office.next_open(naive),
        lambda: office.next_close(naive),
        lambda: office.elapsed(naive, datetime(2026, 11, 20, tzinfo=UTC)),
        lambda: office.elapsed(datetime(2026, 11, 18, tzinfo=UTC), naive),
        lambda: list(office.opening_intervals(naive, naive)),
    ):
        with pytest.raises(ValueError, match="naive"):
            call()


def test_bad_arguments_are_refused(office):
    t = datetime(2026, 11, 19, 12, tzinfo=MX)
    with pytest.raises(ValueError, match="negative"):
        office.add(t, -H)
    with pytest.raises(ValueError, match="a <= b"):
        office.elapsed(t, t - H)
    with pytest.raises(ValueError, match="language"):
        office.describe_hours("fr")


# --- describe_hours -------------------------------------------------------------


def test_describe_hours_in_spanish_and_english(office, example_config):
    assert office.describe_hours("es") == (
        "lunes a jueves de 9:00 a 13:00 y de 15:00 a 18:00; viernes de 9:00 a 13:00 y de 15:00 a 17:00"
    )
    assert office.describe_hours("en") == (
        "Monday to Thursday from 9:00 to 13:00 and from 15:00 to 18:00; "
        "Friday from 9:00 to 13:00 and from 15:00 to 17:00"
    )
    extended = BusinessCalendar.from_config(example_config.calendars["extended"])
    assert (
        extended.describe_hours("es") == "lunes a viernes de 8:00 a 20:00; sábado de 9:00 a 14:00"
    )


def test_describe_hours_pairs_24_00_and_24x7():
    c = cal("UTC", {"sat": ["10:00-24:00"], "sun": ["10:00-24:00"], "tue": ["08:30-12:00"]})
    assert c.describe_hours("es") == "martes de 8:30 a 12:00; sábado y domingo de 10:00 a 24:00"
    assert c.describe_hours("en") == (
        "Tuesday from 8:30 to 12:00; Saturday and Sunday from 10:00 to 24:00"
    )
    assert cal("UTC").describe_hours("en") == "open 24 hours, every day"
    assert cal("UTC").describe_hours("es") == "abierto las 24 horas, todos los días"
