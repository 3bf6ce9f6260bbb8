"""One reading shared by every request of a process for a moment.

The unauthenticated operator routes (``/readyz``, and ``/metrics`` when no
token guards it) must not multiply their work under a flood: a reading is
taken by one request at a time, every request that was waiting for it gets
it, and it answers later requests too for ``fresh_s`` (0: only those that
arrived while it was being taken, so one caller's requests in turn always
see a new reading). A thousand probes at once cost Redis one reading."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from flask import current_app

__all__ = ["SharedReading", "shared"]

T = TypeVar("T")


class SharedReading(Generic[T]):
    def __init__(self, fresh_s: float, wait_s: float) -> None:
        self.fresh_s, self.wait_s = fresh_s, wait_s
        self._lock = threading.Lock()  # gevent's, under gunicorn's gevent worker
        self._taken_at = float("-inf")
        self._value: T | None = None

    def _fresh(self) -> bool:
        return self._value is not None and time.monotonic() - self._taken_at < self.fresh_s

    def get(self, take: Callable[[], T], busy: Callable[[], T]) -> T:
        """The fresh reading, or a new one from ``take`` (one caller at a
        time; the others wait up to ``wait_s``, then get ``busy()``)."""
        if self._fresh():
            return self._value  # type: ignore[return-value]
        arrived = time.monotonic()
        if not self._lock.acquire(timeout=self.wait_s):
            return busy()
        try:
            if not self._fresh() and self._taken_at < arrived:
                self._value = take()
                self._taken_at = time.monotonic()
            return self._value  # type: ignore[return-value]
        finally:
            self._lock.release()


def shared(name: str, fresh_s: float, wait_s: float) -> SharedReading:
    """The current app's shared reading called ``name`` (made on first use)."""
    ext = current_app.extensions
    key = f"hooklet.shared.{name}"
    if key not in ext:
        ext[key] = SharedReading(fresh_s, wait_s)
    return ext[key]
