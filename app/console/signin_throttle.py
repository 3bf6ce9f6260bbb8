"""Console sign-ins, counted per client address in Redis: past
``console_signin_attempts`` within ``console_signin_window_s`` the form
answers 429 until the window ends, so the admin token cannot be guessed at
the speed of the web server. A successful sign-in clears the count.

Two rules keep the count honest:
- the address is one a client cannot choose: the ``trusted_proxies``-th
  ``X-Forwarded-For`` hop (what the proxy in front appended) or the TCP peer,
  and ``X-Real-IP`` only when ``console_trust_real_ip`` says the proxy sets
  it; an IPv6 client counts by its /64, which it holds whole;
- an attempt is counted *before* the token is checked, in one atomic step
  that also reads the count, so parallel guesses cannot all pass the check
  before any of them is counted.

If Redis is down the console cannot work anyway; the throttle then lets the
attempt through rather than locking everyone out."""

from __future__ import annotations

import ipaddress

import redis
from flask import request

from app import services
from app.request_context import client_address
from workers.store import keys

__all__ = ["client_key", "attempt", "clear"]


def client_key() -> str:
    """The address the attempts are counted under (no port; an IPv6 /64)."""
    settings = services.settings()
    headers = {name.lower(): value for name, value in request.headers.items()}
    address = client_address(
        request.environ,
        headers,
        settings.trusted_proxies,
        real_ip=settings.console_trust_real_ip,
    )
    host = address.rsplit(":", 1)[0].strip("[]") if address else ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def attempt() -> int:
    """Count this sign-in attempt; how long the client must wait before
    trying again (0: this attempt may go on to check the token)."""
    settings = services.settings()
    key = keys.signin_failures(client_key())
    try:
        # MULTI/EXEC: the window starts with the first attempt (SET NX EX,
        # which INCR keeps), and the count read is this attempt's own.
        with services.dispatcher().redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=settings.console_signin_window_s, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _, count, ttl = pipe.execute()
    except (redis.RedisError, OSError):
        return 0
    if count <= settings.console_signin_attempts:
        return 0
    return max(int(ttl), 1)


def clear() -> None:
    """A successful sign-in: this client's count starts again."""
    try:
        services.dispatcher().redis.delete(keys.signin_failures(client_key()))
    except (redis.RedisError, OSError):
        pass
