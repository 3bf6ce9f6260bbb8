"""A deadline over a whole outbound exchange (DNS, connect, TLS, send, read)."""

from __future__ import annotations

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
        self._timer = threading.Timer(max(0.0, timeout_s), self._fire)
        self._timer.daemon = True
        self._timer.start()

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

    def _fire(self) -> None:
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
        self._timer.cancel()
        with self._lock:
            self._release()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
