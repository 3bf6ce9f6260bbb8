"""Blocked ordering keys: who blocks them, what waits, and resuming one with
its failed job skipped (a resume that reruns it is a job created by the
dispatcher, taking the key over in CREATE)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis

from workers.store import keys
from workers.store.jobs.index import HookIndexArgs
from workers.store.lua import LuaStep
from workers.store.ordering import scripts

__all__ = ["BlockedKey", "OrderingStore"]


@dataclass(frozen=True)
class BlockedKey:
    key: str
    blocked_by: str  # the failed job holding the key
    waiting: int  # jobs of the key waiting behind it
    since: float  # epoch s: when it blocked

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "blockedBy": self.blocked_by,
            "waiting": self.waiting,
            "since": self.since,
        }


def _args() -> dict[str, str]:
    return {**vars(scripts.order_args()), **vars(HookIndexArgs.build())}


class OrderingStore:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._resume = LuaStep(client, scripts.RESUME, scripts.ResumeKeys, scripts.ResumeArgs)
        self._release = LuaStep(client, scripts.RELEASE, scripts.ResumeKeys, scripts.ResumeArgs)

    def blocked(
        self, hook_id: str, limit: int = 1000, after: tuple[float, str] | None = None
    ) -> tuple[list[BlockedKey], tuple[float, str] | None]:
        """A page of the hook's blocked keys, the longest blocked first, and
        where the next page starts (None: this was the last). ``after``: the
        (since, key id) of the last entry of the page before."""
        zset = keys.ordering_blocked(hook_id)
        if after is None:
            found = self._redis.zrange(zset, 0, limit, withscores=True)
        else:  # keys blocked at the same instant are ordered by their id
            since, last = after
            ties = self._redis.zcount(zset, since, since)
            found = self._redis.zrangebyscore(
                zset, since, "+inf", start=0, num=ties + limit + 1, withscores=True
            )
            found = [(k, s) for k, s in found if s > since or k.decode() > last]
        page, more = found[:limit], len(found) > limit
        with self._redis.pipeline(transaction=False) as pipe:
            for key_id, _ in page:
                pipe.hmget(keys.ordering(hook_id, key_id.decode()), ["key", "holder"])
                pipe.llen(keys.ordering_jobs(hook_id, key_id.decode()))
            replies = pipe.execute()
        out = []
        for i, (_, since) in enumerate(page):
            (key, holder), waiting = replies[2 * i], replies[2 * i + 1]
            if holder is not None:
                out.append(BlockedKey((key or b"").decode(), holder.decode(), waiting, since))
        return out, ((page[-1][1], page[-1][0].decode()) if more else None)

    def blocked_counts(self, hook_ids: list[str]) -> dict[str, int]:
        """{hook id: its blocked keys} (the gauge)."""
        with self._redis.pipeline(transaction=False) as pipe:
            for hook_id in hook_ids:
                pipe.zcard(keys.ordering_blocked(hook_id))
            counts = pipe.execute()
        return dict(zip(hook_ids, counts, strict=True))

    def holder(self, hook_id: str, key: str) -> tuple[str | None, bool]:
        """(the job holding the key, whether it blocks it)."""
        holder, blocked_at = self._redis.hmget(
            keys.ordering(hook_id, keys.ordering_key_id(key)), ["holder", "blockedAt"]
        )
        return (holder.decode() if holder else None), blocked_at is not None

    def resume_skipping(self, hook_id: str, key: str) -> tuple[bool, str | None]:
        """Unblock the key without its failed job: the next waiting job runs.
        Returns (whether the key was blocked, the job that has the key now)."""
        done, job_id = self._resume(
            scripts.ResumeKeys.build(),
            scripts.ResumeArgs(**_args(), hook_id=hook_id, key_id=keys.ordering_key_id(key)),
        )
        return bool(done), job_id.decode() or None

    def release_hook(self, hook_id: str) -> int:
        """A deleted hook's keys: their waiting jobs join the hook's lane (to
        end as ``hook_gone``, never stuck behind a blocked key) and the keys'
        records are deleted. Returns how many keys there were."""
        prefix = keys.ordering(hook_id, "")
        ids = {k.decode()[len(prefix) :].split(":", 1)[0]
               for k in self._redis.scan_iter(match=prefix + "*", count=1000)}  # fmt: skip
        ids |= {k.decode() for k in self._redis.zrange(keys.ordering_blocked(hook_id), 0, -1)}
        found = sorted(ids)
        args = scripts.ResumeArgs(**_args(), hook_id=hook_id, key_id="")
        for start in range(0, len(found), 500):
            self._release(scripts.ResumeKeys.build(), args, found[start : start + 500])
        self._redis.delete(keys.ordering_blocked(hook_id))
        return len(found)
