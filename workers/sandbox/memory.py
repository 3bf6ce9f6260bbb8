"""This process's resident memory, read cheaply.

A worker child reads it after every job; psutil opens, reads and parses a
file per call, so this keeps ``/proc/self/statm`` open and reads it with one
``pread``. It falls back to psutil where there is no ``/proc``.
"""

from __future__ import annotations

import os

import psutil

__all__ = ["resident_bytes"]

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
_statm: tuple[int, int] | None = None  # (pid, fd): a forked child opens its own


def resident_bytes() -> int:
    global _statm
    pid = os.getpid()
    if _statm is None or _statm[0] != pid:
        if _statm is not None:
            os.close(_statm[1])  # the parent's file, inherited across fork
            _statm = None
        try:
            _statm = (pid, os.open("/proc/self/statm", os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            return psutil.Process().memory_info().rss
    return int(os.pread(_statm[1], 128, 0).split()[1]) * _PAGE_BYTES
