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
    """Bytes received and sent so far; ``None`` limits do not bind. Bodies
    (``received``, ``sent``: what a job's record shows) and heads (request
    line and headers, status line and headers) both count against a limit."""

    max_received: int | None = None
    max_sent: int | None = None
    received: int = 0
    sent: int = 0
    received_heads: int = 0
    sent_heads: int = 0
    exhausted: bool = False  # a response went past what the budget had left

    @property
    def received_total(self) -> int:
        return self.received + self.received_heads

    @property
    def sent_total(self) -> int:
        return self.sent + self.sent_heads

    def receive_limit(self, cap: int) -> int:
        """How many body bytes the next response may have: ``cap``, or what
        is left of the budget. Raises when nothing is left."""
        if self.max_received is None:
            return cap
        if self.spent():
            raise self.received_over()
        return min(cap, self.max_received - self.received_total)

    def spent(self) -> bool:
        """Whether nothing more may be received: the budget is used up, or
        a response was cut (or refused) for going past what it had left."""
        if self.max_received is None:
            return False
        return self.exhausted or self.received_total >= self.max_received

    def binds(self, cap: int) -> bool:
        """Whether the budget, not ``cap``, limits the next response."""
        return self.max_received is not None and self.max_received - self.received_total < cap

    def will_send(self, body: int, head: int = 0) -> None:
        """Count a request about to go out; raises, sending nothing, when it
        would pass the budget."""
        if self.max_sent is not None and self.sent_total + body + head > self.max_sent:
            raise TransferLimitReached(
                f"Outbound request bytes limit reached: {self.max_sent} bytes per run."
            )
        self.sent += body
        self.sent_heads += head

    def received_over(self) -> TransferLimitReached:
        """The error for a run past its received budget, which stays spent."""
        self.exhausted = True
        return TransferLimitReached(
            f"Outbound response bytes limit reached: {self.max_received} bytes per run."
        )
