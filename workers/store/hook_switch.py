"""Making another definition live as a new version, in one transaction: what
a promote (``drafts.py``) and a rollback do.

Atomic as ``HookStore.put`` is: the definition, its ``etag``, the version
counter, the version's script and revision are written together under a
WATCH of what they were computed from. So an event is accepted either
before (its job records the old version: the intake's cached copy is
checked by ``etag`` inside the job store's CREATE step) or after (the new
one); and since warm isolates and cached specs are keyed by (hook, version),
none made for the old version ever runs the new one.

A switch always makes a new version, even when the definition is the same
as a live one: versions never repeat, and each promote or rollback is a
version of its own that jobs, the audit log and a later rollback can name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson
import redis
from redis.client import Pipeline

from workers.errors import HookNotFound, NoEarlierVersion
from workers.store import keys
from workers.store.hook_revisions import revision_json

# The stored record's own (de)serialisation, shared with HookStore so a
# switched-to version is stored exactly as a PUT stores one.
from workers.store.hooks import Hook, _hook_from_record, _record, _stored_fields, _with_meta

__all__ = ["Live", "switch_version", "rollback"]


@dataclass(frozen=True)
class Live:
    """The live hook as read under the switch's WATCH."""

    hook: Hook
    since: int  # its first version: earlier ones belong to a deleted hook


# Builds the new definition from the live hook, reading (under the WATCH)
# whatever else it needs through the pipeline.
Build = Callable[[Pipeline, Live], Hook]


def switch_version(
    client: redis.Redis,
    hook_id: str,
    build: Build,
    *,
    watch: tuple[str, ...] = (),
    then: Callable[[Pipeline], Any] | None = None,
) -> tuple[Hook, Hook]:
    """Make ``build``'s definition the hook's new live version; returns the
    hook before and after. ``watch``: more keys ``build`` reads; ``then``
    adds commands to the same transaction (a promote deletes its draft)."""
    key, counter = keys.hook(hook_id), keys.hook_versions(hook_id)
    with client.pipeline(transaction=True) as pipe:
        while True:
            try:
                pipe.watch(key, counter, *watch)
                raw, since = pipe.hmget(key, ["def", "since"])
                if raw is None:
                    raise HookNotFound(f"no hook named {hook_id!r}")
                old = _hook_from_record(orjson.loads(raw))
                new = build(pipe, Live(old, int(since or 0)))
                new = replace(new, project=old.project, callback_secret=old.callback_secret)
                last = int(pipe.get(counter) or 0)
                stored = _with_meta(new, old, time.time(), max(last, old.version) + 1)
                pipe.multi()
                pipe.hset(key, mapping=_stored_fields(stored))
                pipe.set(counter, stored.version)
                if stored.script is not None:
                    pipe.set(keys.script(hook_id, stored.version), stored.script)
                record = revision_json(_record(stored))
                pipe.set(keys.hook_revision(hook_id, stored.version), record)
                if then is not None:
                    then(pipe)
                pipe.execute()
                return old, stored
            except redis.WatchError:
                continue


def rollback(client: redis.Redis, hook_id: str, to: int | None = None) -> tuple[Hook, Hook, int]:
    """Bring back an earlier version (default: the one before the live one)
    as a new version; returns the hook before, after, and the version
    brought back. Its script and settings come back; the credentials stay
    as they are now (``hook_revisions``). A version made before revisions
    were kept comes back as its script over the live settings."""
    restored: list[int] = []

    def build(pipe: Pipeline, live: Live) -> Hook:
        target = live.hook.version - 1 if to is None else to
        first = max(live.since, 1)
        if not first <= target < live.hook.version:
            raise NoEarlierVersion(
                f"hook {hook_id!r} has no earlier version {target} "
                f"(its versions since it was created: {first} to {live.hook.version})"
            )
        raw_revision, script = pipe.mget(
            keys.hook_revision(hook_id, target), keys.script(hook_id, target)
        )
        restored.append(target)
        hook = replace(live.hook, script=None if script is None else script.decode())
        if raw_revision is None:
            return hook
        settings = _hook_from_record({**_record(hook), **orjson.loads(raw_revision)})
        return replace(settings, script=hook.script)

    before, after = switch_version(client, hook_id, build)
    return before, after, restored[-1]
