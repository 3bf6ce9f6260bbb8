"""The egress guard: every outbound request (a script's fetch, a callback)
goes only to public addresses, unless the operator allowlists a target.

One parser decides both what is checked and what is connected to: urllib3's
``parse_url``. A URL that ``urllib.parse`` reads differently (the ``\\@``
trick: urllib3 stops the host at ``\\``, ``urlsplit`` at ``@``), that carries
userinfo, a backslash, a `%` in the host or a non-canonical numeric host is refused
outright. The host is resolved once; every address must be public, and the
caller connects to exactly those addresses (see ``outbound.send``), so a DNS
answer that changes between check and connect (rebinding) changes nothing.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import os
import re
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from workers.delivery.outbound_errors import (
    EgressRefused,
    OutboundError,
    UnresolvableHost,
    UpstreamTimeout,
)
from workers.settings import Settings

__all__ = [
    "EgressRefused",
    "OutboundError",
    "Target",
    "UnresolvableHost",
    "callback_allowlist",
    "check_url",
    "loggable_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_HINT = "allowlist it with HOOKLET_EGRESS_ALLOWLIST"
# Hosts whose last label is a number are IPv4 for WHATWG parsers (browsers,
# secutils' url crate): "0x7f.1", "2130706433", "127.1" all mean 127.0.0.1.
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_COMPAT = ipaddress.ip_network("::/96")  # IPv4-compatible (deprecated), incl. :: and ::1
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # an operator's own translator


@dataclass(frozen=True)
class Target:
    """A URL that passed the guard, with the addresses it was checked against.

    Connect only to ``addresses`` (in order), send ``host_header`` as
    ``Host`` and use ``host`` for TLS SNI and certificate checks."""

    url: str  # urllib3's normalised form (path and query percent-encoded)
    scheme: str
    host: str  # name or address, lower-case, IPv6 without brackets
    port: int
    request_uri: str  # path and query, what goes on the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def callback_allowlist(settings: Settings) -> tuple[str, ...]:
    """Callbacks may go where scripts may, and to ``HOOKLET_CALLBACK_ALLOWLIST``."""
    return tuple(dict.fromkeys((*settings.egress_allowlist, *settings.callback_allowlist)))


def loggable_url(url: str) -> str:
    """The URL without userinfo, query or fragment (which may carry secrets)."""
    try:
        parsed = parse_url(url)
    except LocationParseError:
        return "(invalid URL)"
    host = f"[{parsed.host.strip('[]')}]" if parsed.host and ":" in parsed.host else parsed.host
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{host or ''}{port}{parsed.path or '/'}"


def _refuse(reason: str) -> EgressRefused:
    return EgressRefused(f"URL not allowed: {reason}")


def _ascii_host(host: str) -> str:
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host


def _parse(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, request_uri, normalised url); refuses what the
    two parsers could read differently."""
    if not isinstance(url, str) or not url:
        raise _refuse("not a URL")
    if "\\" in url:
        raise _refuse("a backslash is not allowed in a URL (percent-encode it as %5C)")
    if any(ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        raise _refuse("whitespace or control characters are not allowed in a URL")
    try:
        parsed = parse_url(url)
        split = urlsplit(url)
        split_port = split.port
    except (LocationParseError, ValueError) as exc:
        raise _refuse(f"malformed URL ({exc})") from None
    scheme = (parsed.scheme or "").lower()
    if scheme not in ("http", "https"):
        raise _refuse("only http and https URLs are allowed")
    if parsed.auth is not None or "@" in split.netloc or split.username is not None:
        raise _refuse("credentials (user@) in a URL are not allowed; send them in a header")
    host = (parsed.host or "").strip("[]").lower()
    if not host:
        raise _refuse("the URL has no host")
    if "%" in host:
        raise _refuse("a percent sign (zone id, encoded character) is not allowed in a host")
    split_host = _ascii_host((split.hostname or "").strip("[]"))
    if (split.scheme.lower(), split_host, split_port) != (scheme, host, parsed.port):
        raise _refuse("the URL is ambiguous (parsers disagree on its host or port)")
    port = parsed.port if parsed.port is not None else (443 if scheme == "https" else 80)
    if not 0 < port < 65536:
        raise _refuse(f"port {port} is out of range")
    if ":" not in host and _NUMERIC_LABEL.match(host.rstrip(".").rsplit(".", 1)[-1]):
        try:
            if str(ipaddress.IPv4Address(host)) != host:
                raise ValueError(host)
        except ValueError:
            raise _refuse(f"{host} is not a canonical IPv4 address (write a.b.c.d)") from None
    return scheme, host, port, parsed.request_uri, parsed.url


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address reaches through (mapped, compatible,
    NAT64, 6to4, Teredo), which must be public too."""
    if address.version == 4:
        return []
    assert isinstance(address, ipaddress.IPv6Address)
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _MAPPED or address in _NAT64:
        return [low32]
    if address in _COMPAT and int(address) > 1:
        return [low32]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    return []


def _why_internal(address: IPAddress) -> str | None:
    """Why ``address`` is not a public destination, or None if it is."""
    if address.version == 6 and (address in _MAPPED or address in _NAT64 or address in _COMPAT):
        if int(address) <= 1:
            return "loopback" if int(address) == 1 else "unspecified"
        embedded = _embedded_ipv4(address)[0]
        reason = _why_internal(embedded)
        return None if reason is None else f"{reason} (embedded IPv4 {embedded})"
    for name in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    if address.version == 6 and address in _NAT64_LOCAL:
        return "local NAT64"
    if not address.is_global:
        return "non-public"
    for embedded in _embedded_ipv4(address):
        reason = _why_internal(embedded)
        if reason is not None:
            return f"{reason} (embedded IPv4 {embedded})"
    return None


def _name_allowed(host: str, names: frozenset[str]) -> bool:
    """``host`` is listed, or a ``*.suffix`` entry covers it (any depth)."""
    host = host.rstrip(".")
    if host in names:
        return True
    labels = host.split(".")
    return any("*." + ".".join(labels[i:]) in names for i in range(1, len(labels)))


@lru_cache(maxsize=64)
def _compile(allowlist: tuple[str, ...]) -> tuple[frozenset[str], tuple[Network, ...]]:
    names: set[str] = set()
    networks: list[Network] = []
    for entry in allowlist:
        entry = entry.strip().lower().strip("[]")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return frozenset(names), tuple(networks)


def _address_allowed(address: IPAddress, networks: tuple[Network, ...]) -> bool:
    candidates = [address, *_embedded_ipv4(address)]
    return any(a in net for a in candidates for net in networks if a.version == net.version)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


_resolvers: dict[int, concurrent.futures.ThreadPoolExecutor] = {}


def _resolver() -> concurrent.futures.ThreadPoolExecutor:
    """Threads for lookups bounded by a deadline (``getaddrinfo`` has no
    timeout); one pool per process, made after any fork."""
    pool = _resolvers.get(os.getpid())
    if pool is None:
        pool = _resolvers[os.getpid()] = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="egress-dns"
        )
    return pool


def _resolve(host: str, port: int, timeout_s: float | None) -> tuple[IPAddress, ...]:
    try:
        return (ipaddress.ip_address(host),)
    except ValueError:
        pass
    try:
        if timeout_s is None:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        else:
            lookup = _resolver().submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
            infos = lookup.result(timeout=max(0.0, timeout_s))
    except concurrent.futures.TimeoutError:
        raise UpstreamTimeout(f"Upstream request timed out: resolving {host}") from None
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvableHost(f"URL not allowed: {host} does not resolve ({exc})") from None
    found = dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos)
    if not found:
        raise UnresolvableHost(f"URL not allowed: {host} does not resolve")
    return tuple(found)


def check_url(
    url: str, allowlist: tuple[str, ...] = (), *, timeout_s: float | None = None
) -> Target:
    """Parse ``url`` (urllib3's parser), resolve its host once and return the
    target to connect to; raise ``EgressRefused`` unless every address is
    public or allowlisted (by host name, ``*.suffix``, address or CIDR). ``timeout_s``
    bounds the lookup (``UpstreamTimeout`` past it)."""
    scheme, host, port, request_uri, normalised = _parse(url)
    names, networks = _compile(tuple(allowlist))
    addresses = _resolve(host, port, timeout_s)
    if not _name_allowed(host, names):
        for address in addresses:
            reason = _why_internal(address)
            if reason is not None and not _address_allowed(address, networks):
                literal = len(addresses) == 1 and _is_literal(host)
                what = host if literal else f"{host} resolves to {address}, which"
                raise _refuse(f"{what} is a {reason} address; {_HINT}")
    return Target(
        url=normalised,
        scheme=scheme,
        host=host,
        port=port,
        request_uri=request_uri,
        addresses=tuple(str(a) for a in addresses),
    )
