"""Rows the database refused: kept with their raw values and the error, listable.

The writer (the AMI listener's store) calls `keep` in its own transaction when
a single row fails for a non-transient reason; `recent` and `count` are what an
admin view or `centralita listener quarantine` shows.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicedesk.models import QuarantinedRow

RAW_LIMIT = 64_000
ERROR_LIMIT = 4_000


def keep(session: Session, source: str, kind: str, key: str, raw: Any, error: str) -> None:
    """Add one quarantined row to `session` (the caller commits)."""
    text = json.dumps(raw, default=str, ensure_ascii=False, sort_keys=True)
    session.add(
        QuarantinedRow(
            source=source[:64],
            kind=kind[:32],
            key=key[:200],
            raw=text[:RAW_LIMIT],
            error=error[:ERROR_LIMIT],
        )
    )


def recent(
    session: Session, limit: int = 50, source: str | None = None, since: datetime | None = None
) -> list[QuarantinedRow]:
    stmt = select(QuarantinedRow).order_by(QuarantinedRow.id.desc()).limit(limit)
    if source is not None:
        stmt = stmt.where(QuarantinedRow.source == source)
    if since is not None:
        stmt = stmt.where(QuarantinedRow.at >= since)
    return list(session.scalars(stmt).all())


def count(session: Session, source: str | None = None) -> int:
    stmt = select(func.count(QuarantinedRow.id))
    if source is not None:
        stmt = stmt.where(QuarantinedRow.source == source)
    return int(session.scalar(stmt) or 0)
