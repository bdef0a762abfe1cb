"""Times as the desk reads them: in the service time zone, in the UI language's style.

Stored times are UTC (naive ones from SQLite are UTC too). People on the desk
work in `service.timezone`, so every shown time is converted, formatted by the
locale (24-hour in Spanish) and carries its ISO UTC value in `<time datetime>`
with the zone in the tooltip; recent events also read as "hace 3 minutos".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta, get_timezone_location
from markupsafe import Markup, escape

PATTERNS = {
    "es": ("d MMM yyyy, HH:mm", "HH:mm:ss"),
    "en": ("MMM d, yyyy, h:mm a", "h:mm:ss a"),
}


def aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def local_text(value: datetime | None, tz: str, lang: str, *, seconds: bool = False) -> str:
    if value is None:
        return ""
    pattern = PATTERNS.get(lang, PATTERNS["es"])[1 if seconds else 0]
    return format_datetime(aware(value), pattern, tzinfo=ZoneInfo(tz), locale=lang)


def zone_label(tz: str, lang: str) -> str:
    """'hora de México (Ciudad de México)' / 'Mexico (Mexico City) Time'."""
    return get_timezone_location(ZoneInfo(tz), locale=lang)


def relative(value: datetime | None, lang: str, now: datetime | None = None) -> str:
    """'hace 3 minutos' / 'en 2 horas' from now."""
    if value is None:
        return ""
    delta: timedelta = aware(value) - (now or datetime.now(UTC))
    return format_timedelta(delta, add_direction=True, threshold=1.0, locale=lang)


def time_tag(value: datetime | None, tz: str, lang: str, *, with_relative: bool = False) -> Markup:
    """`<time datetime="UTC ISO" title="... zone">local</time>`, optionally '(hace 3 min)'."""
    if value is None:
        return Markup("—")
    v = aware(value)
    text = local_text(v, tz, lang)
    title = f"{text} · {zone_label(tz, lang)}"
    out = Markup('<time datetime="{}" title="{}">{}</time>').format(
        v.astimezone(UTC).isoformat(), title, text
    )
    if with_relative:
        out += Markup(' <span class="rel" data-rel="{}">({})</span>').format(
            v.astimezone(UTC).isoformat(), escape(relative(v, lang))
        )
    return out
