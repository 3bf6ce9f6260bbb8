"""Failed console sign-ins, counted per client address in Redis: past
``console_signin_attempts`` within ``console_signin_window_s`` the form
answers 429 until the window ends, so the admin token cannot be guessed at
the speed of the web server. A successful sign-in clears the count. If Redis
is down the console cannot work anyway; the throttle then lets the attempt
through rather than locking everyone out."""

from __future__ import annotations

import redis
from flask import request

from app import services
from app.request_context import client_address
from workers.store import keys

__all__ = ["seconds_locked", "record_failure", "clear"]


def _key() -> str:
    settings = services.settings()
    headers = {name.lower(): value for name, value in request.headers.items()}
    address = client_address(request.environ, headers, settings.trusted_proxies)
    host = address.rsplit(":", 1)[0] if address else "unknown"
    return keys.signin_failures(host)


def seconds_locked() -> int:
    """How long this client must wait before trying again (0: it may try)."""
    settings = services.settings()
    key = _key()
    try:
        with services.dispatcher().redis.pipeline(transaction=False) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            failures, ttl = pipe.execute()
    except (redis.RedisError, OSError):
        return 0
    if int(failures or 0) < settings.console_signin_attempts:
        return 0
    return max(int(ttl), 1)


def record_failure() -> None:
    key = _key()
    try:
        with services.dispatcher().redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, services.settings().console_signin_window_s, nx=True)
            pipe.execute()
    except (redis.RedisError, OSError):
        pass


def clear() -> None:
    try:
        services.dispatcher().redis.delete(_key())
    except (redis.RedisError, OSError):
        pass
