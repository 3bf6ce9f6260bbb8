"""The Redis server version hooklet needs, checked when a process starts.

Hooklet's Lua and commands use Redis 7.0 features (``EXPIRE ... NX`` in the
sign-in throttle, ``config/redis.conf``'s listpack directive names), which a
Redis 6 answers with errors only when the first such call runs, or not at
all. The web app (``create_app``) and each worker node (when it is ready)
read ``INFO server`` once and refuse to start on an older server, naming the
version found and the one needed. A server that cannot be reached at that
moment is not refused: the web answers 503 and Celery waits for it.
"""

from __future__ import annotations

import logging

import redis

from workers.errors import HookletError
from workers.settings import Settings
from workers.store.connection import client_for

__all__ = ["REQUIRED", "RedisTooOld", "check_version", "server_version", "require_redis"]

REQUIRED: tuple[int, int] = (7, 0)
log = logging.getLogger(__name__)


class RedisTooOld(HookletError):
    """The Redis server is older than the version hooklet needs."""

    code = "redis_too_old"


def _parse(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.strip().split("."):
        digits = "".join(c for c in part if c.isdigit()) or "0"
        parts.append(int(digits))
    return tuple(parts)


def check_version(found: str, where: str = "the Redis server") -> None:
    """Raise ``RedisTooOld`` unless ``found`` (e.g. ``"7.0.15"``) is recent enough."""
    if _parse(found)[:2] < REQUIRED:
        needed = ".".join(map(str, REQUIRED))
        raise RedisTooOld(
            f"hooklet needs Redis {needed} or newer, but {where} runs Redis {found}; "
            f"upgrade Redis (or point HOOKLET_REDIS_URL at a Redis {needed}+)"
        )


def server_version(client: redis.Redis) -> str:
    """``redis_version`` from the server's ``INFO server``."""
    return str(client.info("server")["redis_version"])


def _where(settings: Settings) -> str:
    """The server's address without credentials, for the message."""
    url = settings.redis_url
    return "the Redis server at " + (url.rsplit("@", 1)[-1] if "@" in url else url)


def require_redis(settings: Settings) -> str | None:
    """Check the server ``settings`` name: its version, or None when it cannot
    be reached now (not an error: whoever needs it waits or answers 503)."""
    try:
        found = server_version(client_for(settings, retries="probe"))
    except redis.RedisError as exc:
        log.warning("could not read the Redis server's version now (%s); not checked", exc)
        return None
    check_version(found, _where(settings))
    return found
