"""Hooks: their store in Redis. A hook's definition (``Hook``, ``Limits``)
and its stored record are ``hook_definition.py``; validation of a
definition is ``workers/hook_validation.py``."""

from __future__ import annotations

import base64
import hashlib
import secrets as _secrets
import time
from dataclasses import asdict, replace
from typing import Any

import orjson
import redis

from workers.errors import HookNotFound
from workers.store import keys
from workers.store.hook_definition import Hook, Limits
from workers.store.hook_definition import hook_from_record as _hook_from_record
from workers.store.hook_definition import record as _record
from workers.store.hook_purge import hook_index_keys, purge_hook
from workers.store.hook_revisions import revision_json

__all__ = ["Hook", "Limits", "HookStore", "new_callback_secret", "etag_of"]


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

    def put(self, hook: Hook, admit: Any = None) -> tuple[Hook, bool]:
        """Create or replace; returns the stored hook and whether it was created.

        The version goes up only when the script or settings change, so loading
        the same file at every start-up leaves the version alone; a definition
        that carries secrets always counts as a change (``_same``). Versions
        come from a per-id counter that outlives deletes, so a re-created hook
        starts above every version the old one had; its first version is kept
        as ``since``: jobs of an older version belong to a deleted hook.
        """
        key, counter = keys.hook(hook.id), keys.hook_versions(hook.id)
        now = time.time()
        with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key, counter)
                    raw = pipe.hget(key, "def")
                    old = None if raw is None else _hook_from_record(orjson.loads(raw))
                    hook = replace(
                        hook, callback_secret=old.callback_secret if old else new_callback_secret()
                    )
                    if admit is not None:  # e.g. a project's maxHooks, under the WATCH
                        admit(pipe, old, hook)
                    if old is not None and _same(old, hook):
                        pipe.unwatch()
                        return old, False
                    last = int(pipe.get(counter) or 0)
                    stored = _with_meta(hook, old, now, max(last, old.version if old else 0) + 1)
                    pipe.multi()
                    fields = _stored_fields(stored)
                    if old is None:
                        fields["since"] = str(stored.version)
                    pipe.hset(key, mapping=fields)
                    pipe.set(counter, stored.version)
                    pipe.sadd(keys.hook_ids(), hook.id)
                    if stored.script is not None:
                        pipe.set(keys.script(hook.id, stored.version), stored.script)
                    pipe.set(
                        keys.hook_revision(hook.id, stored.version), revision_json(_record(stored))
                    )
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
        """Delete the hook and what it owned.

        The definition, its history list and its sync slots go in one
        transaction, with its indexes and its set of jobs (read in the same
        transaction): from then on the intake takes no event for it (its job
        writes check the stored hook) and queued jobs fail as ``hook_gone``
        (the job store's begin step reports the hook's ``since``). Then
        ``purge_hook`` deletes the rest: every job of the hook that is not
        queued or running, every index entry, script versions, idempotency
        keys and KV."""
        key, counter = keys.hook(hook_id), keys.hook_versions(hook_id)
        with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key, counter)
                    raw = pipe.hget(key, "def")
                    if raw is None:
                        pipe.unwatch()
                        raise HookNotFound(f"no hook named {hook_id!r}")
                    version = int(orjson.loads(raw)["version"])
                    last = int(pipe.get(counter) or 0)
                    pipe.multi()
                    pipe.set(counter, max(last, version))  # a hook stored before the counter
                    pipe.lrange(keys.history(hook_id), 0, -1)
                    pipe.zrange(keys.hook_jobs(hook_id), 0, -1)
                    pipe.delete(key, keys.history(hook_id), keys.in_flight(hook_id))
                    pipe.delete(*hook_index_keys(hook_id))
                    pipe.srem(keys.hook_ids(), hook_id)
                    reply = pipe.execute()
                    job_ids = list(dict.fromkeys(i.decode() for i in reply[2] + reply[1]))
                    break
                except redis.WatchError:
                    continue
        purge_hook(self._redis, hook_id, version, job_ids)

    def get_for_version(self, hook_id: str, version: int) -> Hook:
        """The hook, if ``version`` is one of its own: raises ``HookNotFound``
        when the hook is gone or was deleted and created again since (its
        first version, ``since``, is above ``version``). For work done on a
        job's behalf after it ran (a callback, a replay), so nothing of a
        deleted hook reaches a new hook with its id."""
        return self.get_for_version_with_etag(hook_id, version)[0]

    def get_for_version_with_etag(self, hook_id: str, version: int) -> tuple[Hook, str]:
        """``get_for_version`` and the stored definition's etag (a replay
        writes its job only if the hook is still that definition)."""
        raw, since, etag = self._redis.hmget(keys.hook(hook_id), ["def", "since", "etag"])
        if raw is None or int(since or 0) > version:
            raise HookNotFound(f"no hook named {hook_id!r} with version {version}")
        return _hook_from_record(orjson.loads(raw)), etag.decode() if etag else etag_of(raw)


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


def _with_meta(hook: Hook, old: Hook | None, now: float, version: int) -> Hook:
    values = asdict(hook)
    values["limits"] = hook.limits
    values["version"] = version
    values["created_at"] = now if old is None else old.created_at
    values["updated_at"] = now
    return Hook(**values)


def _same(a: Hook, b: Hook) -> bool:
    """Whether ``b`` (a new definition) changes nothing in ``a`` (stored).

    A definition carrying secrets is never "the same": if an identical PUT
    kept the version only when its secrets matched, the version would tell
    whoever guessed a secret that the guess was right. So secrets are never
    compared at all, and sending them always makes a new version."""
    if b.secrets or (b.verify and b.verify.get("secret")):
        return False
    meta = {"version": 0, "created_at": 0.0, "updated_at": 0.0}
    return {**asdict(a), **meta} == {**asdict(b), **meta}
