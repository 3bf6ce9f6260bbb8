"""Redis connections: one pool per process and purpose, created after fork."""

from __future__ import annotations

import os

import redis

__all__ = ["connect"]

_pools: dict[tuple[str, int, bool, int], redis.ConnectionPool] = {}
_SOCKET_TIMEOUT_S = 5
_BLOCKING_SOCKET_TIMEOUT_S = 120  # above the longest BLPOP a waiter issues


def connect(url: str, *, blocking: bool = False, max_connections: int = 0) -> redis.Redis:
    """A client on this process's pool for ``url``. ``blocking`` clients are
    for BLPOP waits, whose replies may take longer than the usual timeout.
    ``max_connections`` bounds the pool: a caller then waits (up to the
    socket timeout) for a free connection rather than opening one more, so
    a thousand greenlets waking at once do not storm Redis with connects."""
    key = (url, os.getpid(), blocking, max_connections)
    pool = _pools.get(key)
    if pool is None:
        options: dict = {
            "socket_timeout": _BLOCKING_SOCKET_TIMEOUT_S if blocking else _SOCKET_TIMEOUT_S,
            "socket_connect_timeout": 2,
            "health_check_interval": 30,
        }
        if max_connections:
            pool = redis.BlockingConnectionPool.from_url(
                url, max_connections=max_connections, timeout=_SOCKET_TIMEOUT_S, **options
            )
        else:
            pool = redis.ConnectionPool.from_url(url, **options)
        _pools[key] = pool
    return redis.Redis(connection_pool=pool)
