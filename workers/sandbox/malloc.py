"""glibc's allocator, tuned for a process that runs V8 isolates.

Every isolate runs on threads of its own, and glibc gives each new thread its
own malloc arena (up to eight per core). A script killed at its heap limit
leaves its arena's pages fragmented and resident, so a child's RSS climbed by
about 12 MB per killed script until all arenas existed (about 100 MB on two
cores), pushing children towards their memory cap. Two arenas are enough for a
child that runs one script at a time.
"""

from __future__ import annotations

import ctypes
import functools

__all__ = ["limit_arenas", "return_freed_memory"]

_M_ARENA_MAX = -8  # from glibc's malloc.h
_ARENAS = 2


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None  # not glibc


def limit_arenas() -> None:
    """Cap the arenas for threads started from now on (call it in a child)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "mallopt"):
        libc.mallopt(_M_ARENA_MAX, _ARENAS)


def return_freed_memory() -> None:
    """Give a failed script's freed memory back to the OS (glibc keeps it)."""
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
