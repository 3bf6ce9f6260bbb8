"""API tokens: a project, a name and scopes, stored only as the SHA-256 of
the token and compared in constant time.

A token reads ``hlt_<id>_<secret>``: the id names its record (one HGETALL
per request, so a revoked or expired token is refused by every web process
at once), the secret is 32 random bytes. The record expires with the token;
``lastUsedAt`` is written at most once a minute.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis

from workers.store import keys

__all__ = ["SCOPES", "TokenRecord", "TokenStore", "parse_token"]

SCOPES = (
    "hooks:read",
    "hooks:write",
    "jobs:read",
    "jobs:write",
    "kv:read",
    "kv:write",
    "stats:read",
    "tokens:write",
)
_PREFIX = "hlt_"
_TOUCH_S = 60
_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[1]) end
"""


@dataclass(frozen=True)
class TokenRecord:
    id: str
    name: str
    project: str
    scopes: tuple[str, ...]
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    created_by: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "scopes": list(self.scopes),
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
            "lastUsedAt": self.last_used_at,
            "createdBy": self.created_by,
        }


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def parse_token(token: str) -> str | None:
    """The id a token names, or None if it is not shaped as one of ours."""
    if not token.startswith(_PREFIX):
        return None
    token_id, sep, secret = token[len(_PREFIX) :].partition("_")
    if not sep or not token_id.isalnum() or len(token_id) != 16 or not secret:
        return None
    return token_id


def _record(fields: dict[bytes, bytes]) -> TokenRecord:
    text = {k.decode(): v.decode() for k, v in fields.items()}
    return TokenRecord(
        id=text["id"],
        name=text["name"],
        project=text["project"],
        scopes=tuple(text["scopes"].split()),
        created_at=float(text["createdAt"]),
        expires_at=float(text["expiresAt"]) if text.get("expiresAt") else None,
        last_used_at=float(text["lastUsedAt"]) if text.get("lastUsedAt") else None,
        created_by=text.get("createdBy", ""),
    )


class TokenStore:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._touch_script = client.register_script(_TOUCH)

    def mint(
        self,
        project: str,
        name: str,
        scopes: tuple[str, ...],
        expires_in_s: int | None,
        created_by: str,
    ) -> tuple[TokenRecord, str]:
        """A new token: its record and the token itself (shown this once)."""
        token_id = secrets.token_hex(8)
        token = f"{_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        now = time.time()
        record = TokenRecord(
            token_id,
            name,
            project,
            scopes,
            now,
            now + expires_in_s if expires_in_s else None,
            None,
            created_by,
        )
        fields = {
            "id": token_id,
            "name": name,
            "project": project,
            "scopes": " ".join(scopes),
            "createdAt": repr(now),
            "expiresAt": repr(record.expires_at) if record.expires_at else "",
            "createdBy": created_by,
            "sha256": _digest(token),
        }
        key = keys.api_token(token_id)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            if expires_in_s:
                pipe.expire(key, expires_in_s)
            pipe.sadd(keys.api_token_ids(), token_id)
            pipe.execute()
        return record, token

    def lookup(self, token: str) -> TokenRecord | None:
        """The live record of ``token``, or None (unknown, revoked, expired)."""
        token_id = parse_token(token)
        if token_id is None:
            return None
        fields = self._redis.hgetall(keys.api_token(token_id))
        stored = fields.get(b"sha256", b"")
        if not hmac.compare_digest(stored, _digest(token).encode()):
            return None
        record = _record(fields)
        now = time.time()
        if record.expires_at is not None and record.expires_at <= now:
            return None
        if record.last_used_at is None or now - record.last_used_at > _TOUCH_S:
            self._touch(token_id, now)
        return record

    def _touch(self, token_id: str, now: float) -> None:
        """Record the use, only while the record exists (a revoke meanwhile
        must leave no stub behind)."""
        self._touch_script(keys=[keys.api_token(token_id)], args=[repr(now)])

    def get(self, token_id: str) -> TokenRecord | None:
        fields = self._redis.hgetall(keys.api_token(token_id)) if token_id.isalnum() else {}
        return _record(fields) if fields.get(b"sha256") else None

    def list(self, project: str | None = None) -> list[TokenRecord]:
        """Live tokens, of ``project`` (None: all), oldest first."""
        ids = sorted(i.decode() for i in self._redis.smembers(keys.api_token_ids()))
        with self._redis.pipeline(transaction=False) as pipe:
            for token_id in ids:
                pipe.hgetall(keys.api_token(token_id))
            rows = pipe.execute()
        gone = [i for i, row in zip(ids, rows, strict=True) if not row.get(b"sha256")]
        if gone:
            self._redis.srem(keys.api_token_ids(), *gone)
        records = [_record(row) for row in rows if row.get(b"sha256")]
        now = time.time()
        return sorted(
            (
                r
                for r in records
                if (project is None or r.project == project)
                and (r.expires_at is None or r.expires_at > now)
            ),
            key=lambda r: r.created_at,
        )

    def revoke(self, token_id: str) -> bool:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.api_token(token_id))
            pipe.srem(keys.api_token_ids(), token_id)
            deleted, _ = pipe.execute()
        return bool(deleted)

    def revoke_project(self, project: str) -> int:
        """Revoke every token of a deleted project."""
        mine = [r.id for r in self.list(project)]
        for token_id in mine:
            self.revoke(token_id)
        return len(mine)
