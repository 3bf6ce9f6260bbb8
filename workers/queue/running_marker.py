"""Which job a worker child is running, written where its node's main
process reads it if the child dies (``child_watch``): a child that holds
several jobs (``queue/held.py``) dies under one of them, and only that one
counts the attempt; the others are queued again with theirs given back.

One small file per child (its pid) under the temporary directory, rewritten
in place at each run's start: one ``pwrite``, no Redis call.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["RunningMarker", "job_run_by", "job_running_in"]

_ID_BYTES = 64  # job ids are 32 hex characters; room to spare, padded with spaces


def _path(pid: int) -> Path:
    return Path(tempfile.gettempdir()) / "hooklet-running" / str(pid)


class RunningMarker:
    """This process's marker, opened on first use (after fork)."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._pid = 0

    def running(self, job_id: str) -> None:
        if self._fd is None or self._pid != os.getpid():
            self._pid = os.getpid()
            path = _path(self._pid)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.pwrite(self._fd, job_id.encode()[:_ID_BYTES].ljust(_ID_BYTES), 0)


def job_running_in(pid: int) -> str | None:
    """The job child ``pid`` said it runs (or ran last); None if it never said."""
    try:
        return _path(pid).read_bytes().decode().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def job_run_by(pid: int) -> str | None:
    """The job a (dead) child ran last, and forget it; None if it never said."""
    job_id = job_running_in(pid)
    with contextlib.suppress(OSError):
        _path(pid).unlink()
    return job_id
