"""PostgreSQL's array upsert writes what SQLAlchemy's insert would, once per batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from servicedesk import bulk_upsert
from servicedesk.db import make_engine
from servicedesk.models import Base, Call, RingAttempt
from tests.servers import PostgresServer

T0 = datetime(2026, 11, 3, 9, tzinfo=UTC)


def _call(i: int, **over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "pbx_id": "pbx1",
        "linkedid": f"L{i}",
        "uniqueid": f"U{i}",
        "caller_name": 'Ñandú "O\'Brien" {a,b} \\ NULL',  # array-literal hazards
        "ivr_choices": {"lang": "es", "path": [1, 2], "name": "é"},
        "vip": i % 2 == 0,
        "queue": None if i == 3 else "network_es",
        "started_at": T0 + timedelta(seconds=i),
        "entered_queue_at": None,
        "hold_seconds": None if i == 2 else 10 * i,
    }
    row.update(over)
    return row


def test_rows_round_trip_and_upsert(pg_server: PostgresServer) -> None:
    engine = make_engine(pg_server.create_database())
    Base.metadata.create_all(engine)
    table = Call.__table__
    update = ["caller_name", "ivr_choices", "vip", "queue", "hold_seconds", "entered_queue_at"]
    with engine.begin() as conn:
        ids = bulk_upsert.upsert(
            conn,
            table,
            [_call(i) for i in range(1, 5)],
            conflict=["pbx_id", "linkedid"],
            update=update,
            returning=["linkedid", "id"],
        )
    assert sorted(lid for lid, _ in ids) == ["L1", "L2", "L3", "L4"]
    with engine.begin() as conn:  # two known (one changed), one new
        again = bulk_upsert.upsert(
            conn,
            table,
            [_call(1, hold_seconds=99, entered_queue_at=T0), _call(2), _call(5)],
            conflict=["pbx_id", "linkedid"],
            update=update,
            returning=["linkedid", "id"],
        )
    assert dict(again)["L1"] == dict(ids)["L1"] and "L5" in dict(again)
    with engine.connect() as conn:
        rows = {c.linkedid: c for c in conn.execute(select(Call)).all()}
    assert len(rows) == 5
    assert rows["L1"].hold_seconds == 99 and rows["L1"].entered_queue_at == T0
    assert rows["L2"].hold_seconds is None and rows["L3"].queue is None
    assert rows["L4"].caller_name == _call(4)["caller_name"]
    assert rows["L4"].ivr_choices == {"lang": "es", "path": [1, 2], "name": "é"}
    assert rows["L4"].vip is True and rows["L3"].vip is False
    assert rows["L4"].started_at == T0 + timedelta(seconds=4)
    engine.dispose()


def test_only_changed_rows_get_a_new_version(pg_server: PostgresServer) -> None:
    engine = make_engine(pg_server.create_database())
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        [(call_id,)] = bulk_upsert.upsert(
            conn,
            Call.__table__,
            [_call(1)],
            conflict=["pbx_id", "linkedid"],
            update=["queue"],
            returning=["id"],
        )
    rings = [
        {"call_id": call_id, "member": f"PJSIP/{m}", "started_at": T0, "result": None}
        for m in (1001, 1002)
    ]

    def write(rows: list[dict[str, object]]) -> dict[str, str]:
        with engine.begin() as conn:
            bulk_upsert.upsert(
                conn,
                RingAttempt.__table__,
                rows,
                conflict=["call_id", "member", "started_at"],
                update=["result"],
                only_if_changed=True,
            )
            return dict(
                conn.execute(text("SELECT member, xmin::text FROM ring_attempt")).tuples().all()
            )

    first = write(rings)
    second = write([rings[0], {**rings[1], "result": "noanswer"}])
    assert second["PJSIP/1001"] == first["PJSIP/1001"]  # unchanged: not rewritten
    assert second["PJSIP/1002"] != first["PJSIP/1002"]
    engine.dispose()


def test_rows_must_share_their_columns(pg_server: PostgresServer) -> None:
    engine = make_engine(pg_server.create_database())
    Base.metadata.create_all(engine)
    with engine.begin() as conn, pytest.raises(ValueError, match="same columns"):
        bulk_upsert.upsert(
            conn,
            Call.__table__,
            [_call(1), {k: v for k, v in _call(2).items() if k != "queue"}],
            conflict=["pbx_id", "linkedid"],
            update=["queue"],
        )
    engine.dispose()
