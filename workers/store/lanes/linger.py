"""Lingering on the sync lane: a worker child that has just run a sync job
waits a little for the next one, blocked on Redis, instead of going back to
Celery.

A sync job otherwise reaches a child through Celery (the node's BRPOP, its
consumer, the pipe to a child): the longest hop of a sync request. While a
child lingers (in ``keys.lingering()``, until its wait ends), CREATE parks a
sync job's token (``keys.parked_sync_tokens()``) and pushes a wake
(``keys.sync_wake()``); the child, blocked on the wake list, takes the job
and spends the parked token in one step (``take()``, sync lane first). The
child is still inside its Celery task, so the task's time limits and the
memory caps hold as for any job it takes (``queue.batch.Batch``). When no
child lingers any more, parked tokens go to Celery's sync queue (LINGER here,
or the next sync CREATE if a lingering child died): every job keeps a token.
"""

from __future__ import annotations

import time
from dataclasses import fields
from typing import Any

from workers.store import keys
from workers.store.lanes import scripts as lua
from workers.store.lanes.lane import Lane, TakeFrom, Taken, take_args, take_keys, taken
from workers.store.lua import LuaStep

__all__ = ["Linger", "lane_linger_keys"]


def lane_linger_keys(lane: Lane) -> dict[str, str]:
    """CREATE's keys for lingering (``jobs.scripts.CreateKeys``): a sync
    job's, '' each for an async one."""
    if not lane.is_sync:
        return {"lingering_key": "", "wake_key": "", "parked_key": ""}
    return {
        "lingering_key": keys.lingering(),
        "wake_key": keys.sync_wake(),
        "parked_key": keys.parked_sync_tokens(),
    }


class Linger:
    def __init__(self, client: Any) -> None:
        self._client = client
        self._end = LuaStep(client, lua.LINGER, lua.LingerKeys, lua.LingerArgs)

    def wait(self, take: TakeFrom, timeout_s: float) -> bool:
        """Linger until a sync job is queued (True) or ``timeout_s`` passes
        (False): join the lingering set and block on the wake list, in one
        round trip. Call ``end`` after either. A wait of under a millisecond
        is no wait: BLPOP's 0 blocks for good, and Redis rounds a timeout of
        -0.x ms up to 0 (a child descheduled between its caller's check of the
        time left and this call blocked until its task's time limit)."""
        if timeout_s < 0.001:
            return False
        with self._client.pipeline(transaction=False) as pipe:
            pipe.zadd(keys.lingering(), {take.worker: time.time() + timeout_s})
            pipe.blpop([keys.sync_wake()], timeout=timeout_s)
            return pipe.execute()[1] is not None

    def end(self, take: TakeFrom, and_take: bool) -> Taken | None:
        """Stop lingering and, with ``and_take``, take the next job (sync lane
        first) in the same step, as ``JobStore.take_queued`` does."""
        where = take_keys(take)
        reply = self._end(
            lua.LingerKeys(
                **{f.name: getattr(where, f.name) for f in fields(where)},
                lingering_key=keys.lingering(),
                wake_key=keys.sync_wake(),
            ),
            lua.LingerArgs(**vars(take_args(take)), and_take="1" if and_take else ""),
        )
        return taken(reply)
