"""Hooklet's core: the queue (Celery app, tasks, executor, reaper), the V8
sandbox, the Redis store and delivery.

``celery -A workers worker`` finds ``workers.app``, built on first access
from ``HOOKLET_*`` settings, with the tasks registered. Nothing in this
package imports ``app`` or Flask.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        global app
        from workers.queue import tasks
        from workers.queue.celery_app import make_celery
        from workers.settings import load_settings

        settings = load_settings()
        app = make_celery(settings)
        tasks.register(app, settings)
        return app
    raise AttributeError(name)
