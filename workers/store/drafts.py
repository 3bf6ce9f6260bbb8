"""A hook's draft: the next definition, saved but not served.

A draft is a whole hook definition (validated as a ``PUT`` body is), stored
beside the hook under ``keys.hook_draft``, one per hook. It takes no version
number: the number is given when it is promoted (``switch_version``), so
drafts saved and thrown away leave no gaps and versions still never repeat.
It records the live version it was saved over (``base``) and the hook's
first version (``since``): a draft outlives no delete of its hook (it is
deleted with the hook's definition, and one of an earlier hook with the
same id is never shown).

Credentials: a draft that does not set ``secrets`` takes the live hook's
secrets when it runs or is promoted (the ones live *then*, not when it was
saved); likewise ``verify``. A draft that sets them replaces them on promote
(``{}`` / ``null``: none). The callback signing secret is always the hook's.

For what comes next (trying a draft on recorded events, shadow runs): the
draft's ``etag`` (SHA-1 of its stored record) names this exact draft, to key
warm isolates and results by and to promote only the draft that was tried;
``Draft.resolved`` is the definition it runs with, credentials included.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, replace
from typing import Any

import orjson
import redis
from redis.client import Pipeline

from workers.errors import DraftChanged, DraftNotFound, HookNotFound
from workers.store import keys
from workers.store.hook_switch import Live, switch_version
from workers.store.hooks import Hook, _hook_from_record, _record

__all__ = ["Draft", "DraftStore"]


@dataclass(frozen=True)
class Draft:
    hook: Hook  # as saved: secrets and verify only if it sets them
    base: int  # the live version it was saved over
    since: int  # the hook's first version then
    secrets_set: bool
    verify_set: bool
    saved_at: float
    etag: str = ""

    def resolved(self, live: Hook) -> Hook:
        """The definition the draft runs with: the live hook's credentials
        where the draft sets none, the live project and callback secret."""
        hook = replace(self.hook, project=live.project, callback_secret=live.callback_secret)
        if not self.secrets_set:
            hook = replace(hook, secrets=live.secrets)
        if not self.verify_set:
            hook = replace(hook, verify=live.verify)
        return replace(hook, version=0, created_at=self.saved_at, updated_at=self.saved_at)

    def to_json(self, live: Hook) -> dict[str, Any]:
        """The public view (secret names only, as a hook's)."""
        data = self.resolved(live).to_json()
        for read_only in ("version", "createdAt", "updatedAt"):
            data.pop(read_only)
        data.update(
            etag=self.etag,
            baseVersion=self.base,
            liveVersion=live.version,
            savedAt=self.saved_at,
            secretsInherited=not self.secrets_set,
            verifyInherited=not self.verify_set,
        )
        return data

    def record(self) -> bytes:
        return orjson.dumps(
            {
                "def": _record(self.hook),
                "base": self.base,
                "since": self.since,
                "secretsSet": self.secrets_set,
                "verifySet": self.verify_set,
                "savedAt": self.saved_at,
            }
        )


def _draft_from(raw: bytes) -> Draft:
    data = orjson.loads(raw)
    return Draft(
        hook=_hook_from_record(data["def"]),
        base=data["base"],
        since=data["since"],
        secrets_set=data["secretsSet"],
        verify_set=data["verifySet"],
        saved_at=data["savedAt"],
        etag=hashlib.sha1(raw, usedforsecurity=False).hexdigest(),
    )


class DraftStore:
    """Drafts in Redis, and their promotion to the live version."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def get(self, hook_id: str) -> tuple[Draft, Hook]:
        """The draft and the live hook (``HookNotFound``, ``DraftNotFound``)."""
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hmget(keys.hook(hook_id), ["def", "since"])
            pipe.get(keys.hook_draft(hook_id))
            (raw_hook, since), raw_draft = pipe.execute()
        if raw_hook is None:
            raise HookNotFound(f"no hook named {hook_id!r}")
        return _current(hook_id, raw_draft, int(since or 0)), _hook_from_record(
            orjson.loads(raw_hook)
        )

    def put(self, hook: Hook, *, secrets_set: bool, verify_set: bool) -> tuple[Draft, Hook, bool]:
        """Save ``hook`` as the draft of the live hook with its id; returns
        the draft, the live hook and whether there was no draft before."""
        key, draft_key = keys.hook(hook.id), keys.hook_draft(hook.id)
        with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key, draft_key)
                    raw, since = pipe.hmget(key, ["def", "since"])
                    if raw is None:
                        raise HookNotFound(f"no hook named {hook.id!r}")
                    live = _hook_from_record(orjson.loads(raw))
                    had = _exists(pipe.get(draft_key), int(since or 0))
                    draft = Draft(
                        hook=replace(hook, project=live.project, callback_secret=""),
                        base=live.version,
                        since=int(since or 0),
                        secrets_set=secrets_set,
                        verify_set=verify_set,
                        saved_at=time.time(),
                    )
                    record = draft.record()
                    pipe.multi()
                    pipe.set(draft_key, record)
                    pipe.execute()
                    return _draft_from(record), live, not had
                except redis.WatchError:
                    continue

    def delete(self, hook_id: str) -> tuple[Draft, Hook]:
        """Throw the draft away; returns it and the live hook."""
        draft, live = self.get(hook_id)
        self._redis.delete(keys.hook_draft(hook_id))
        return draft, live

    def promote(self, hook_id: str, etag: str | None = None) -> tuple[Hook, Hook, Draft]:
        """Make the draft the live hook as a new version, and drop the draft,
        in one transaction; returns the hook before, after and the draft.
        ``etag``: promote only if the draft is still this one (``DraftChanged``)."""
        draft_key = keys.hook_draft(hook_id)
        promoted: list[Draft] = []

        def build(pipe: Pipeline, live: Live) -> Hook:
            draft = _current(hook_id, pipe.get(draft_key), live.since)
            if etag is not None and etag != draft.etag:
                raise DraftChanged(
                    f"the draft of hook {hook_id!r} is {draft.etag}, not {etag}: "
                    "it was saved again since"
                )
            promoted.append(draft)
            return draft.resolved(live.hook)

        before, after = switch_version(
            self._redis, hook_id, build, watch=(draft_key,), then=lambda p: p.delete(draft_key)
        )
        return before, after, promoted[-1]


def _exists(raw: bytes | None, since: int) -> bool:
    return raw is not None and orjson.loads(raw)["since"] == since


def _current(hook_id: str, raw: bytes | None, since: int) -> Draft:
    """The stored draft if it belongs to the hook now under this id."""
    if raw is None or not _exists(raw, since):
        raise DraftNotFound(f"hook {hook_id!r} has no draft")
    return _draft_from(raw)
