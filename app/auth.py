"""The bearer token of a request and its constant-time check; who the
token is and what it may do is ``app/access.py``."""

from __future__ import annotations

import hmac

from flask import request

__all__ = ["bearer_token", "token_matches"]


def token_matches(given: str, expected: str) -> bool:
    """Whether ``given`` is the secret ``expected``, compared in constant
    time; an unset secret (empty) matches nothing."""
    return bool(expected) and hmac.compare_digest(given.strip().encode(), expected.encode())


def bearer_token() -> str:
    """The request's ``Authorization: Bearer <token>`` token ('' if none)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
