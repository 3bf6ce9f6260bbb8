"""The parts of a script's ``context`` read from the raw request, as
secutils reads them: the path as sent (percent-encoded, one trailing ``/``
dropped), ``rawQuery`` only when the URL had a ``?``, the last value of a
repeated query key, and ``clientAddress`` as ``ip:port``.

``clientAddress`` comes from proxy headers only when hooklet is told how
many reverse proxies stand in front of it (``HOOKLET_TRUSTED_PROXIES=N``):
``X-Real-IP`` when present, else the ``X-Forwarded-For`` entry the N-th
proxy appended (N-th from the right; the leftmost entries are whatever the
client sent). With N = 0 (the default) the headers are never read.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["client_address", "raw_target", "last_values"]


def raw_target(environ: dict[str, Any]) -> tuple[str, str | None]:
    """The request's path as sent and its raw query (None without ``?``)."""
    uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not uri:  # a server that gives neither: rebuild from the decoded parts
        query = environ.get("QUERY_STRING") or None
        return environ.get("PATH_INFO", "/"), query
    if "://" in uri.split("?", 1)[0]:  # absolute-form request target
        uri = "/" + uri.split("://", 1)[1].partition("/")[2]
    path, mark, query = uri.partition("?")
    if not mark:  # some servers (werkzeug's test client) leave the query out
        return path or "/", environ.get("QUERY_STRING") or None
    return path or "/", query


def strip_slash(path: str) -> str:
    """secutils drops one trailing slash from paths longer than ``/``."""
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


def last_values(raw_query: str | None) -> dict[str, str]:
    """``+`` is a space, percent-decoded, a repeated key keeps its last value."""
    return dict(parse_qsl(raw_query or "", keep_blank_values=True))


def _format(ip: str, port: int | str) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _parse(value: str) -> str | None:
    """``ip:port``/``[v6]:port`` or a bare IP (port 0), as ``ip:port``; else None."""
    value = value.strip()
    try:
        return _format(str(ipaddress.ip_address(value)), 0)
    except ValueError:
        pass
    host, _, port = value.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        return None
    try:
        return _format(str(ipaddress.ip_address(host.strip("[]"))), int(port))
    except ValueError:
        return None


def client_address(
    environ: dict[str, Any], headers: dict[str, str], trusted: int, *, real_ip: bool = True
) -> str:
    """``ip:port`` of the client ('' when unknown). ``real_ip=False`` reads
    only ``X-Forwarded-For``'s hops (what a throttle must do unless the
    operator says the proxy sets ``X-Real-IP``: a client can send one)."""
    if trusted > 0:
        real = headers.get("x-real-ip") if real_ip else None
        if real and (parsed := _parse(real)):
            return parsed
        hops = [h for h in (headers.get("x-forwarded-for") or "").split(",") if h.strip()]
        if len(hops) >= trusted and (parsed := _parse(hops[-trusted])):
            return parsed
    peer = environ.get("REMOTE_ADDR")
    if not peer:
        return ""
    return _format(peer, environ.get("REMOTE_PORT") or 0)
