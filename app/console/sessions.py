"""Console sessions, kept in Redis. The cookie carries only a random id; the
session is the Redis record under that id's SHA-256, which expires with the
session (``console_session_hours``). So signing out ends the session on every
console process at once, a replayed cookie finds nothing, and a Redis dump
holds no usable id. The record also names the admin token it was opened
with: a new token ends every session, even on a process that still verifies
the old cookie. A session opened with a project token records that token's
id (never the token): the console re-reads the token's record on every
request, so revoking or expiring the token ends the session."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import orjson
import redis

from workers.store import keys

__all__ = ["ADMIN", "open_session", "opened_with", "end_session"]

ADMIN = ""  # ``opened_with``'s answer for a session opened with the admin token


def _key(session_id: str) -> str:
    return keys.console_session(hashlib.sha256(session_id.encode()).hexdigest())


def _token_mark(admin_token: str) -> str:
    """Which admin token opened a session, without storing the token."""
    return hmac.new(admin_token.encode(), b"hooklet console session mark", "sha256").hexdigest()


def open_session(client: redis.Redis, admin_token: str, hours: float, token_id: str = ADMIN) -> str:
    """Start a session, for the admin or for the project token ``token_id``;
    the id for the cookie."""
    session_id = secrets.token_urlsafe(32)
    record = {"at": time.time(), "token": _token_mark(admin_token), "tokenId": token_id}
    client.set(_key(session_id), orjson.dumps(record), ex=max(1, round(hours * 3600)))
    return session_id


def opened_with(client: redis.Redis, session_id: str, admin_token: str, hours: float) -> str | None:
    """The token an open session was opened with: ``ADMIN`` or a project
    token's id; None if the session is not open (ended, expired, or opened
    with another admin token). Redis errors are raised: unknown is not open."""
    raw = client.get(_key(session_id))
    if raw is None:
        return None
    record = orjson.loads(raw)
    fresh = time.time() - float(record.get("at", 0)) < hours * 3600
    same_token = hmac.compare_digest(str(record.get("token", "")), _token_mark(admin_token))
    token_id = record.get("tokenId", ADMIN)
    return token_id if fresh and same_token and isinstance(token_id, str) else None


def end_session(client: redis.Redis, session_id: str) -> None:
    client.delete(_key(session_id))
