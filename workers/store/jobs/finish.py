"""The Lua of ``JobStore.finish`` (workers/store/jobs/store.py) and of a worker
child's batches (``lanes/batched.py``): record one or several outcomes, each
once, with its callback, indexes and metrics, and take the next queued jobs
in the same call. Named KEYS/ARGV records as in ``jobs/scripts.py`` (see
``lua.LuaStep``); each outcome is an ``OutcomeArgs`` record in the TAIL."""

from __future__ import annotations

from dataclasses import dataclass

from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.lanes.scripts import TakeArgs
from workers.store.lua import lua_reader, lua_source
from workers.store.ordering import scripts as ordering

__all__ = ["FinishKeys", "FinishArgs", "OutcomeArgs", "FINISH"]


@dataclass(frozen=True)
class FinishKeys(IndexKeys):
    running_key: str
    metrics_key: str
    child_rss_key: str
    # Where to take the next jobs from (lanes.scripts.TakeKeys; '' each for none).
    take_sync_ready_key: str
    take_ready_key: str
    take_sync_queue_key: str
    take_queue_key: str
    finished_key: str  # the budget's index of finished jobs (keys.finished)


@dataclass(frozen=True)
class FinishArgs(TakeArgs, HookIndexArgs, ordering.OrderArgs):
    retention_s: int  # unless the job has its hook's own (retentionS)
    child: str  # '' for none
    child_rss: str
    token_prefix: str  # keys.token('')
    done_prefix: str  # keys.job_done(''): pushed only when the job's waiting key exists
    waiting_prefix: str  # keys.job_waiting(''): a waiter blocks on the done list
    done_channel: str  # keys.sync_done_channel(): a sync-lane job's id is published on it
    answer_channel: str  # keys.sync_answer_channel(): or its answer_message, if given
    inflight_prefix: str  # keys.in_flight(''): a sync job's slot is given back as it ends
    take_count: int  # take up to this many jobs after the outcomes (0 with no take_queue_key)
    outcomes_n: int
    # TAIL: outcomes_n times an OutcomeArgs record, its counters_n
    # counter/amount pairs, then its fields_n field/value pairs


@dataclass(frozen=True)
class OutcomeArgs:
    """One outcome in FINISH's TAIL (``read_outcome`` in the Lua)."""

    job_id: str
    failed: str  # '1': a failure (the job joins the failed indexes)
    push_key: str  # a list to push push_message to ('' for none)
    push_message: bytes
    answer_message: bytes  # jobs/answer.py's encoding ('' for none: the id is published)
    # If a token is owed to its project's held jobs (lanes/pick.lua), FINISH
    # pushes owed_message to owed_key in the same step (answering 2);
    # owed_key '' asks nothing.
    owed_key: str
    owed_message: bytes
    counters_n: int
    fields_n: int


# finish.lua returns early when there is nothing to take: the take's
# functions come after it, so that a FINISH alone never defines them.
FINISH = lua_reader("outcome", OutcomeArgs) + lua_source(
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
        "lanes/take_many.lua",
    ),
)
