"""A tiny discrete-event kernel (generator processes on a virtual clock).

Why not asyncio tasks: a call's dialplan, queue and agent timers must fire in the
same order for the same seed, whatever the machine load. Processes are generators
that yield events; the kernel resumes them in (time, sequence) order. The asyncio
`Runner` (runner.py) advances this clock either as fast as possible (virtual) or
paced against the wall clock (×speed), and freezes it while real I/O (a FastAGI
reply) is outstanding, so results do not depend on network timing.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Callable, Generator
from typing import Any


class Interrupt(Exception):  # noqa: N818 - mirrors simpy's name
    """Thrown into a process by `Process.interrupt(cause)`."""

    def __init__(self, cause: Any = None) -> None:
        super().__init__(cause)
        self.cause = cause


class Event:
    """Something a process can wait for; `succeed(value)` wakes every waiter."""

    __slots__ = ("kernel", "callbacks", "value", "triggered", "fired", "timer")

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.callbacks: list[Callable[[Event], None]] = []
        self.value: Any = None
        self.triggered = False
        self.fired = False
        self.timer = 0  # a timeout's entry in the kernel's heap (0: none)

    def forget(self, callback: Callable[[Event], None]) -> None:
        """A waiter gave up on this event; a timeout nobody waits for leaves the heap
        (a caller's hour-long patience timer would otherwise keep the call for an hour)."""
        with contextlib.suppress(ValueError):
            self.callbacks.remove(callback)
        if self.timer and not self.callbacks and not self.triggered:
            self.kernel.cancel(self.timer)
            self.timer = 0

    def succeed(self, value: Any = None) -> Event:
        if self.triggered:
            return self
        self.triggered = True
        self.value = value
        self.kernel.call_soon(self._fire)
        return self

    def _fire(self) -> None:
        self.fired = True
        callbacks, self.callbacks = self.callbacks, []
        for cb in callbacks:
            cb(self)


class Process(Event):
    """Runs a generator; it is itself an Event that triggers when the generator ends."""

    __slots__ = ("gen", "waiting", "name")

    def __init__(self, kernel: Kernel, gen: Generator[Event, Any, Any], name: str = "") -> None:
        super().__init__(kernel)
        self.gen = gen
        self.name = name
        self.waiting: Event | None = None
        kernel.call_soon(self._step, None, None)

    @property
    def alive(self) -> bool:
        return not self.triggered

    def interrupt(self, cause: Any = None) -> None:
        if self.triggered:
            return
        self.kernel.call_soon(self._step, None, Interrupt(cause))

    def _resume(self, ev: Event) -> None:
        if self.waiting is ev:
            self._step(ev.value, None)

    def _step(self, value: Any, exc: BaseException | None) -> None:
        if self.triggered:
            return
        if self.waiting is not None:
            self.waiting.forget(self._resume)
            self.waiting = None
        try:
            target = self.gen.throw(exc) if exc is not None else self.gen.send(value)
        except StopIteration as stop:
            self.succeed(stop.value)
            return
        except Interrupt:
            self.succeed(None)
            return
        self.waiting = target
        if target.fired:
            self.kernel.call_soon(self._resume, target)
        else:
            target.callbacks.append(self._resume)


class Kernel:
    """Virtual time in epoch seconds, a heap of timed callbacks, and process helpers."""

    def __init__(self, start: float) -> None:
        self.now = start
        self._heap: list[tuple[float, int, Callable[..., None], tuple[Any, ...]]] = []
        self._seq = 0
        self._ready: list[tuple[Callable[..., None], tuple[Any, ...]]] = []
        self._cancelled: set[int] = set()

    # scheduling -----------------------------------------------------------
    def call_soon(self, fn: Callable[..., None], *args: Any) -> None:
        self._ready.append((fn, args))

    def call_at(self, when: float, fn: Callable[..., None], *args: Any) -> int:
        """Schedules `fn(*args)`; returns the entry's number for `cancel`."""
        self._seq += 1
        heapq.heappush(self._heap, (max(when, self.now), self._seq, fn, args))
        return self._seq

    def call_later(self, delay: float, fn: Callable[..., None], *args: Any) -> int:
        return self.call_at(self.now + max(0.0, delay), fn, *args)

    def cancel(self, seq: int) -> None:
        """Drops a scheduled entry: skipped when due, and the heap is rebuilt without
        cancelled entries once they are most of it (what they hold is freed then)."""
        self._cancelled.add(seq)
        if len(self._cancelled) > 256 and 2 * len(self._cancelled) > len(self._heap):
            self._heap = [e for e in self._heap if e[1] not in self._cancelled]
            heapq.heapify(self._heap)
            self._cancelled.clear()

    def next_time(self) -> float | None:
        if self._ready:
            return self.now
        return self._heap[0][0] if self._heap else None

    def run_ready(self) -> None:
        """Run everything due now (zero-delay callbacks first, in FIFO order)."""
        while True:
            while self._ready:
                ready, self._ready = self._ready, []
                for fn, args in ready:
                    fn(*args)
            if self._heap and self._heap[0][0] <= self.now:
                _, seq, fn, args = heapq.heappop(self._heap)
                if seq in self._cancelled:
                    self._cancelled.discard(seq)
                else:
                    fn(*args)
                continue
            if not self._ready:
                return

    def advance_to(self, when: float) -> None:
        if when > self.now:
            self.now = when
        self.run_ready()

    def run_until(self, until: float) -> None:
        """Synchronous run (no I/O): used by pure-simulation tests and load profiles."""
        self.run_ready()
        while True:
            nxt = self.next_time()
            if nxt is None or nxt > until:
                break
            self.advance_to(nxt)
        self.now = max(self.now, until)

    # process helpers ------------------------------------------------------
    def event(self) -> Event:
        return Event(self)

    def timeout(self, delay: float, value: Any = None) -> Event:
        ev = Event(self)
        ev.timer = self.call_later(delay, ev.succeed, value)
        return ev

    def process(self, gen: Generator[Event, Any, Any], name: str = "") -> Process:
        return Process(self, gen, name)

    def any_of(self, *events: Event) -> Event:
        """Triggers with the first of `events` that triggers (its value is that event)."""
        out = Event(self)
        waiting: list[Event] = []

        def fire(e: Event) -> None:
            out.succeed(e)
            for other in waiting:  # the losers no longer hold `out` (nor its waiter)
                if other is not e:
                    other.forget(fire)

        for ev in events:
            if ev.fired:
                out.succeed(ev)
                for other in waiting:
                    other.forget(fire)
                break
            ev.callbacks.append(fire)
            waiting.append(ev)
        return out
