"""Console sessions, kept in Redis. The cookie carries only a random id; the
session is the Redis record under that id's SHA-256, which expires with the
session (``console_session_hours``). So signing out ends the session on every
console process at once, a replayed cookie finds nothing, and a Redis dump
holds no usable id. The record also names the admin token it was opened
with: a new token ends every session, even on a process that still verifies
the old cookie."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import orjson
import redis

from workers.store import keys

__all__ = ["open_session", "is_open", "end_session"]


def _key(session_id: str) -> str:
    return keys.console_session(hashlib.sha256(session_id.encode()).hexdigest())


def _token_mark(admin_token: str) -> str:
    """Which admin token opened a session, without storing the token."""
    return hmac.new(admin_token.encode(), b"hooklet console session mark", "sha256").hexdigest()


def open_session(client: redis.Redis, admin_token: str, hours: float) -> str:
    """Start a session; the id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    record = {"at": time.time(), "token": _token_mark(admin_token)}
    client.set(_key(session_id), orjson.dumps(record), ex=max(1, round(hours * 3600)))
    return session_id


def is_open(client: redis.Redis, session_id: str, admin_token: str, hours: float) -> bool:
    """Whether the session is still open (not ended, not expired, opened
    with today's admin token). Redis errors are raised: unknown is not open."""
    raw = client.get(_key(session_id))
    if raw is None:
        return False
    record = orjson.loads(raw)
    fresh = time.time() - float(record.get("at", 0)) < hours * 3600
    same_token = hmac.compare_digest(str(record.get("token", "")), _token_mark(admin_token))
    return fresh and same_token


def end_session(client: redis.Redis, session_id: str) -> None:
    client.delete(_key(session_id))
