"""Hooks: their definition and their store in Redis. Validation of a
definition is ``workers/hook_validation.py``."""

from __future__ import annotations

import base64
import hashlib
import secrets as _secrets
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import orjson
import redis

from workers.errors import HookNotFound
from workers.store import keys

__all__ = ["Hook", "Limits", "HookStore", "new_callback_secret", "etag_of"]


@dataclass(frozen=True)
class Limits:
    timeout_ms: int
    heap_mb: int
    wait_ms: int
    max_concurrent: int
    # Async events queued at most (429 past it); None (hooks stored before
    # there was a cap): the operator's default, settings.max_queued_per_hook.
    max_queued: int | None = None

    def to_json(self) -> dict[str, int | None]:
        return {
            "timeoutMs": self.timeout_ms,
            "heapMb": self.heap_mb,
            "waitMs": self.wait_ms,
            "maxConcurrent": self.max_concurrent,
            "maxQueued": self.max_queued,
        }


@dataclass(frozen=True)
class Hook:
    id: str
    script: str | None
    mode: str
    methods: tuple[str, ...]
    response: dict[str, Any]
    limits: Limits
    requests_to_track: int
    enabled: bool = True
    isolation: str = "warm"
    callback_url: str | None = None
    idempotency_header: str | None = None
    verify: dict[str, Any] | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    callback_secret: str = ""  # whsec_...: signs callbacks; shown once
    version: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0

    def allows(self, method: str) -> bool:
        return not self.methods or method in self.methods

    def to_json(self, *, with_script: bool = True) -> dict[str, Any]:
        """The public view: secrets are never included, only their names."""
        data: dict[str, Any] = {
            "id": self.id,
            "mode": self.mode,
            "methods": list(self.methods),
            "response": self.response,
            "limits": self.limits.to_json(),
            "requestsToTrack": self.requests_to_track,
            "enabled": self.enabled,
            "isolation": self.isolation,
            "callbackUrl": self.callback_url,
            "idempotencyHeader": self.idempotency_header,
            "verify": _public_verify(self.verify),
            "secretNames": sorted(self.secrets),
            "version": self.version,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }
        if with_script:
            data["script"] = self.script
        return data


def _public_verify(verify: dict[str, Any] | None) -> dict[str, Any] | None:
    if verify is None:
        return None
    return {k: v for k, v in verify.items() if k != "secret"}


class HookStore:
    """Hooks in Redis. Each script version is kept so a queued job runs the
    version it was accepted with, even if the hook changes meanwhile."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def get(self, hook_id: str) -> Hook:
        return self.get_with_etag(hook_id)[0]

    def get_with_etag(self, hook_id: str) -> tuple[Hook, str]:
        """The hook and the etag of its stored definition (see ``etag_of``)."""
        raw, etag = self._redis.hmget(keys.hook(hook_id), ["def", "etag"])
        if raw is None:
            raise HookNotFound(f"no hook named {hook_id!r}")
        return _hook_from_record(orjson.loads(raw)), etag.decode() if etag else etag_of(raw)

    def list(self) -> list[Hook]:
        ids = sorted(i.decode() for i in self._redis.smembers(keys.hook_ids()))
        if not ids:
            return []
        with self._redis.pipeline(transaction=False) as pipe:
            for hook_id in ids:
                pipe.hget(keys.hook(hook_id), "def")
            records = pipe.execute()
        return [_hook_from_record(orjson.loads(r)) for r in records if r is not None]

    def script(self, hook_id: str, version: int) -> str | None:
        raw = self._redis.get(keys.script(hook_id, version))
        return None if raw is None else raw.decode()

    def put(self, hook: Hook) -> tuple[Hook, bool]:
        """Create or replace; returns the stored hook and whether it was created.

        The version goes up only when the script or settings change, so loading
        the same file at every start-up leaves the version alone.
        """
        key = keys.hook(hook.id)
        now = time.time()
        with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hget(key, "def")
                    old = None if raw is None else _hook_from_record(orjson.loads(raw))
                    hook = replace(
                        hook, callback_secret=old.callback_secret if old else new_callback_secret()
                    )
                    if old is not None and _same(old, hook):
                        pipe.unwatch()
                        return old, False
                    stored = _with_meta(hook, old, now)
                    pipe.multi()
                    pipe.hset(key, mapping=_stored_fields(stored))
                    pipe.sadd(keys.hook_ids(), hook.id)
                    if stored.script is not None:
                        pipe.set(keys.script(hook.id, stored.version), stored.script)
                    pipe.execute()
                    return stored, old is None
                except redis.WatchError:
                    continue

    def rotate_secret(self, hook_id: str) -> str:
        """Replace the callback signing secret; returns the new one (shown once)."""
        key = keys.hook(hook_id)
        with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.hget(key, "def")
                    if raw is None:
                        raise HookNotFound(f"no hook named {hook_id!r}")
                    hook = replace(
                        _hook_from_record(orjson.loads(raw)),
                        callback_secret=new_callback_secret(),
                        updated_at=time.time(),
                    )
                    pipe.multi()
                    pipe.hset(key, mapping=_stored_fields(hook))
                    pipe.execute()
                    return hook.callback_secret
                except redis.WatchError:
                    continue

    def delete(self, hook_id: str) -> None:
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.hook(hook_id))
            pipe.srem(keys.hook_ids(), hook_id)
            removed = pipe.execute()[0]
        if not removed:
            raise HookNotFound(f"no hook named {hook_id!r}")


def etag_of(stored_def: bytes) -> str:
    """SHA-1 in hex of a stored definition, stored beside it as ``etag`` so a
    Lua call can tell cheaply whether a hook changed (for a hook stored
    without one, the Lua computes the same with ``redis.sha1hex``)."""
    return hashlib.sha1(stored_def, usedforsecurity=False).hexdigest()


def _stored_fields(hook: Hook) -> dict[str, bytes | str]:
    raw = orjson.dumps(_record(hook))
    return {"def": raw, "etag": etag_of(raw)}


def new_callback_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(_secrets.token_bytes(24)).decode()


def _with_meta(hook: Hook, old: Hook | None, now: float) -> Hook:
    values = asdict(hook)
    values["limits"] = hook.limits
    values["version"] = 1 if old is None else old.version + 1
    values["created_at"] = now if old is None else old.created_at
    values["updated_at"] = now
    return Hook(**values)


def _same(a: Hook, b: Hook) -> bool:
    meta = {"version": 0, "created_at": 0.0, "updated_at": 0.0}
    return {**asdict(a), **meta} == {**asdict(b), **meta}


def _record(hook: Hook) -> dict[str, Any]:
    data = asdict(hook)
    data["methods"] = list(hook.methods)
    return data


def _hook_from_record(data: dict[str, Any]) -> Hook:
    data["limits"] = Limits(**data["limits"])
    data["methods"] = tuple(data["methods"])
    return Hook(**data)
