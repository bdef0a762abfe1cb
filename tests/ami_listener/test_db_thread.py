"""All of a listener's database work runs on one thread (see ami_listener.db_thread)."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from ami_listener.db_thread import THREAD_NAME, DatabaseThread
from servicedesk.config import CentralitaConfig
from tests.ami_listener.harness import calls_by_uniqueid, replay_raw
from tests.ami_listener.test_followup_traces import RECORDED, _seed_contacts

CALL = contextvars.ContextVar("CALL", default="")


async def test_calls_run_in_order_on_one_named_thread_with_the_callers_context() -> None:
    db = DatabaseThread("test-db")
    seen: list[tuple[int, str, str]] = []

    def work(i: int) -> int:
        seen.append((i, threading.current_thread().name, CALL.get()))
        return i * 2

    CALL.set("1700000000.42")
    results = await asyncio.gather(*(db.run(work, i) for i in range(50)))
    assert results == [i * 2 for i in range(50)]
    assert [i for i, _n, _c in seen] == list(range(50))  # in the order asked for
    assert {name for _i, name, _c in seen} == {"test-db_0"}
    assert {call for _i, _n, call in seen} == {"1700000000.42"}
    db.submit(work, 50).result(5)
    db.close()
    assert await db.run(work, 51) == 102  # after close: a fresh thread, not an error
    db.close()


async def test_the_listeners_statements_all_run_on_its_database_thread(
    example_config: CentralitaConfig,
    engine: Engine,
    session_factory: sessionmaker[Session],
    redis_url: str,
) -> None:
    """Writes, the contact prefetch and the start-up reads: every statement on one thread
    (the Redis sender may still read a contact it needs before the prefetch lands)."""
    _seed_contacts(session_factory)
    threads: list[tuple[str, str]] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        threads.append((threading.current_thread().name, statement.split(None, 1)[0].upper()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        raw = RECORDED / "new_incident_network" / "listener_ami.raw"
        await replay_raw(raw, example_config, session_factory, redis_url, wrapup=10)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert calls_by_uniqueid(session_factory)  # the call was recorded
    writes = {name for name, verb in threads if verb in ("INSERT", "UPDATE", "DELETE")}
    assert writes == {f"{THREAD_NAME}_0"}
    assert {name for name, _verb in threads} <= {f"{THREAD_NAME}_0", "redis-pops"}
    assert any(verb == "SELECT" for name, verb in threads if name == f"{THREAD_NAME}_0")
