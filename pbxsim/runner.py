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

    # ---------------------------------------------------------------- holds
    def hold(self) -> None:
        self.holds += 1

    def release(self) -> None:
        self.holds -= 1
        self._wake.set()

    def poke(self) -> None:
        self._wake.set()

    # ----------------------------------------------------------------- loop
    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        self._stop = True
        self._wake.set()
        if self._task:
            await self._task

    async def _loop(self) -> None:
        k = self.kernel
        wall0 = time.monotonic()
        virt0 = k.now
        steps = 0
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
                # re-anchor so held time does not make the clock jump ahead later
                target_wall = wall0 + (nxt - virt0) / self.speed
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
            if self.speed and self.holds == 0:
                # keep wall and virtual time aligned after an I/O hold
                now_wall = time.monotonic()
                if (now_wall - wall0) * self.speed > (k.now - virt0) + 1.0:
                    wall0, virt0 = now_wall, k.now
            steps += 1
            if steps % 64 == 0 or self.holds:
                await asyncio.sleep(0)

    async def run_until(self, until: float) -> None:
        """Advance until epoch `until`, with nothing left to do before it and no I/O pending."""
        self.until = until
        while True:
            self.idle.clear()
            self._wake.set()
            await self.idle.wait()
            if self.holds == 0 and not self.kernel._ready:
                break
        self.kernel.now = max(self.kernel.now, until)
        self.until = None
