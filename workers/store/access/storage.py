"""A project's ``storedBytes`` (issue 23): its share of the Redis budget.

An approximation, kept by each worker node's reaper (every
``reaper_interval_s``): a project's stored bytes are, per hook, the number
of finished jobs in the hook's set of jobs times the mean ``MEMORY USAGE``
of up to ``_SAMPLE`` of its oldest ones (queued and running jobs are not
counted: they are never trimmed). Over the quota, the project's oldest
finished jobs are trimmed first (the hook whose oldest finished job is
oldest, a batch at a time); when none is left to trim and the project is
still over, a flag (``keys.project_store_full``, lapsing after a few reaper
intervals) makes the intake's CREATE refuse that project's events with
``503 store_full`` while other projects' events flow. Between two sweeps a
project may go past its quota by what it receives meanwhile.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

from workers.store import keys, metrics
from workers.store.access.membership import project_hook_ids
from workers.store.access.projects import ProjectStore
from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.jobs.records import DeliveryStatus
from workers.store.lua import LuaStep, lua_source

__all__ = ["ProjectStorage", "Usage"]

log = logging.getLogger("hooklet.storage")

_SAMPLE = 20
_BATCH = 100
_MAX_BATCHES = 50


@dataclass(frozen=True)
class TrimKeys(IndexKeys):
    hook_jobs_key: str
    history_key: str
    finished_key: str
    metrics_key: str


@dataclass(frozen=True)
class TrimArgs(HookIndexArgs):
    hook_id: str
    job_prefix: str
    count: int
    trimmed_counter: str
    pending_delivery: str


TRIM = lua_source("access/project_trim.lua", include=("jobs/index.lua",))


@dataclass
class Usage:
    """One hook's finished jobs: how many and their mean size (bytes)."""

    finished: int
    mean_bytes: float

    @property
    def bytes(self) -> float:
        return self.finished * self.mean_bytes


class ProjectStorage:
    def __init__(self, client: Any, full_ttl_s: float) -> None:
        self._redis = client
        self._full_ttl_ms = max(1000, int(full_ttl_s * 1000))
        self._trim = LuaStep(client, TRIM, TrimKeys, TrimArgs)

    def usage(self, hook_id: str) -> Usage:
        key = keys.hook_jobs(hook_id)
        finished = int(self._redis.zcount(key, "-inf", "(+inf"))
        ids = self._redis.zrangebyscore(key, "-inf", "(+inf", start=0, num=_SAMPLE)
        with self._redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.memory_usage(keys.job(job_id.decode()), samples=0)
            sizes = [s for s in pipe.execute() if s]
        return Usage(finished, sum(sizes) / len(sizes) if sizes else 0.0)

    def trim_hook(self, hook_id: str, count: int) -> tuple[int, int]:
        """(deleted, looked at) of the hook's oldest finished jobs."""
        deleted, seen = self._trim(
            TrimKeys(
                **vars(IndexKeys.build()),
                hook_jobs_key=keys.hook_jobs(hook_id),
                history_key=keys.history(hook_id),
                finished_key=keys.finished(),
                metrics_key=keys.metrics(),
            ),
            TrimArgs(
                **vars(HookIndexArgs.build()),
                hook_id=hook_id,
                job_prefix=keys.job(""),
                count=count,
                trimmed_counter=metrics.field("jobs_trimmed"),
                pending_delivery=DeliveryStatus.PENDING.value,
            ),
        )
        return int(deleted), int(seen)

    def _oldest(self, hook_id: str) -> float | None:
        first = self._redis.zrangebyscore(
            keys.hook_jobs(hook_id), "-inf", "(+inf", start=0, num=1, withscores=True
        )
        return first[0][1] if first else None

    def enforce(self, project: str, quota: int) -> float:
        """Trim the project's oldest finished jobs while it is over ``quota``
        bytes; flag it full if it still is. Returns its estimated bytes."""
        usage = {h: self.usage(h) for h in sorted(project_hook_ids(self._redis, project))}
        total = sum(u.bytes for u in usage.values())
        for _ in range(_MAX_BATCHES):
            if total <= quota:
                break
            oldest = {h: at for h in usage if (at := self._oldest(h)) is not None}
            if not oldest:
                break
            hook = min(oldest, key=oldest.__getitem__)
            mean = usage[hook].mean_bytes
            need = math.ceil((total - quota) / mean) if mean else _BATCH
            deleted, seen = self.trim_hook(hook, max(1, min(_BATCH, need)))
            total -= deleted * usage[hook].mean_bytes
            if not deleted and seen:  # only jobs whose callbacks are due: leave them
                break
        full_key = keys.project_store_full(project)
        if total > quota:
            self._redis.set(full_key, int(total), px=self._full_ttl_ms)
            log.warning("project %s holds ~%d bytes, over storedBytes %d", project, total, quota)
        else:
            self._redis.delete(full_key)
        return total

    def enforce_all(self) -> dict[str, float]:
        """``enforce`` for every project with a ``storedBytes`` quota."""
        return {
            p.id: self.enforce(p.id, p.quotas["storedBytes"])
            for p in ProjectStore(self._redis).list()
            if p.quotas.get("storedBytes") is not None
        }
