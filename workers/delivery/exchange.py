"""One HTTP exchange with a target the egress guard checked.

The socket goes to a checked address (urllib3's connection class gets the IP
as its host), while TLS SNI and the certificate check use the URL's name and
the caller sends the name as ``Host``. The deadline watches each TCP socket
from before the TLS handshake to the last byte; the body is streamed and
reading stops one chunk past the limit.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from functools import lru_cache
from http.client import HTTPException

import certifi
from urllib3 import HTTPHeaderDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    DecodeError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.response import HTTPResponse

from workers.delivery.deadline import Deadline
from workers.delivery.egress import Target, loggable_url
from workers.delivery.outbound_errors import (
    OutboundError,
    UpstreamBodyFailed,
    UpstreamConnectFailed,
    UpstreamFailed,
    UpstreamTimeout,
    UpstreamTooLarge,
)
from workers.delivery.transfer import Transfer

__all__ = ["OutboundResponse", "exchange"]

_CHUNK = 64 * 1024


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
    bytes_in: int = 0  # body bytes read over every hop, redirects' included
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


class _Watched(HTTPConnection):
    """Hands each new TCP socket to the deadline before TLS starts on it."""

    deadline: Deadline

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        self.deadline.watch(sock)
        return sock


class _WatchedTLS(_Watched, HTTPSConnection):
    pass


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
            conn: _Watched = _WatchedTLS(
                address, target.port, timeout=timeout, server_hostname=target.host, **tls
            )
        else:
            conn = _Watched(address, target.port, timeout=timeout)
        conn.deadline = deadline
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
            deadline.remaining()
            raise UpstreamFailed(
                f"Upstream request failed: TLS error: {exc}", category="tls error"
            ) from exc
        except OSError as exc:
            deadline.remaining()  # a handshake the deadline cut
            last = exc
        conn.close()
    refused = isinstance(last, ConnectionRefusedError)
    raise UpstreamConnectFailed(
        f"Failed to connect to upstream: {loggable_url(target.url)}: {last}",
        category="connection refused" if refused else None,
    ) from last


def _read_body(response: HTTPResponse, limit: int, deadline: Deadline, transfer: Transfer) -> bytes:
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
            transfer.received += len(chunk)  # read, whether kept or not
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


def exchange(
    target: Target,
    method: str,
    headers: HTTPHeaderDict,
    body: bytes | None,
    deadline: Deadline,
    limit: int,
    insecure: bool,
    decompress: bool,
    transfer: Transfer,
) -> OutboundResponse:
    """Send one request to ``target`` and read its whole response (up to
    ``limit`` bytes, decoded ones when ``decompress``); the body bytes sent
    and read count in ``transfer``."""
    # Before connecting: over the budget, nothing goes out.
    head = len(method) + len(target.request_uri) + 12
    head += sum(len(k) + len(v) + 4 for k, v in headers.items() if isinstance(v, str))
    transfer.will_send(len(body or b""), head)
    conn, address = _connect(target, deadline, insecure)
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
        transfer.received_heads += (
            15
            + len(response.reason or "")
            + sum(len(k) + len(v) + 4 for k, v in response.headers.iteritems())
        )
        data = b"" if method == "HEAD" else _read_body(response, limit, deadline, transfer)
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
        conn.close()
    return OutboundResponse(
        status=response.status,
        headers=list(response.headers.iteritems()),
        body=data,
        url=target.url,
        reason=response.reason or "",
        address=address,
    )
