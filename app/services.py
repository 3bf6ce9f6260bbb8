"""Access to the per-process services the views share."""

from __future__ import annotations

from flask import current_app

from app.dispatcher import Dispatcher
from app.syntax_checker import SyntaxChecker
from workers.settings import Settings

__all__ = ["dispatcher", "settings", "syntax_checker"]


def dispatcher() -> Dispatcher:
    """The process's dispatcher, built on first use (gunicorn forks first)."""
    ext = current_app.extensions
    if "hooklet" not in ext:
        ext["hooklet"] = Dispatcher(settings())
    return ext["hooklet"]


def settings() -> Settings:
    return current_app.config["HOOKLET"]


def syntax_checker() -> SyntaxChecker:
    """The process's script syntax checker (a helper process, started on first use)."""
    ext = current_app.extensions
    if "hooklet.syntax" not in ext:
        ext["hooklet.syntax"] = SyntaxChecker()
    return ext["hooklet.syntax"]
