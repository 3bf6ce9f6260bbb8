"""Failed API authentications, counted per client address in Redis as the
console's sign-ins are (``app/console/signin_throttle.py``, whose address
rules it shares): past ``api_auth_attempts`` wrong tokens within
``api_auth_window_s`` the client is answered 429 until the window ends,
whatever token it sends, so a token cannot be guessed at the speed of the
web server. A request without a token is no attempt.

The count is read before a token is checked and raised after a wrong one;
if Redis is down the throttle lets the request through (the admin token is
checked without Redis)."""

from __future__ import annotations

import redis

from app import services
from app.console.signin_throttle import client_key
from workers.errors import TooManyRequests
from workers.store import keys

__all__ = ["check", "failed"]


def check() -> None:
    """Raise ``TooManyRequests`` (with ``Retry-After``) if this client is past its attempts."""
    settings = services.settings()
    key = keys.api_auth_failures(client_key())
    try:
        with services.dispatcher().redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            count, ttl = pipe.execute()
    except (redis.RedisError, OSError):
        return
    if count is not None and int(count) >= settings.api_auth_attempts:
        exc = TooManyRequests(
            f"too many failed authentications from this address; try again in {max(ttl, 1)} s"
        )
        exc.retry_after_s = max(int(ttl), 1)
        raise exc


def failed() -> None:
    """Count a wrong token (the window starts with the first)."""
    settings = services.settings()
    key = keys.api_auth_failures(client_key())
    try:
        with services.dispatcher().redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=settings.api_auth_window_s, nx=True)
            pipe.incr(key)
            pipe.execute()
    except (redis.RedisError, OSError):
        pass
