"""The one HTTP client for outbound requests (scripts' fetch, callbacks).

Every hop passes ``check_url`` and the socket goes to an address that check
returned: urllib3's connection class gets the IP as its host, while the
``Host`` header, TLS SNI and certificate checks use the URL's name. One
deadline covers connecting, sending and reading (a timer shuts the socket
when it passes, so a trickling upstream cannot stretch it); the body is
streamed and reading stops one chunk past ``max_response_bytes``. Error
texts are secutils' (``op_proxy_request``), so a script's uncaught error
maps to the same HTTP status (504 / 502 / 413).
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass, field
from functools import lru_cache
from http.client import HTTPException
from urllib.parse import urljoin

import certifi
from urllib3 import HTTPHeaderDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    LocationParseError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.response import HTTPResponse
from urllib3.util import SKIP_HEADER, parse_url

from workers.delivery.deadline import Deadline
from workers.delivery.egress import Target, check_url, loggable_url
from workers.delivery.outbound_errors import (
    EgressRefused,
    OutboundError,
    UpstreamBodyFailed,
    UpstreamConnectFailed,
    UpstreamFailed,
    UpstreamTimeout,
    UpstreamTooLarge,
)

__all__ = [
    "EgressRefused",
    "OutboundError",
    "OutboundResponse",
    "UpstreamBodyFailed",
    "UpstreamConnectFailed",
    "UpstreamFailed",
    "UpstreamTimeout",
    "UpstreamTooLarge",
    "send",
]

_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
# Framing and routing are ours to set (the fetch standard forbids them too).
_DROPPED = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})


@dataclass
class OutboundResponse:
    status: int
    headers: list[tuple[str, str]]  # in arrival order, duplicates kept
    body: bytes
    url: str  # the final URL (after redirects), urllib3-normalised
    reason: str = ""
    address: str = ""  # the IP that answered
    redirects: int = 0
    elapsed_ms: float = 0.0
    bytes_out: int = 0
    history: list[str] = field(default_factory=list)  # URLs that redirected

    def header(self, name: str) -> str | None:
        """The last value of header ``name`` (case-insensitive)."""
        name = name.lower()
        values = [v for k, v in self.headers if k.lower() == name]
        return values[-1] if values else None


@lru_cache(maxsize=4)
def _verifying(ca_file: str) -> ssl.SSLContext:
    """One verifying context per CA bundle (loading the bundle per request
    would cost milliseconds); hostname checks use ``server_hostname``."""
    return ssl.create_default_context(cafile=ca_file)


def _where(target: Target, address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"{loggable_url(target.url)} ({host}:{target.port})"


def _connect(target: Target, deadline: Deadline, insecure: bool) -> tuple[HTTPConnection, str]:
    """A connection to the first checked address that accepts one."""
    last: BaseException | None = None
    for address in target.addresses:
        timeout = deadline.remaining()
        if target.scheme == "https":
            tls: dict[str, object] = (
                {"cert_reqs": "CERT_NONE", "assert_hostname": False}
                if insecure
                else {"cert_reqs": "CERT_REQUIRED", "ssl_context": _verifying(certifi.where())}
            )
            conn: HTTPConnection = HTTPSConnection(
                address, target.port, timeout=timeout, server_hostname=target.host, **tls
            )
        else:
            conn = HTTPConnection(address, target.port, timeout=timeout)
        try:
            conn.connect()
            return conn, address
        except NewConnectionError as exc:
            last = exc.__cause__ or exc
        except (ConnectTimeoutError, TimeoutError) as exc:
            raise UpstreamTimeout(
                f"Upstream request timed out: connecting to {_where(target, address)}"
            ) from exc
        except (ssl.SSLError, ssl.CertificateError) as exc:
            conn.close()
            raise UpstreamFailed(
                f"Upstream request failed: TLS error: {exc}", category="tls error"
            ) from exc
        except OSError as exc:
            last = exc
        conn.close()
    refused = isinstance(last, ConnectionRefusedError)
    raise UpstreamConnectFailed(
        f"Failed to connect to upstream: {loggable_url(target.url)}: {last}",
        category="connection refused" if refused else None,
    ) from last


def _request_headers(
    headers: dict[str, str] | list[tuple[str, str]] | None, target: Target
) -> HTTPHeaderDict:
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    kept = [(k, v) for k, v in pairs if k.lower() not in _DROPPED]
    names = {k.lower() for k, _ in kept}
    kept.append(("Host", target.host_header))
    if "user-agent" not in names:
        kept.append(("User-Agent", SKIP_HEADER))  # no urllib3 default, as secutils
    result = HTTPHeaderDict()
    for name, value in kept:
        result.add(name, value)
    return result


def _read_body(response: HTTPResponse, limit: int, deadline: Deadline) -> bytes:
    length = response.headers.get("content-length")
    encoded = response.headers.get("content-encoding", "identity").strip().lower()
    too_large = "Upstream response body too large: {} bytes exceeds limit of {} bytes"
    if length and length.isdigit() and int(length) > limit and encoded == "identity":
        raise UpstreamTooLarge(too_large.format(int(length), limit), response.status)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.stream(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise UpstreamTooLarge(too_large.format(f"at least {size}", limit), response.status)
            chunks.append(chunk)
            deadline.remaining()
    except DecodeError as exc:
        raise UpstreamBodyFailed(f"Failed to decompress {encoded} response body: {exc}") from exc
    except (ProtocolError, ReadTimeoutError, HTTPException, OSError) as exc:
        deadline.remaining()
        raise UpstreamBodyFailed(f"Failed to read upstream response body: {exc}") from exc
    deadline.remaining()
    return b"".join(chunks)


def _exchange(
    target: Target,
    method: str,
    headers: HTTPHeaderDict,
    body: bytes | None,
    deadline: Deadline,
    limit: int,
    insecure: bool,
    decompress: bool,
) -> OutboundResponse:
    conn, address = _connect(target, deadline, insecure)
    deadline.watch(conn)
    try:
        conn.request(
            method,
            target.request_uri,
            body=body,
            headers=headers,
            preload_content=False,
            decode_content=decompress,
            enforce_content_length=True,
        )
        response = conn.getresponse()
        data = b"" if method == "HEAD" else _read_body(response, limit, deadline)
    except OutboundError:
        raise
    except (ReadTimeoutError, TimeoutError) as exc:
        raise UpstreamTimeout(f"Upstream request timed out: {loggable_url(target.url)}") from exc
    except (ssl.SSLError, ssl.CertificateError) as exc:
        deadline.remaining()
        raise UpstreamFailed(
            f"Upstream request failed: TLS error: {exc}", category="tls error"
        ) from exc
    except (HTTPError, HTTPException, OSError) as exc:
        deadline.remaining()
        raise UpstreamFailed(
            f"Upstream request failed: {loggable_url(target.url)}: {exc or type(exc).__name__}"
        ) from exc
    finally:
        deadline.cancel()
        conn.close()
    return OutboundResponse(
        status=response.status,
        headers=list(response.headers.iteritems()),
        body=data,
        url=target.url,
        reason=response.reason or "",
        address=address,
    )


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
) -> OutboundResponse:
    """One outbound request through the egress guard.

    Redirects (up to ``max_redirects``; 0 returns the 3xx as is) are each
    checked again; 303, and 301/302 after a POST, become a GET without body;
    credentials are dropped when the origin changes. ``decompress`` decodes
    gzip/deflate/br/zstd and applies the size limit to the decoded bytes.
    Raises ``OutboundError`` subclasses; ``ValueError`` for an invalid
    method or header (the caller's input)."""
    started = time.monotonic()
    deadline = Deadline(started + max(0.0, timeout_s))
    history: list[str] = []
    pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    while True:
        target = check_url(url, allowlist, timeout_s=deadline.remaining())
        response = _exchange(
            target,
            method,
            _request_headers(pairs, target),
            body,
            deadline,
            max_response_bytes,
            insecure,
            decompress,
        )
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
    response.redirects = len(history)
    response.history = history
    response.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    response.bytes_out = len(body or b"")
    return response


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parsed = parse_url(url)
    except LocationParseError:
        return None
    return (parsed.scheme or "", (parsed.host or "").lower(), parsed.port)
