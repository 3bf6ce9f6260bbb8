"""The SSRF guard: callbacks never go to loopback, private, link-local or
otherwise internal addresses, unless the operator allowlists them."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["InternalAddress", "check_public"]


class InternalAddress(ValueError):
    """The URL's host is, or resolves to, an address that is not public."""


def _allowed(host: str, address: ipaddress._BaseAddress, allowlist: tuple[str, ...]) -> bool:
    for entry in allowlist:
        if entry == host:
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def check_public(url: str, allowlist: tuple[str, ...] = ()) -> None:
    """Raise ``InternalAddress`` unless every address the URL's host resolves
    to is public or allowlisted (by host name, address or CIDR)."""
    parts = urlsplit(url)
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise InternalAddress(f"{url!r} is not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise InternalAddress(f"{host!r} does not resolve: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global and not _allowed(host, address, allowlist):
            raise InternalAddress(
                f"{host!r} resolves to {address}, an internal address; allowlist it with "
                "HOOKLET_CALLBACK_ALLOWLIST to deliver there"
            )
