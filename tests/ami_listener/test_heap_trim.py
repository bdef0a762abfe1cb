"""The listener hands freed heap pages back to the OS (glibc keeps them otherwise)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
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


ARENAS_PROBE = r"""
import ctypes, ctypes.util, os, sys, tempfile, threading
from ami_listener import heap_trim
if sys.argv[1] == "capped":
    assert heap_trim.tune_malloc(arenas=2)
barrier = threading.Barrier(8)
keep = []
def work():
    barrier.wait()  # all at once: each new thread asks glibc for an arena
    keep.append([bytes(2000 + i) for i in range(200)])
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
path = tempfile.mktemp()
fp = libc.fopen(path.encode(), b"w"); libc.malloc_info(0, fp); libc.fclose(fp)
print(open(path).read().count("<heap nr="))
os.unlink(path)
"""


def _probe(code: str, mode: str) -> float:
    """Run a probe in a fresh interpreter (allocator settings are per process); its figure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}  # glibc's own
    out = subprocess.run(
        [sys.executable, "-c", code, mode],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=Path(__file__).parents[2],
    )
    return float(out.stdout.strip())


def test_capped_arenas_stay_two_however_many_threads_allocate() -> None:
    assert _probe(ARENAS_PROBE, "free") > 2  # glibc alone: an arena per thread that found them busy
    assert _probe(ARENAS_PROBE, "capped") <= 2


LARGE_PROBE = r"""
import sys
from pathlib import Path
from ami_listener import heap_trim
if sys.argv[1] == "tuned":
    assert heap_trim.tune_malloc()
def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
big = bytearray(4 << 20)  # a large block freed: glibc alone raises its thresholds past 4 MB
del big
base = rss()
blocks = [bytearray(300_000) for _ in range(100)]  # 30 MB of 300 kB blocks, touched
for b in blocks:
    b[::4096] = b"x" * len(b[::4096])
pinned = bytearray(1000)  # a small block after them keeps the heap's top busy
del blocks
print(rss() - base)
"""


def test_large_blocks_freed_leave_the_process_at_once() -> None:
    assert _probe(LARGE_PROBE, "glibc") > 20  # dynamic thresholds: heap blocks, kept until a trim
    assert _probe(LARGE_PROBE, "tuned") < 3
