"""One bad value never stops recording (issue 9): every trigger seen in the field, on both engines.

Each trigger is planted in the recorded answered call; a known-good call follows
in a later flush. Both must be recorded — the bad value as "unknown" — and no
exception may leave `collect()` or `write()`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.calls import CallRecord
from ami_listener.ingest import Ingest
from ami_listener.store import CallStore, is_transient, snapshot
from servicedesk import metrics, quarantine
from servicedesk.models import Call
from tests.ami_listener.bad_values import (
    BAD_ID,
    GOOD_ID,
    STRAY_ID,
    TRIGGERS,
    renamed,
    trace_bytes,
    with_bad_value,
)


def _rows(factory: sessionmaker[Session]) -> dict[str, Call]:
    with factory() as s:
        return {c.linkedid: c for c in s.scalars(select(Call)).all()}


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_bad_value_does_not_block_the_next_call(
    trigger: str, traces_dir: Path, session_factory: sessionmaker[Session]
) -> None:
    raw = trace_bytes(traces_dir)
    ingest = Ingest("pbx-bad", CallStore(session_factory, "pbx-bad"))
    ingest.feed(with_bad_value(raw, trigger))
    assert ingest.flush() is True
    ingest.feed(renamed(raw))
    assert ingest.flush() is True
    rows = _rows(session_factory)
    good = rows[GOOD_ID]
    assert (good.outcome, good.hold_seconds, good.talk_seconds) == ("answered", 3, 5)
    bad = rows[BAD_ID]  # the bad call is kept too, its bad value as unknown
    assert bad.outcome == "answered" and bad.ended_at is not None
    assert bad.contact_id is None and bad.incident_number is None
    if trigger == "queue_entry_wait_20_digits":  # a waiting caller with an absurd Wait
        stray = rows[STRAY_ID]
        assert stray.entered_queue_at is not None and stray.entered_queue_at.year > 2000
    assert ingest.handler_errors == 0 and ingest.snapshot_errors == 0
    assert ingest.unwritten == 0 and ingest.quarantined == 0


def test_rejected_row_is_quarantined_and_the_others_land(
    session_factory: sessionmaker[Session],
) -> None:
    """A row the database refuses for good (here a CHECK constraint) is kept aside with its
    raw values and the error, counted, and does not hold back the rows beside it."""
    store = CallStore(session_factory, "pbx-q")
    now = datetime.now(UTC).timestamp()
    good, bad = CallRecord("good.1", "good.1", now), CallRecord("bad.1", "bad.1", now)
    good.outcome = "answered"
    bad.outcome = "vanished"  # not an outcome the schema accepts
    before = metrics.get("listener.rows_quarantined")
    assert store.write([snapshot(bad, "pbx-q"), snapshot(good, "pbx-q")]) == 1
    assert metrics.get("listener.rows_quarantined") == before + 1
    assert set(_rows(session_factory)) == {"good.1"}
    with session_factory() as s:
        (row,) = quarantine.recent(s)
        assert (row.kind, row.key, row.source) == ("call", "bad.1", "listener:pbx-q")
        assert '"vanished"' in row.raw and "IntegrityError" in row.error
        assert quarantine.count(s) == 1
    later = CallRecord("later.1", "later.1", now)
    assert store.write([snapshot(later, "pbx-q")]) == 0  # nothing stays blocked
    assert "later.1" in _rows(session_factory)


def test_strings_are_bounded_to_their_columns(session_factory: sessionmaker[Session]) -> None:
    """Over-long and NUL-carrying strings land on PostgreSQL as on SQLite."""
    store = CallStore(session_factory, "pbx-s")
    call = CallRecord("long.1", "long.1", datetime.now(UTC).timestamp())
    call.caller_name = "Ñ" * 500 + "\x00"
    call.caller_num = "5" * 300
    call.queue = "q" * 300
    call.agent_login = "a\x00" * 40
    call.agent_member = "m" * 500
    call.variables["CENTRALITA_CATEGORY"] = "c" * 100
    assert store.write([snapshot(call, "pbx-s")]) == 0
    row = _rows(session_factory)["long.1"]
    assert row.caller_name == "Ñ" * 200 and len(row.queue or "") == 80
    assert row.agent_login is not None and "\x00" not in row.agent_login
    assert len(row.agent_login) == 32 and len(row.agent_member or "") == 120


def test_only_transient_errors_are_retried() -> None:
    assert is_transient(OperationalError("INSERT", {}, Exception("database is locked")))
    assert is_transient(OperationalError("INSERT", {}, Exception("database or disk is full")))
    assert not is_transient(IntegrityError("INSERT", {}, Exception("FOREIGN KEY failed")))
    assert not is_transient(OverflowError("Python int too large to convert to SQLite INTEGER"))
    assert not is_transient(OperationalError("INSERT", {}, Exception("no such column: x")))
