"""A listener that runs for months must hold per-call state only for calls that matter now.

The soak (`python -m bench.soak`) showed the listener's memory rising steadily with
every call taken; what it kept was the linkedid of every finished call, up to 50,000
of them (hours of traffic). These tests feed many complete calls and check that what
the listener keeps stays bounded by a time window, not by the number of calls seen.
"""

from __future__ import annotations

import re
from pathlib import Path

from ami_listener.calls import FINISHED_MEMORY_S, RecentSet
from ami_listener.ingest import Ingest

_ID = re.compile(rb"((?:Uniqueid|Linkedid|DestUniqueid|DestLinkedid): 1795339491\.)(\d+)")
_TS = re.compile(rb"(Timestamp: )(\d+)(\.\d+)")
GAP_S = 60  # event time between two repetitions of the call


def _call(raw: bytes, n: int) -> bytes:
    """The trace's call with fresh ids, GAP_S × n seconds later."""
    body = _ID.sub(lambda m: m.group(1) + str(int(m.group(2)) + 1000 * n).encode(), raw)
    return _TS.sub(
        lambda m: m.group(1) + str(int(m.group(2)) + GAP_S * n).encode() + m.group(3), body
    )


def test_finished_calls_are_forgotten_after_a_window_not_a_count(traces_dir: Path) -> None:
    raw = (traces_dir / "answered_caller_hangup" / "ami.raw").read_bytes()
    greeting, body = raw.split(b"\r\n", 1)
    ingest = Ingest("pbx1")
    ingest.feed(greeting + b"\r\n")
    calls = 400  # 400 minutes of event time, far beyond the window
    for n in range(calls):
        ingest.feed(_call(body, n))
        batch = ingest.collect()
        assert batch.calls and all(s.row["outcome"] == "answered" for s in batch.calls.values())
    tracker = ingest.calls
    assert not tracker.calls and ingest.handler_errors == 0
    window = int(FINISHED_MEMORY_S // GAP_S) + 1
    # the calls of the last window, no more (was 400: one per call ever taken)
    assert window - 1 <= len(tracker.finished) <= window
    last = f"1795339491.{1000 * (calls - 1)}"
    first = "1795339491.0"
    assert last in tracker.finished and first not in tracker.finished
    # a late event of the last call still does not bring it back to life
    late = _call(body, calls - 1)
    ingest.feed(late[late.index(b"Event: Hangup") :])
    assert not tracker.calls and not ingest.collect().calls


def test_recent_set_forgets_by_age_and_by_count() -> None:
    recent = RecentSet(limit=1000, max_age=300.0)
    for i in range(10_000):
        recent.add(f"c{i}", at=1_000_000.0 + i)
    assert len(recent) == 301 and "c9999" in recent and "c9699" in recent
    assert "c9698" not in recent
    # closed late with an old end time (e.g. from queue_log): kept the full window from now
    recent.add("late", at=5.0)
    recent.add("next", at=1_000_000.0 + 9_999 + 300)
    assert "late" in recent and "c9998" not in recent
    recent.add("later", at=1_000_000.0 + 9_999 + 301)
    assert "late" not in recent and "next" in recent
    capped = RecentSet(limit=3, max_age=1e9)
    for i in range(10):
        capped.add(f"c{i}", at=float(i))
    assert len(capped) == 3 and all(f"c{i}" in capped for i in (7, 8, 9))
    # re-adding refreshes: it is now the youngest
    capped.add("c7", at=10.0)
    capped.add("c10", at=11.0)
    assert "c7" in capped and "c8" not in capped


def test_sqlite_compiles_one_statement_whatever_the_batch_size(tmp_path: Path) -> None:
    """sqlite3 keeps a compiled program per SQL text and connection (up to 128). A
    multi-row VALUES per batch compiled a new ~300 KB program for every batch size
    the day brought (+17 MB of SQLite memory over 59 sizes). The store's statements
    are one text each."""
    import _sqlite3
    import ctypes

    from sqlalchemy.orm import sessionmaker

    from ami_listener.store import CallStore
    from bench.db_writes import snapshot
    from servicedesk.db import make_engine
    from servicedesk.models import Base

    lib = ctypes.CDLL(_sqlite3.__file__)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    engine = make_engine(f"sqlite:///{tmp_path / 'mem.db'}", role="listener")
    Base.metadata.create_all(engine)
    store = CallStore(sessionmaker(bind=engine), "pbx1")
    n = 0
    for _ in range(3):  # warm: pool, page cache
        for stage in range(3):
            assert store.write([snapshot(n + k, stage, "pbx1") for k in range(50)]) == 0
        n += 50
    before = lib.sqlite3_memory_used()
    for size in range(1, 60):
        for stage in range(3):
            assert store.write([snapshot(n + k, stage, "pbx1") for k in range(size)]) == 0
        n += size
    grown = lib.sqlite3_memory_used() - before
    engine.dispose()
    assert grown < 4_000_000, f"SQLite memory grew {grown / 1e6:.1f} MB over 59 batch sizes"
