"""Asterisk epoch timestamps ↔ aware UTC datetimes (the models refuse naive ones)."""

from __future__ import annotations

from datetime import UTC, datetime


def to_dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def from_dt(dt: datetime | None) -> float | None:
    return None if dt is None else dt.timestamp()
