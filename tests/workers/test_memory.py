"""The cheap RSS reading that worker children report after each job."""

from __future__ import annotations

import os

import psutil

from workers.sandbox.memory import resident_bytes


def within(a: int, b: int, tolerance: int = 8 * 2**20) -> bool:
    return abs(a - b) < tolerance


def test_resident_bytes_follow_growth_and_forks() -> None:
    assert within(resident_bytes(), psutil.Process().memory_info().rss)
    ballast = bytearray(64 * 2**20)  # touched: resident
    assert within(resident_bytes(), psutil.Process().memory_info().rss)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a forked child reads its own memory, not its parent's
        del ballast
        ours, theirs = resident_bytes(), psutil.Process().memory_info().rss
        os.write(write, b"1" if within(ours, theirs) else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 1) == b"1"
    del ballast
