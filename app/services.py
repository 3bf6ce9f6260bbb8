"""Access to the per-process services the views share."""

from __future__ import annotations

from flask import current_app

from app.dispatcher import Dispatcher
from workers.settings import Settings

__all__ = ["dispatcher", "settings"]


def dispatcher() -> Dispatcher:
    """The process's dispatcher, built on first use (gunicorn forks first)."""
    ext = current_app.extensions
    if "hooklet" not in ext:
        ext["hooklet"] = Dispatcher(settings())
    return ext["hooklet"]


def settings() -> Settings:
    return current_app.config["HOOKLET"]
