"""Each hook's last hour at a glance (the console's hook list), from the
one-minute stats buckets (workers/store/stats/buckets.py).

A minute's bucket holds every hook's counters, so the hour is read as
five-minute blocks: a finished block is summed once and kept, and only the
last few minutes are read bucket by bucket.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson
import redis

from workers.store import keys
from workers.store.jobs.records import JobStatus
from workers.store.stats.buckets import BUCKET_S, KEEP_S, minute
from workers.store.stats.series import Step, quantile

__all__ = ["hook_summaries"]

_BLOCK = 5  # minutes
_SCOPE = "*hooks"  # not a hook id: hook ids are slugs


def _add(steps: dict[str, Step], reply: dict[bytes, bytes]) -> None:
    for name, value in reply.items():
        hook, kind, label = name.decode().split("|", 2)
        steps[hook].add(kind, label, float(value))


def _merge(into: Step, other: Step) -> None:
    for kind, labels in other.counts.items():
        for label, n in labels.items():
            into.counts[kind][label] += n
    into.hist = [a + b for a, b in zip(into.hist, other.hist, strict=True)]
    if other.longest is not None:
        into.longest = max(into.longest or 0.0, other.longest)


def _dump(steps: dict[str, Step]) -> bytes:
    return orjson.dumps({hook: orjson.loads(step.dumps()) for hook, step in steps.items()})


def _load(raw: bytes) -> dict[str, Step]:
    return {hook: Step.loads(orjson.dumps(data)) for hook, data in orjson.loads(raw).items()}


def _hour(client: redis.Redis, window_s: int, now: float | None) -> dict[str, Step]:
    """Every hook's sums over the last ``window_s``."""
    last = minute(now)
    first = last - window_s // BUCKET_S + 1
    # Whole blocks inside the window that no writer touches any more.
    blocks = [
        b * _BLOCK
        for b in range(-(-first // _BLOCK), (last + 1) // _BLOCK)
        if b * _BLOCK + _BLOCK - 1 < last - 1
    ]
    cached = (
        client.mget([keys.stats_step_cache(_SCOPE, _BLOCK, b) for b in blocks]) if blocks else []
    )
    totals: dict[str, Step] = defaultdict(Step)
    covered: set[int] = set()
    for start, raw in zip(blocks, cached, strict=True):
        if raw is not None:
            for hook, step in _load(raw).items():
                _merge(totals[hook], step)
            covered.update(range(start, start + _BLOCK))
    to_read = [m for m in range(first, last + 1) if m not in covered]
    with client.pipeline(transaction=False) as pipe:
        for m in to_read:
            pipe.hgetall(keys.stats_hooks(m))
        replies = dict(zip(to_read, pipe.execute(), strict=True))
    fresh: dict[int, dict[str, Step]] = {}
    for m, reply in replies.items():
        start = m - m % _BLOCK
        target = fresh.setdefault(start, defaultdict(Step)) if start in blocks else totals
        _add(target, reply)
    with client.pipeline(transaction=False) as pipe:
        for start, steps in fresh.items():
            for hook, step in steps.items():
                _merge(totals[hook], step)
            key = keys.stats_step_cache(_SCOPE, _BLOCK, start)
            pipe.set(key, _dump(steps), ex=KEEP_S)
        pipe.execute()
    return totals


def hook_summaries(
    client: redis.Redis, hook_ids: list[str], window_s: int = 3600, now: float | None = None
) -> dict[str, dict[str, Any]]:
    """Per hook over the last ``window_s``: events, jobs finished and failed,
    the error rate, p95 script duration, and when its last event came."""
    totals = _hour(client, window_s, now)
    with client.pipeline(transaction=False) as pipe:
        for hook_id in hook_ids:
            pipe.lindex(keys.history(hook_id), 0)
        newest = pipe.execute()
    with client.pipeline(transaction=False) as pipe:
        for job_id in newest:
            pipe.hget(keys.job(job_id.decode()) if job_id else keys.job(""), "createdAt")
        created = pipe.execute()
    out = {}
    for hook_id, at in zip(hook_ids, created, strict=True):
        step = totals.get(hook_id) or Step()
        finished = sum(step.counts["jf"].values())
        failed = step.counts["jf"].get(JobStatus.FAILED.value, 0.0)
        out[hook_id] = {
            "events": int(sum(step.counts["ev"].values())),
            "finished": int(finished),
            "failed": int(failed),
            "errorRate": round(failed / finished, 4) if finished else None,
            "p95Ms": quantile(step.hist, 0.95, step.longest),
            "lastEventAt": float(at) if at else None,
        }
    return out
