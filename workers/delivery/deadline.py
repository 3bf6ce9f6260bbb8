"""A deadline over a whole outbound exchange (connect, send, read)."""

from __future__ import annotations

import socket
import threading
import time

from urllib3.connection import HTTPConnection

from workers.delivery.outbound_errors import UpstreamTimeout

__all__ = ["Deadline"]


class Deadline:
    """One deadline for a whole exchange: ``remaining`` raises once it has
    passed, and a watched connection's socket is shut down when it passes,
    which ends a read that is blocked or fed a byte at a time."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.fired = False
        self._sock: socket.socket | None = None
        self._timer: threading.Timer | None = None

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0 or self.fired:
            raise UpstreamTimeout("Upstream request timed out")
        return left

    def watch(self, conn: HTTPConnection) -> None:
        # Keep the socket itself: http.client drops ``conn.sock`` once the
        # response owns it (a closing response), but the read still uses it.
        self._sock = conn.sock
        self._timer = threading.Timer(self.remaining(), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
