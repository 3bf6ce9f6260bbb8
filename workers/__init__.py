"""Hooklet's worker side: the Celery app, its tasks and the V8 sandbox.

``celery -A workers worker`` finds ``workers.app``, built on first access
from ``HOOKLET_*`` settings. Nothing in this package imports ``app`` or Flask.
"""

from __future__ import annotations

from typing import Any

__all__ = ["app"]


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        global app
        from workers.celery_app import make_celery
        from workers.settings import load_settings

        app = make_celery(load_settings())
        return app
    raise AttributeError(name)
