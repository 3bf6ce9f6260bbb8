"""The Lua of ``JobStore.finish`` (workers/store/jobs/store.py): record a job's
outcome once, with its callback, indexes and metrics, and take the
next queued job in the same call. Named KEYS/ARGV records as in
``jobs/scripts.py`` (see ``lua.LuaStep``)."""

from __future__ import annotations

from dataclasses import dataclass

from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.lanes.scripts import TakeArgs
from workers.store.lua import lua_source
from workers.store.ordering import scripts as ordering

__all__ = ["FinishKeys", "FinishArgs", "FINISH"]


@dataclass(frozen=True)
class FinishKeys(IndexKeys):
    job_key: str
    running_key: str
    done_key: str  # pushed only when waiting_key exists
    waiting_key: str  # keys.job_waiting: a waiter blocks on done_key
    push_key: str  # a list to push push_message to ('' for none)
    metrics_key: str
    child_rss_key: str
    # Where to take the next job from (lanes.scripts.TakeKeys; '' each for none).
    take_sync_ready_key: str
    take_ready_key: str
    take_sync_queue_key: str
    take_queue_key: str
    finished_key: str  # the budget's index of finished jobs (keys.finished)


@dataclass(frozen=True)
class FinishArgs(TakeArgs, HookIndexArgs, ordering.OrderArgs):
    job_id: str
    retention_s: int  # unless the job has its hook's own (retentionS)
    failed: str  # '1': the outcome is a failure (the job joins the failed indexes)
    push_message: bytes
    child: str  # '' for none
    child_rss: str
    counters_n: int
    token_prefix: str  # keys.token('')
    done_channel: str  # keys.sync_done_channel(): a sync-lane job's id is published on it
    answer_channel: str  # keys.sync_answer_channel(): or its answer_message, if given
    answer_message: bytes  # jobs/answer.py's encoding ('' for none: the id is published)
    inflight_prefix: str  # keys.in_flight(''): a sync job's slot is given back as it ends
    return_owed: str  # '1': answer 'owed' for a token owed to held jobs (lanes/pick.lua)
    # TAIL: counters_n counter/amount pairs, then the job's field/value pairs


# finish.lua returns early when there is nothing to take: the take's
# functions come after it, so that a FINISH alone never defines them.
FINISH = lua_source(
    "jobs/finish_take.lua",
    include=(
        "jobs/index.lua",
        "lanes/join_lane.lua",
        *ordering.JOBS,
        "ordering/callbacks.lua",
        "jobs/finish.lua",
        "lanes/begin.lua",
        "lanes/pick.lua",
        "lanes/take_next.lua",
    ),
)
