"""Admin authentication: ``Authorization: Bearer <HOOKLET_ADMIN_TOKEN>``."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, request

from app import services
from workers.errors import Unauthorized

__all__ = ["admin_required", "protect", "bearer_token", "token_matches"]


def token_matches(given: str, expected: str) -> bool:
    """Whether ``given`` is the secret ``expected``, compared in constant
    time; an unset secret (empty) matches nothing."""
    return bool(expected) and hmac.compare_digest(given.strip().encode(), expected.encode())


def bearer_token() -> str:
    """The request's ``Authorization: Bearer <token>`` token ('' if none)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" else ""


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check = current_app.config.get("HOOKLET_ADMIN_CHECK")
        if check is not None:  # the console: its session and CSRF token, not the bearer
            check()
            return view(*args, **kwargs)
        expected = services.settings().admin_token
        if not expected:
            raise Unauthorized("the admin API is disabled: set HOOKLET_ADMIN_TOKEN")
        if not token_matches(bearer_token(), expected):
            raise Unauthorized("missing or wrong admin token")
        return view(*args, **kwargs)

    return wrapper


def protect(bp: Blueprint) -> Blueprint:
    """Require the admin token on every route of ``bp``."""

    @bp.before_request
    @admin_required
    def _authenticate() -> None:
        return None

    return bp
