"""Redis connections: one pool per process and purpose, created after fork.

``HOOKLET_REDIS_URL`` is either a plain ``redis://`` URL or a Sentinel list in
the form Celery documents, ``sentinel://[:password@]host:26379[/db];
sentinel://host:26380;...``, with the master's name in
``HOOKLET_REDIS_SENTINEL_MASTER``. Through Sentinel every client asks for the
current master on each new connection (redis-py's ``SentinelConnectionPool``),
so web, workers, the reaper and the CLI follow a failover without a restart;
commands that hit a connection error are retried with a short backoff.
"""

from __future__ import annotations

import os
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from redis.sentinel import Sentinel

from workers.settings import Settings
from workers.store.command_packer import COMMAND_PACKER

__all__ = [
    "connect",
    "client_for",
    "wait_replicas",
    "is_sentinel_url",
    "SentinelUrl",
    "parse_sentinel_url",
]

_pools: dict[tuple[str, str, int, bool, str, int], redis.Redis] = {}
_SOCKET_TIMEOUT_S = 5
_BLOCKING_SOCKET_TIMEOUT_S = 120  # above the longest BLPOP a waiter issues
_SENTINEL_SOCKET_TIMEOUT_S = 1
# A readiness probe: a slow or unreachable Redis makes it answer 503 within
# about this long (connect, wait for a pooled connection, reply), never hang.
_PROBE_TIMEOUT_S = 1.0


class SentinelUrl(NamedTuple):
    nodes: list[tuple[str, int]]
    db: int
    username: str | None
    password: str | None  # the master's (as kombu reads it from the first URL)


def is_sentinel_url(url: str) -> bool:
    return url.startswith("sentinel://")


def parse_sentinel_url(url: str) -> SentinelUrl:
    """The Sentinel nodes and master credentials of a Celery-style URL list."""
    nodes: list[tuple[str, int]] = []
    db, username, password = 0, None, None
    for i, part in enumerate(p for p in url.split(";") if p.strip()):
        parsed = urlsplit(part.strip())
        if parsed.scheme != "sentinel" or not parsed.hostname:
            raise ValueError(f"not a sentinel:// URL: {part!r}")
        nodes.append((parsed.hostname, parsed.port or 26379))
        if i == 0:
            path = parsed.path.strip("/")
            db = int(path) if path else 0
            username = unquote(parsed.username) if parsed.username else None
            password = unquote(parsed.password) if parsed.password else None
    return SentinelUrl(nodes, db, username, password)


# Connection-error retries per kind of caller. Web requests give up within
# about two seconds (the caller gets a 503 and retries); workers and the
# reaper wait out a failover (~10 s); a readiness probe answers at once.
RETRIES = {"web": 3, "patient": 5, "probe": 0}


def connect(
    url: str,
    *,
    blocking: bool = False,
    sentinel_master: str = "mymaster",
    retries: str = "web",
    max_connections: int = 0,
) -> redis.Redis:
    """A client on this process's pool for ``url``. ``blocking`` clients are
    for BLPOP waits, whose replies may take longer than the usual timeout;
    ``retries`` names how long commands retry on connection errors (RETRIES);
    a ``"probe"`` client also gives up on a slow reply within a second.
    ``max_connections`` bounds a plain Redis pool: a caller then waits (up to
    the socket timeout) for a free connection rather than opening one more, so
    a thousand greenlets waking at once do not storm Redis with connects
    (Sentinel's pool is not bounded that way)."""
    key = (url, sentinel_master, os.getpid(), blocking, retries, max_connections)
    client = _pools.get(key)
    if client is None:
        timeout_s = _BLOCKING_SOCKET_TIMEOUT_S if blocking else _SOCKET_TIMEOUT_S
        if retries == "probe":
            timeout_s = _PROBE_TIMEOUT_S
        options = {
            "socket_timeout": timeout_s,
            "socket_connect_timeout": min(2, timeout_s),
            "health_check_interval": 30,
            "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), RETRIES[retries]),
            "retry_on_error": [RedisConnectionError, RedisTimeoutError],
            "command_packer": COMMAND_PACKER,  # one C call per command
        }
        if is_sentinel_url(url):
            parsed = parse_sentinel_url(url)
            sentinel = Sentinel(
                parsed.nodes,
                sentinel_kwargs={
                    "socket_timeout": _SENTINEL_SOCKET_TIMEOUT_S,
                    "socket_connect_timeout": _SENTINEL_SOCKET_TIMEOUT_S,
                },
            )
            client = sentinel.master_for(
                sentinel_master,
                db=parsed.db,
                username=parsed.username,
                password=parsed.password,
                **options,
            )
        elif max_connections:
            pool = redis.BlockingConnectionPool.from_url(
                url, max_connections=max_connections, timeout=timeout_s, **options
            )
            client = redis.Redis(connection_pool=pool)
        else:
            client = redis.Redis(connection_pool=redis.ConnectionPool.from_url(url, **options))
        _pools[key] = client
    return client


def client_for(
    settings: Settings, *, blocking: bool = False, retries: str = "web", max_connections: int = 0
) -> redis.Redis:
    """``connect`` to hooklet's Redis as ``settings`` name it."""
    return connect(
        settings.redis_url,
        blocking=blocking,
        sentinel_master=settings.redis_sentinel_master,
        retries=retries,
        max_connections=max_connections,
    )


def wait_replicas(settings: Settings) -> int:
    """How many replicas must confirm an event before it is answered 2xx."""
    if settings.redis_wait_replicas >= 0:
        return settings.redis_wait_replicas
    return 1 if is_sentinel_url(settings.redis_url) else 0
