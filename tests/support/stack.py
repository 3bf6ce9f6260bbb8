"""Real processes for tests: redis-server, Celery workers and gunicorn.

They live in ``stackkit/``, which the benchmarks import too; this module
keeps the names tests have always imported from here. The fast layer's guard
(``processes_allowed``) is ``stackkit.processes``'s: tests/conftest.py sets it.
"""

from __future__ import annotations

from stackkit.api import Api
from stackkit.env import ADMIN_TOKEN, hooklet_env
from stackkit.processes import BIN, ROOT, answers, free_port, stop_process, wait_until
from stackkit.redis_server import RedisServer, default_maxmemory
from stackkit.services import Web, Worker, shadow_worker, start_flower

# The names tests imported before the move (private then).
_answers = answers
_stop = stop_process

__all__ = [
    "ADMIN_TOKEN",
    "Api",
    "BIN",
    "ROOT",
    "RedisServer",
    "Web",
    "Worker",
    "_answers",
    "_stop",
    "answers",
    "default_maxmemory",
    "free_port",
    "hooklet_env",
    "shadow_worker",
    "start_flower",
    "stop_process",
    "wait_until",
]
