"""Hand the heap's free pages back to the OS on a timer, so a steady listener stays flat.

Why: the listener's Python objects are flat in steady state, but glibc keeps the
pages freed after each burst (a batch flush, a QueueStatus resync, a reconnect's
catch-up) inside its arenas — one per thread that allocated — and RSS ratchets up
to the high-water mark of every arena. `malloc_trim(0)` releases the free pages of
all arenas; it costs a few milliseconds for a heap of tens of MB. On a libc
without it (musl, macOS) this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

TRIM_EVERY_S = 60.0

# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
LISTENER_ARENAS = 2
# glibc's own starting values, made fixed: setting them turns off its dynamic thresholds
LARGE_BLOCK_BYTES = 128 * 1024


def _libc(name: str, *argtypes: Any) -> Callable[..., int] | None:
    """The C library's function `name` (returning int), or None where it has none."""
    lib = ctypes.util.find_library("c")
    if not lib:
        return None
    try:
        func = ctypes.CDLL(lib)[name]
    except (OSError, AttributeError):
        return None
    func.argtypes = list(argtypes)
    func.restype = ctypes.c_int
    return func


def tune_malloc(arenas: int = LISTENER_ARENAS, large: int = LARGE_BLOCK_BYTES) -> bool:
    """Keep glibc's heap close to what is in use; False where the C library cannot.

    Why, from a soak's `malloc_info` and `/proc/<pid>/smaps`:
    - arenas: glibc gives a thread that finds the arenas busy an arena of its own, up
      to eight per core, and an arena keeps the pages its thread freed. The listener's
      threads (event loop, database, Redis sender, long polls) settled on new arenas
      at random minutes, each a step of a megabyte or two; capped, the worker threads
      share one arena next to the event loop's.
    - large blocks: after the first large block is freed glibc raises its mmap
      threshold (up to 32 MB) and its trim threshold with it, so later read buffers
      and batches come from the heap and their pages stay until the next trim: the
      main heap's RSS swung by half a megabyte from minute to minute. Fixed at glibc's
      defaults, a block of 128 kB or more is mapped and unmapped on its own, and a free
      top of the heap over 128 kB goes back at once.
    """
    mallopt = _libc("mallopt", ctypes.c_int, ctypes.c_int)
    if mallopt is None:
        return False
    return all(
        mallopt(param, value) == 1
        for param, value in (
            (M_ARENA_MAX, arenas),
            (M_MMAP_THRESHOLD, large),
            (M_TRIM_THRESHOLD, large),
        )
    )


def malloc_trim() -> Callable[[], int] | None:
    """glibc's `malloc_trim(0)`, or None where the C library has none."""
    func = _libc("malloc_trim", ctypes.c_size_t)
    return None if func is None else lambda: int(func(0))


async def trim_heap_forever(every_s: float = TRIM_EVERY_S) -> None:
    trim = malloc_trim()
    if trim is None:
        log.info("no malloc_trim in this C library: freed heap pages stay with the process")
        return
    while True:
        await asyncio.sleep(every_s)
        trim()
