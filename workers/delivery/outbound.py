"""The one HTTP client for outbound requests (scripts' fetch, callbacks).

``send`` checks the method and headers, then runs each hop (the first, and
every redirect it is asked to follow) through ``check_url`` and one
``exchange`` (``exchange.py``: a connection pinned to the checked address,
TLS for the name, the body streamed up to the limit), all under one
``Deadline``. Error texts are secutils' (``op_proxy_request``), so a
script's uncaught error maps to the same HTTP status (504 / 502 / 413).
"""

from __future__ import annotations

import re
import time
from urllib.parse import urljoin

from urllib3 import HTTPHeaderDict
from urllib3.exceptions import LocationParseError
from urllib3.util import SKIP_HEADER, parse_url

from workers.delivery.deadline import Deadline
from workers.delivery.egress import Target, check_url
from workers.delivery.exchange import OutboundResponse, exchange
from workers.delivery.outbound_errors import (
    EgressRefused,
    OutboundError,
    TransferLimitReached,
    UpstreamBodyFailed,
    UpstreamConnectFailed,
    UpstreamFailed,
    UpstreamTimeout,
    UpstreamTooLarge,
)
from workers.delivery.transfer import Transfer

__all__ = [
    "EgressRefused",
    "OutboundError",
    "OutboundResponse",
    "Transfer",
    "TransferLimitReached",
    "UpstreamBodyFailed",
    "UpstreamConnectFailed",
    "UpstreamFailed",
    "UpstreamTimeout",
    "UpstreamTooLarge",
    "send",
]

_REDIRECTS = (301, 302, 303, 307, 308)
# Framing and routing are ours to set (the fetch standard forbids them too).
_DROPPED = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110 token
_BAD_VALUE = re.compile(r"[\r\n\0]")


def _checked(
    method: str, headers: dict[str, str] | list[tuple[str, str]] | None
) -> list[tuple[str, str]]:
    """The caller's header pairs, if the method and every header are valid
    (secutils' messages); nothing of a bad request goes on the wire."""
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise ValueError(f"Invalid HTTP method: '{method}'")
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    for name, value in pairs:
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"Invalid header name: '{name}'")
        try:
            if not isinstance(value, str) or _BAD_VALUE.search(value):
                raise ValueError(value)
            value.encode("latin-1")
        except (ValueError, UnicodeEncodeError):
            raise ValueError(f"Invalid header value for '{name}'") from None
    return pairs


def _request_headers(pairs: list[tuple[str, str]], target: Target) -> HTTPHeaderDict:
    kept = [(k, v) for k, v in pairs if k.lower() not in _DROPPED]
    names = {k.lower() for k, _ in kept}
    kept.append(("Host", target.host_header))
    if "user-agent" not in names:
        kept.append(("User-Agent", SKIP_HEADER))  # no urllib3 default, as secutils
    result = HTTPHeaderDict()
    for name, value in kept:
        result.add(name, value)
    return result


def send(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
    body: bytes | None = None,
    timeout_s: float,
    max_response_bytes: int,
    allowlist: tuple[str, ...] = (),
    insecure: bool = False,
    max_redirects: int = 0,
    decompress: bool = False,
    transfer: Transfer | None = None,
) -> OutboundResponse:
    """One outbound request through the egress guard.

    Redirects (up to ``max_redirects``; 0 returns the 3xx as is) are each
    checked again; 303, and 301/302 after a POST, become a GET without body;
    credentials are dropped when the origin changes. ``decompress`` decodes
    gzip/deflate/br/zstd and applies the size limit to the decoded bytes.
    ``transfer`` counts the body bytes sent and read on every hop against
    a caller's budget (``TransferLimitReached`` past it), failed requests'
    bytes included. Raises ``OutboundError`` subclasses; ``ValueError`` for
    an invalid method or header (the caller's input)."""
    started = time.monotonic()
    pairs = _checked(method, headers)
    transfer = transfer or Transfer()
    received_before = transfer.received
    with Deadline(timeout_s) as deadline:
        response, history, bytes_out = _follow(
            method, url, pairs, body, deadline, allowlist, max_redirects,
            (max_response_bytes, insecure, decompress), transfer,
        )  # fmt: skip
    response.bytes_in = transfer.received - received_before
    response.redirects = len(history)
    response.history = history
    response.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    response.bytes_out = bytes_out
    return response


def _follow(
    method: str,
    url: str,
    pairs: list[tuple[str, str]],
    body: bytes | None,
    deadline: Deadline,
    allowlist: tuple[str, ...],
    max_redirects: int,
    options: tuple[int, bool, bool],
    transfer: Transfer,
) -> tuple[OutboundResponse, list[str], int]:
    """The exchange, and each redirect hop through the guard again; every
    hop's bodies count in ``transfer``."""
    history: list[str] = []
    bytes_out = 0
    cap, insecure, decompress = options
    while True:
        target = check_url(url, allowlist, timeout_s=deadline.remaining())
        limit, budget_binds = transfer.receive_limit(cap), transfer.binds(cap)
        try:
            response = exchange(
                target,
                method,
                _request_headers(pairs, target),
                body,
                deadline,
                limit,
                insecure,
                decompress,
                transfer,
            )
        except UpstreamTooLarge as exc:
            if budget_binds:  # the run's budget ran out, not this response's cap
                raise transfer.received_over() from exc
            raise
        bytes_out += len(body or b"")
        location = response.header("location")
        if response.status not in _REDIRECTS or not location or max_redirects <= 0:
            break
        if len(history) >= max_redirects:
            raise UpstreamFailed(
                f"Upstream request failed: more than {max_redirects} redirects",
                category="too many redirects",
            )
        history.append(target.url)
        url = urljoin(target.url, location)
        if response.status == 303 or (response.status in (301, 302) and method == "POST"):
            method, body = ("HEAD" if method == "HEAD" else "GET"), None
            pairs = [(k, v) for k, v in pairs if not k.lower().startswith("content-")]
        if _origin(url) != _origin(target.url):
            pairs = [(k, v) for k, v in pairs if k.lower() not in _CREDENTIALS]
    return response, history, bytes_out


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parsed = parse_url(url)
    except LocationParseError:
        return None
    return (parsed.scheme or "", (parsed.host or "").lower(), parsed.port)
