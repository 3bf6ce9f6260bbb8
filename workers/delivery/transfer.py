"""The bytes outbound requests move, counted on every hop against a budget.

A script's run may receive ``script_max_received_bytes`` and send
``script_max_request_bytes`` over all its requests. Redirects are hops of
one request: each 3xx body read and each request body a 307/308 sends again
counts, as the final response does, and so do the bytes read before a
response is cut for being too large. ``send`` counts into a ``Transfer``
the caller keeps for the whole run; the caller reads what was moved even
when a request failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.delivery.outbound_errors import TransferLimitReached

__all__ = ["Transfer"]


@dataclass
class Transfer:
    """Body bytes received and sent so far; ``None`` limits do not bind."""

    max_received: int | None = None
    max_sent: int | None = None
    received: int = 0
    sent: int = 0

    def receive_limit(self, cap: int) -> int:
        """How many bytes the next response may have: ``cap``, or what is
        left of the budget. Raises when nothing is left."""
        if self.max_received is None:
            return cap
        room = self.max_received - self.received
        if room <= 0:
            raise self.received_over()
        return min(cap, room)

    def binds(self, cap: int) -> bool:
        """Whether the budget, not ``cap``, limits the next response."""
        return self.max_received is not None and self.max_received - self.received < cap

    def will_send(self, size: int) -> None:
        """Count a request body about to go out; raises, sending nothing,
        when it would pass the budget."""
        if self.max_sent is not None and self.sent + size > self.max_sent:
            raise TransferLimitReached(
                f"Outbound request bytes limit reached: {self.max_sent} bytes per run."
            )
        self.sent += size

    def received_over(self) -> TransferLimitReached:
        return TransferLimitReached(
            f"Outbound response bytes limit reached: {self.max_received} bytes per run."
        )
