"""The listener hands freed heap pages back to the OS (glibc keeps them otherwise)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ami_listener import heap_trim


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_trim_returns_the_free_pages_a_burst_left_behind() -> None:
    trim = heap_trim.malloc_trim()
    assert trim is not None  # glibc on Linux, as deployed
    # a burst of heap blocks (4 KB: malloc, not pymalloc), then freed except every 64th:
    # the survivors pin the heap's top, so glibc alone keeps the freed pages resident
    burst = [bytes(4000) + bytes([i % 251]) for i in range(25_000)]
    pinned = burst[::64]
    del burst
    before = _rss_mb()
    trim()
    after = _rss_mb()
    assert before - after > 40, (before, after)
    assert len(pinned) == 391


def test_the_trimmer_runs_on_its_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(heap_trim, "malloc_trim", lambda: lambda: calls.append(0) or 0)

    async def run() -> None:
        task = asyncio.create_task(heap_trim.trim_heap_forever(every_s=0.01))
        await asyncio.sleep(0.2)
        task.cancel()

    asyncio.run(run())
    assert len(calls) >= 3
