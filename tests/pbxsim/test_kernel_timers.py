"""Timers nobody waits for leave the kernel: a soak's simulator stays flat.

Callers in the soak carry an hour of patience; each call's patience timer and its
`any_of(timeout, hangup)` waits held the whole call (channel, variables, bridge,
AGI session) in the kernel's heap for that hour, +250 MB/h in bench.soak.
"""

from __future__ import annotations

import gc
import weakref

from pbxsim.kernel import Kernel


class Payload:
    """Stands for a call: what a timer's callback would keep alive."""


def test_a_timeout_that_lost_an_any_of_is_dropped() -> None:
    k = Kernel(0.0)
    hung_up = k.event()
    payload = Payload()
    ref = weakref.ref(payload)
    got: list[object] = []

    def caller(p: Payload):  # type: ignore[no-untyped-def]
        won = yield k.any_of(k.timeout(3600.0), hung_up)
        got.append(won is hung_up)
        del p

    k.process(caller(payload))
    del payload
    k.run_until(1.0)
    hung_up.succeed()
    k.run_until(2.0)
    assert got == [True]
    gc.collect()
    assert ref() is None  # not held by the hour-long timer
    assert k.next_time() is None or all(seq in k._cancelled for _t, seq, *_ in k._heap)


def test_an_interrupted_wait_cancels_its_timeout() -> None:
    k = Kernel(0.0)
    proc = k.process(iter_wait(k))
    k.run_until(1.0)
    proc.interrupt()
    k.run_until(2.0)
    assert not proc.alive
    assert [e for e in k._heap if e[1] not in k._cancelled] == []


def iter_wait(k: Kernel):  # type: ignore[no-untyped-def]
    yield k.timeout(3600.0)


def test_cancelled_entries_are_compacted_and_the_rest_still_fire_in_order() -> None:
    k = Kernel(0.0)
    fired: list[int] = []
    keep = [k.call_at(10.0 + i, fired.append, i) for i in range(5)]
    drop = [k.timeout(3600.0) for _ in range(1000)]
    for ev in drop:
        ev.forget(lambda e: None)  # nobody waits: each leaves the heap
    assert len(k._heap) < 600  # rebuilt once cancelled entries were most of it
    k.run_until(5000.0)
    assert fired == [0, 1, 2, 3, 4]
    assert keep == sorted(keep)
    assert all(not ev.triggered for ev in drop)


def test_a_timeout_still_waited_for_fires() -> None:
    k = Kernel(0.0)
    first = k.timeout(5.0, "a")
    other = k.any_of(first, k.event())
    seen: list[object] = []

    def waiter():  # type: ignore[no-untyped-def]
        ev = yield other
        seen.append(ev.value)

    def also():  # type: ignore[no-untyped-def]
        v = yield first
        seen.append(v)

    k.process(waiter())
    k.process(also())
    k.run_until(10.0)
    assert sorted(seen) == ["a", "a"]
