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

log = logging.getLogger(__name__)

TRIM_EVERY_S = 60.0

# glibc's M_ARENA_MAX (malloc.h): the most arenas its threads' allocations spread over.
M_ARENA_MAX = -8
LISTENER_ARENAS = 2


def cap_malloc_arenas(most: int = LISTENER_ARENAS) -> bool:
    """Cap glibc's arenas for this process; False where the C library cannot.

    Why: glibc gives a thread that finds the arenas busy an arena of its own, up to
    eight per core, and an arena keeps the pages its thread freed. The listener's
    threads (event loop, database, Redis sender and long polls) would settle on a new
    arena at random hours, each a step of a megabyte or two in RSS; capped, the worker
    threads share one arena next to the event loop's, and its free pages serve them all.
    They mostly wait on sockets, so sharing costs nothing measurable.
    """
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, most))


def malloc_trim() -> Callable[[], int] | None:
    """glibc's `malloc_trim(0)`, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        func = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_size_t]
    func.restype = ctypes.c_int
    return lambda: int(func(0))


async def trim_heap_forever(every_s: float = TRIM_EVERY_S) -> None:
    trim = malloc_trim()
    if trim is None:
        log.info("no malloc_trim in this C library: freed heap pages stay with the process")
        return
    while True:
        await asyncio.sleep(every_s)
        trim()
