"""Business calendars: when the desk is open, and business-time arithmetic.

SLA clocks stop outside hours and on holidays, and the IVR tells callers when
the desk opens, so this module has to be exactly right, including across DST
changes. Everything is defined by one rule, the *wall-clock rule*:

    An instant is open when its local wall-clock time (in the calendar's time
    zone) falls inside a shift ``[start, end)`` of its local date, and that
    date is neither a public holiday nor an extra closed day.

Consequences, which are the documented DST behaviour:

* A shift boundary inside a skipped hour (spring forward) is clamped forward to
  the first real instant after the gap: on a day that jumps from 02:00 to 03:00,
  a 02:30 start opens at 03:00 and a 02:30 end closes at the jump (the clock
  then reads 03:00), so 01:00-04:00 lasts 2 h.
* A repeated hour (fall back) is open both times it is shown on the clock if
  that wall-clock time is inside a shift: 00:00-03:00 on such a day lasts 4 h.
* ``always_open`` means 00:00-24:00 every day (holidays and extra closed days,
  if configured, still close it), so a 24x7 calendar never stops across DST.

All inputs must be aware datetimes (naive ones raise ``ValueError``); all
outputs are aware UTC datetimes, matching how the database stores instants.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from servicedesk.config import WEEKDAYS, CalendarConfig

DAY = timedelta(days=1)
# No opening this far ahead means the calendar is effectively always closed.
SEARCH_LIMIT_DAYS = 3 * 366
# UTC offsets lie within ±14 h (±26 h covers any historic oddity), so a local
# date's instants all lie within one day either side of that date read as UTC.
_WINDOW = timedelta(hours=26)


def _require_aware(dt: datetime, name: str = "datetime") -> datetime:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(dt).__name__}")
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise ValueError(
            f"{name} {dt.isoformat()} is naive; business calendars need aware datetimes "
            "(attach a time zone, e.g. dt.replace(tzinfo=datetime.UTC))"
        )
    return dt.astimezone(UTC)


@dataclass(frozen=True)
class _Segment:
    """A UTC span with one constant UTC offset (naive UTC datetimes)."""

    start: datetime
    end: datetime
    offset: timedelta


class BusinessCalendar:
    """Open hours in a time zone, minus holidays; business-time add and elapsed.

    Build it with :meth:`from_config`. Instances cache holidays per year and
    opening intervals per local date, so keep one per calendar and reuse it.
    """

    def __init__(
        self,
        timezone: str,
        hours: dict[int, list[tuple[int, int]]],
        *,
        always_open: bool = False,
        holiday_country: str | None = None,
        holiday_subdivision: str | None = None,
        extra_closed: Iterable[date] = (),
    ) -> None:
        """`hours` maps weekday (0 = Monday) to sorted ``(start_s, end_s)`` seconds after
        local midnight; ``end_s`` may be 86400 (24:00)."""
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.always_open = always_open
        if always_open:
            hours = {wd: [(0, 86400)] for wd in range(7)}
        self.hours: dict[int, tuple[tuple[int, int], ...]] = {
            wd: tuple(sorted(hours.get(wd, ()))) for wd in range(7)
        }
        for wd, shifts in self.hours.items():
            for s, e in shifts:
                if not 0 <= s < e <= 86400:
                    raise ValueError(f"weekday {wd}: bad shift {s}-{e} seconds")
        self.holiday_country = holiday_country
        self.holiday_subdivision = holiday_subdivision
        self.extra_closed = frozenset(extra_closed)
        self._holidays: dict[int, dict[date, str]] = {}
        self._day_cache: dict[date, tuple[tuple[datetime, datetime], ...]] = {}

    @classmethod
    def from_config(cls, cfg: CalendarConfig) -> BusinessCalendar:
        hours: dict[int, list[tuple[int, int]]] = {}
        for day, shifts in cfg.hours.items():
            wd = WEEKDAYS.index(day)
            hours[wd] = [(a * 60, b * 60) for a, b in (s.minutes() for s in shifts)]
        return cls(
            cfg.timezone,
            hours,
            always_open=cfg.always_open,
            holiday_country=cfg.holidays.country if cfg.holidays else None,
            holiday_subdivision=cfg.holidays.subdivision if cfg.holidays else None,
            extra_closed=cfg.extra_closed,
        )

    # --- days -------------------------------------------------------------

    def holidays_in(self, year: int) -> dict[date, str]:
        """Public holidays of `year` (date → name), computed once per year."""
        if self.holiday_country is None:
            return {}
        cached = self._holidays.get(year)
        if cached is None:
            import holidays

            table = holidays.country_holidays(
                self.holiday_country, subdiv=self.holiday_subdivision, years=year
            )
            cached = {d: str(name) for d, name in table.items() if d.year == year}
            self._holidays[year] = cached
        return cached

    def closed_reason(self, day: date) -> str | None:
        """Why a whole local date is closed (holiday name, 'closed', ...), or None."""
        if day in self.extra_closed:
            return "extra closed day"
        name = self.holidays_in(day.year).get(day)
        if name is not None:
            return name
        if not self.hours[day.weekday()]:
            return "no hours"
        return None

    def shifts_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """The local shifts (seconds after midnight) that apply on `day`."""
        if day in self.extra_closed or day in self.holidays_in(day.year):
            return ()
        return self.hours[day.weekday()]

    # --- the wall-clock rule ---------------------------------------------

    def is_open(self, dt: datetime) -> bool:
        local = _require_aware(dt).astimezone(self.tz)
        secs = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return any(s <= secs < e for s, e in self.shifts_on(local.date()))

    def _offset_at(self, utc_naive: datetime) -> timedelta:
        off = utc_naive.replace(tzinfo=UTC).astimezone(self.tz).utcoffset()
        assert off is not None
        return off

    def _segments(self, lo: datetime, hi: datetime) -> list[_Segment]:
        """Split naive-UTC [lo, hi) where the UTC offset changes.

        zoneinfo exposes no transition list, so sample hourly and bisect to the
        second (zones change offset on whole seconds, never twice in an hour).
        """
        out: list[_Segment] = []
        seg_start, off = lo, self._offset_at(lo)
        step = timedelta(hours=1)
        t = lo
        while t < hi:
            nxt = min(t + step, hi)
            off_next = self._offset_at(nxt)
            if off_next != off:
                a, b = int((t - lo).total_seconds()), int((nxt - lo).total_seconds())
                while b - a > 1:  # offset(a) == off, offset(b) != off
                    mid = (a + b) // 2
                    if self._offset_at(lo + timedelta(seconds=mid)) == off:
                        a = mid
                    else:
                        b = mid
                change = lo + timedelta(seconds=b)
                out.append(_Segment(seg_start, change, off))
                seg_start, off = change, self._offset_at(change)
            t = nxt
        out.append(_Segment(seg_start, hi, off))
        return out

    def _day_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """UTC intervals (naive UTC) of every instant that is open on local date `day`."""
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        shifts = self.shifts_on(day)
        result: list[tuple[datetime, datetime]] = []
        if shifts:
            midnight = datetime.combine(day, time())
            segments = self._segments(midnight - _WINDOW, midnight + DAY + _WINDOW)
            for s, e in shifts:
                lo_local = midnight + timedelta(seconds=s)
                hi_local = midnight + timedelta(seconds=e)
                for seg in segments:
                    a = max(lo_local, seg.start + seg.offset)
                    b = min(hi_local, seg.end + seg.offset)
                    if a < b:
                        result.append((a - seg.offset, b - seg.offset))
        result.sort()
        merged: list[tuple[datetime, datetime]] = []
        for a, b in result:
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], b))
            else:
                merged.append((a, b))
        if len(self._day_cache) > 20000:
            self._day_cache.clear()
        self._day_cache[day] = tuple(merged)
        return self._day_cache[day]

    def _local_date(self, utc_naive: datetime) -> date:
        return (utc_naive + self._offset_at(utc_naive)).date()

    def _intervals_from(
        self, start: datetime, limit_days: int = SEARCH_LIMIT_DAYS
    ) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (naive UTC) that end after `start`, sorted and disjoint.

        Adjacent intervals are not merged (add and elapsed do not need it). Local
        dates are processed in order; intervals of different local dates never
        overlap but can interleave (a zone that falls back at midnight repeats
        the previous date), so an interval is released only once no later date
        can produce one that starts earlier.
        """
        first = self._local_date(start) - DAY
        pending: list[tuple[datetime, datetime]] = []
        for i in range(limit_days + 3):
            day = first + timedelta(days=i)
            for iv in self._day_intervals(day):
                if iv[1] > start:
                    bisect.insort(pending, iv)
            horizon = datetime.combine(day + DAY, time()) - _WINDOW
            while pending and pending[0][0] < horizon:
                yield pending.pop(0)
        yield from pending

    def _merged_from(
        self, start: datetime, limit_days: int = SEARCH_LIMIT_DAYS
    ) -> Iterator[tuple[datetime, datetime]]:
        """Like :meth:`_intervals_from`, with touching intervals merged (24:00 + 00:00)."""
        held: tuple[datetime, datetime] | None = None
        for a, b in self._intervals_from(start, limit_days):
            if held is not None and a <= held[1]:
                held = (held[0], max(held[1], b))
                continue
            if held is not None:
                yield held
            held = (a, b)
        if held is not None:
            yield held

    # --- public API -------------------------------------------------------

    def opening_intervals(
        self, start: datetime, end: datetime
    ) -> Iterator[tuple[datetime, datetime]]:
        """Open UTC intervals ``[a, b)`` clipped to ``[start, end)``, merged, in order."""
        lo = _require_aware(start, "start").replace(tzinfo=None)
        hi = _require_aware(end, "end").replace(tzinfo=None)
        if hi <= lo:
            return
        days = (hi - lo).days + 3
        for a, b in self._merged_from(lo, limit_days=days):
            if a >= hi:
                return
            yield max(a, lo).replace(tzinfo=UTC), min(b, hi).replace(tzinfo=UTC)

    def next_open(self, dt: datetime) -> datetime:
        """`dt` itself when open, else the next instant the calendar opens."""
        t = _require_aware(dt).replace(tzinfo=None)
        for a, _b in self._intervals_from(t):
            return max(a, t).replace(tzinfo=UTC)
        raise ValueError(f"calendar {self.timezone} never opens within {SEARCH_LIMIT_DAYS} days")

    def next_close(self, dt: datetime) -> datetime | None:
        """The first instant at or after `dt` that is closed (`dt` itself when closed).

        None when the calendar does not close within the search limit (24x7).
        """
        t = _require_aware(dt).replace(tzinfo=None)
        if self.always_open and self.holiday_country is None and not self.extra_closed:
            return None
        merged = self._merged_from(t)
        for a, b in merged:
            if a > t:
                return t.replace(tzinfo=UTC)
            # the stretch is known to end at b only if a later interval exists
            for _ in merged:
                return b.replace(tzinfo=UTC)
            return None
        return t.replace(tzinfo=UTC)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of business time has passed since `start`.

        Exactly: ``min{u >= next_open(start) : elapsed(start, u) >= duration}``.
        So ``add(t, 0) == next_open(t)`` (``t`` itself when open), and a duration
        that ends exactly at closing time returns the closing instant, not the
        next morning.
        """
        t = _require_aware(start, "start").replace(tzinfo=None)
        if duration < timedelta(0):
            raise ValueError(f"duration must not be negative (got {duration})")
        remaining = duration
        for a, b in self._intervals_from(t):
            a = max(a, t)
            if remaining <= b - a:
                return (a + remaining).replace(tzinfo=UTC)
            remaining -= b - a
        raise ValueError(f"calendar {self.timezone} has no room for {duration} within the limit")

    def elapsed(self, a: datetime, b: datetime) -> timedelta:
        """Business time between instants `a` <= `b`."""
        ua, ub = _require_aware(a, "a"), _require_aware(b, "b")
        if ub < ua:
            raise ValueError(f"elapsed needs a <= b (got {ua.isoformat()} > {ub.isoformat()})")
        total = timedelta(0)
        for x, y in self.opening_intervals(ua, ub):
            total += y - x
        return total

    def describe_hours(self, lang: str = "es") -> str:
        """The weekly hours as a sentence, e.g. 'lunes a jueves de 9:00 a 13:00 y de 15:00 a 18:00'."""
        from babel.dates import get_day_names

        if lang not in ("es", "en"):
            raise ValueError(f"unsupported language {lang!r}; use 'es' or 'en'")
        if self.always_open:
            return (
                "open 24 hours, every day"
                if lang == "en"
                else "abierto las 24 horas, todos los días"
            )
        names = get_day_names("wide", locale=lang)
        words = {
            "es": {"to": "a", "and": "y", "from": "de", "till": "a"},
            "en": {"to": "to", "and": "and", "from": "from", "till": "to"},
        }[lang]

        def hhmm(secs: int) -> str:
            return f"{secs // 3600}:{secs % 3600 // 60:02d}"

        groups: list[tuple[int, int, tuple[tuple[int, int], ...]]] = []
        for wd in range(7):
            shifts = self.hours[wd]
            if not shifts:
                continue
            if groups and groups[-1][1] == wd - 1 and groups[-1][2] == shifts:
                groups[-1] = (groups[-1][0], wd, shifts)
            else:
                groups.append((wd, wd, shifts))
        parts = []
        for first, last, shifts in groups:
            if first == last:
                days = str(names[first])
            elif last == first + 1:
                days = f"{names[first]} {words['and']} {names[last]}"
            else:
                days = f"{names[first]} {words['to']} {names[last]}"
            spans = f" {words['and']} ".join(
                f"{words['from']} {hhmm(s)} {words['till']} {hhmm(e)}" for s, e in shifts
            )
            parts.append(f"{days} {spans}")
        return "; ".join(parts)
