"""What an outbound request can end with instead of a response.

Messages use secutils' texts (``op_proxy_request``), so a script's uncaught
error maps to the same HTTP status: ``Upstream request timed out`` 504;
``URL not allowed``, ``Failed to connect to upstream``, ``Upstream request
failed`` 502; ``Upstream response body too large`` 413. ``category`` is the
short, detail-free name a sender may see (``GET /jobs/<id>``)."""

from __future__ import annotations

from workers.errors import HookletError

__all__ = [
    "EgressRefused",
    "OutboundError",
    "TransferLimitReached",
    "UnresolvableHost",
    "UpstreamBodyFailed",
    "UpstreamConnectFailed",
    "UpstreamFailed",
    "UpstreamTimeout",
    "UpstreamTooLarge",
]


class OutboundError(HookletError):
    """An outbound request did not produce a response; the message uses
    secutils' texts, so a script's uncaught error maps to the same status.
    ``category`` is the short, detail-free name senders may see."""

    code, status = "outbound_failed", 502
    category = "request failed"

    def __init__(self, message: str, *, category: str | None = None) -> None:
        super().__init__(message)
        if category is not None:
            self.category = category


class EgressRefused(OutboundError, ValueError):
    """The egress guard refused the URL; the message names the rule."""

    code, status = "egress_refused", 502
    category = "refused by egress guard"


class UnresolvableHost(EgressRefused):
    """The URL's host name does not resolve (refused: nothing was checked)."""

    category = "dns error"


class UpstreamTimeout(OutboundError):
    """The deadline passed before the response was complete."""

    code, status = "upstream_timeout", 504
    category = "timeout"


class UpstreamConnectFailed(OutboundError):
    """No TCP connection could be made to any checked address."""

    code = "upstream_connect_failed"
    category = "connection failed"


class UpstreamFailed(OutboundError):
    """The exchange failed after connecting (TLS, protocol, redirects)."""

    code = "upstream_failed"
    category = "invalid response"


class UpstreamBodyFailed(UpstreamFailed):
    """The response body could not be read or decoded (secutils: 500)."""

    status = 500


class UpstreamTooLarge(OutboundError):
    """The response body went past the limit; ``status`` is the upstream's."""

    code, status = "upstream_too_large", 413
    category = "response too large"

    def __init__(self, message: str, upstream_status: int) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status


class TransferLimitReached(OutboundError):
    """A run's budget of bytes received or sent, over every request and
    every redirect hop, ran out (``transfer.Transfer``)."""

    code = "outbound_limit"
    category = "limit"
