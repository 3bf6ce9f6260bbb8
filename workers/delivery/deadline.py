"""A deadline over a whole outbound exchange (DNS, connect, TLS, send, read)."""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from types import TracebackType

from workers.delivery.outbound_errors import UpstreamTimeout

__all__ = ["Deadline"]


class Deadline:
    """``remaining`` raises ``UpstreamTimeout`` once the deadline has passed,
    and a timer shuts down the watched socket when it passes: that ends a
    read (or TLS handshake) that is blocked or fed a byte at a time, which
    per-read socket timeouts alone would let run on.

    The watched socket is a duplicate held until the next ``watch`` or
    ``close``, so a shutdown can never reach a descriptor that was closed
    and reused elsewhere meanwhile."""

    def __init__(self, timeout_s: float) -> None:
        self.at = time.monotonic() + max(0.0, timeout_s)
        self.fired = False
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        _watchdog().add(self)

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0 or self.fired:
            raise UpstreamTimeout("Upstream request timed out")
        return left

    def watch(self, sock: socket.socket) -> None:
        """From now on, the deadline shuts ``sock``'s connection down."""
        with self._lock:
            self._release()
            self._sock = sock.dup()
            if self.fired:
                self._shutdown()

    def fire(self) -> None:
        """The deadline has passed: shut the watched socket down."""
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _release(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        with self._lock:
            self._release()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Watchdog:
    """One thread per process fires every deadline in time order (a timer
    thread per request would cost a thread start on every call). A closed
    deadline stays queued until its time and then fires on nothing."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        threading.Thread(target=self._run, name="egress-deadlines", daemon=True).start()

    def add(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._queue, (deadline.at, next(self._order), deadline))
            if self._queue[0][2] is deadline:
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._queue and self._queue[0][0] <= now:
                    heapq.heappop(self._queue)[2].fire()
                self._cond.wait(self._queue[0][0] - now if self._queue else None)


_watchdogs: dict[int, _Watchdog] = {}
_watchdogs_lock = threading.Lock()


def _watchdog() -> _Watchdog:
    """This process's watchdog, started on first use (so after any fork)."""
    with _watchdogs_lock:
        dog = _watchdogs.get(os.getpid())
        if dog is None:
            dog = _watchdogs[os.getpid()] = _Watchdog()
        return dog
