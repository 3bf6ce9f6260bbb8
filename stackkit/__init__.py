"""Real processes on loopback for hooklet's tests and benchmarks.

redis-server, Celery workers, gunicorn, Flower, a Sentinel cluster and a
local upstream, each on a free port with its log under a work folder, plus a
small admin-API client. ``tests/`` and ``benchmarks/`` both import this
package, so neither imports the other.
"""

from __future__ import annotations

from stackkit.api import Api
from stackkit.env import ADMIN_TOKEN, hooklet_env
from stackkit.processes import BIN, ROOT, answers, free_port, stop_process, wait_until
from stackkit.redis_server import RedisServer, default_maxmemory
from stackkit.services import Web, Worker, start_flower

__all__ = [
    "ADMIN_TOKEN",
    "Api",
    "BIN",
    "ROOT",
    "RedisServer",
    "Web",
    "Worker",
    "answers",
    "default_maxmemory",
    "free_port",
    "hooklet_env",
    "start_flower",
    "stop_process",
    "wait_until",
]
