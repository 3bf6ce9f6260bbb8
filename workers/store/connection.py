"""Redis connections: one pool per process and purpose, created after fork."""

from __future__ import annotations

import os

import redis

__all__ = ["connect"]

_pools: dict[tuple[str, int, bool], redis.ConnectionPool] = {}
_SOCKET_TIMEOUT_S = 5
_BLOCKING_SOCKET_TIMEOUT_S = 120  # above the longest BLPOP a waiter issues


def connect(url: str, *, blocking: bool = False) -> redis.Redis:
    """A client on this process's pool for ``url``. ``blocking`` clients are
    for BLPOP waits, whose replies may take longer than the usual timeout."""
    key = (url, os.getpid(), blocking)
    pool = _pools.get(key)
    if pool is None:
        pool = redis.ConnectionPool.from_url(
            url,
            socket_timeout=_BLOCKING_SOCKET_TIMEOUT_S if blocking else _SOCKET_TIMEOUT_S,
            socket_connect_timeout=2,
            health_check_interval=30,
        )
        _pools[key] = pool
    return redis.Redis(connection_pool=pool)
