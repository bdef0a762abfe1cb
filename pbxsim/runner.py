"""Drives the kernel from asyncio: as fast as possible (virtual) or paced at ×speed.

Virtual mode never reads the wall clock: time jumps to the next timer as soon as
nothing else is ready, except while real I/O is outstanding (`hold()`), when the
clock stands still, so a FastAGI server's think time costs no simulated time and
the run is the same for the same seed.
"""

from __future__ import annotations

import asyncio
import time

from pbxsim.kernel import Kernel


def tune_gc() -> None:
    """Make CPython's cyclic GC rare: a full collection over a busy simulator's objects stalls
    the event loop for 100-250 ms, which shows up as real-time lag. Process-wide: call it from
    an entry point (the sim CLI, the bench, the demo), not from a library."""
    import gc

    gc.set_threshold(100_000, 50, 100)


BURST_S = 0.002  # longest stretch of engine work between two event-loop turns


class Runner:
    def __init__(self, kernel: Kernel, speed: float | None = None) -> None:
        self.kernel = kernel
        self.speed = speed  # None/0: virtual (as fast as possible)
        self.holds = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stop = False
        self.until: float | None = None
        self.idle = asyncio.Event()
        self.error: BaseException | None = None
        self.wall0 = time.monotonic()
        self.virt0 = kernel.now

    # ---------------------------------------------------------------- holds
    # Only the virtual clock stands still for I/O; on the paced clock a slow FastAGI
    # server costs simulated time exactly as it costs Asterisk real time.
    def hold(self) -> None:
        if not self.speed:
            self.holds += 1

    def release(self) -> None:
        if not self.speed:
            self.holds -= 1
        self._wake.set()

    def lag(self) -> float:
        """Paced mode: seconds the simulated clock runs behind where the wall clock says it should be."""
        if not self.speed:
            return 0.0
        return (time.monotonic() - self.wall0) * self.speed - (self.kernel.now - self.virt0)

    def poke(self) -> None:
        self._wake.set()

    # ----------------------------------------------------------------- loop
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        self._stop = True
        self._wake.set()
        if self._task and self.error is None:
            await self._task

    async def _loop(self) -> None:
        try:
            await self._drive()
        except Exception as exc:  # a bug in a call flow must fail the run, not hang it
            self.error = exc
            self.idle.set()
            raise

    async def _drive(self) -> None:
        k = self.kernel
        self.wall0 = time.monotonic()
        self.virt0 = k.now
        steps = 0
        burst0 = time.perf_counter()
        while not self._stop:
            k.run_ready()
            if self.holds > 0:
                self._wake.clear()
                await self._wake.wait()
                continue
            nxt = k.next_time()
            if nxt is None or (self.until is not None and nxt > self.until):
                self.idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            self.idle.clear()
            if self.speed:
                target_wall = self.wall0 + (nxt - self.virt0) / self.speed
                delay = target_wall - time.monotonic()
                if delay > 0:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), delay)
                        continue
                    except TimeoutError:
                        pass
                if self.holds > 0:
                    continue
            k.advance_to(nxt)
            steps += 1
            # Give the loop a turn (AMI writes, FastAGI replies) at least every BURST_S of
            # work, not only every 64 steps: a busy second's steps would otherwise hold an
            # event that is already serialised for tens of ms.
            if steps % 64 == 0 or self.holds or time.perf_counter() - burst0 > BURST_S:
                await asyncio.sleep(0)
                burst0 = time.perf_counter()

    async def run_until(self, until: float) -> None:
        """Advance until epoch `until`, with nothing left to do before it and no I/O pending."""
        self.until = until
        while True:
            self.idle.clear()
            self._wake.set()
            await self.idle.wait()
            if self.error is not None:
                raise RuntimeError("pbxsim engine failed") from self.error
            if self.holds == 0 and not self.kernel._ready:
                break
        self.kernel.now = max(self.kernel.now, until)
        self.until = None
