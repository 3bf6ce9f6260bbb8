"""The Lua scripts behind ``JobStore``'s atomic steps (workers/store/jobs/store.py).

Each runs as one Redis command: all of its writes happen, or, where it
refuses, none. Redis does not roll back a script that errors midway, so the
writes that matter come first and optional ones (metrics) use ``pcall``.

Arguments are named: each script has a record for its KEYS and one for its
ARGV, whose field order is the index order (see ``lua.LuaStep``). Statuses
are ``JobStatus``'s names (``QUEUED``, ``RUNNING``, ...), never spelled here.
"""

from __future__ import annotations

from dataclasses import dataclass

from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.lua import lua_source
from workers.store.ordering import scripts as ordering

__all__ = [
    "CreateKeys",
    "CreateArgs",
    "BeginKeys",
    "StartArgs",
    "RequeueKeys",
    "RequeueArgs",
    "CREATE",
    "START",
    "REQUEUE",
]


# -- create -------------------------------------------------------------------


@dataclass(frozen=True)
class CreateKeys(IndexKeys):
    job_key: str
    history_key: str
    queue_key: str
    metrics_key: str
    hook_key: str
    slot_key: str  # '' for none
    idempotency_key: str  # '' for none
    replayed_key: str  # the job this one replays ('' for none): it gets replayedBy
    pending_key: str  # the job's hook's list in its lane (sync or async)
    ready_key: str  # the lane's rotation of hooks with queued jobs
    # A sync job's ('' each for an async one): lanes/linger.py.
    lingering_key: str  # keys.lingering()
    wake_key: str  # keys.sync_wake()
    parked_key: str  # keys.parked_sync_tokens()
    rate_key: str  # the project's eventsPerMinute bucket (keys.project_rate); '' for none
    store_full_key: str  # keys.project_store_full: exists while the project is full ('')


@dataclass(frozen=True)
class CreateArgs(HookIndexArgs, ordering.OrderArgs):
    history_size: int
    job_id: str
    message: bytes  # the task message pushed to queue_key
    accepted_counter: str  # metrics field, '' for none
    hook_etag: str  # '' for no check
    slot_max: int | str
    slot_lapse_s: float | str
    duplicate_counter: str  # '' for none
    fingerprint: str  # of the request (``EventRequest.fingerprint``), kept with the key
    created_at: float  # the search indexes' score
    lane_hook: str  # the hook that takes turns for the job
    max_queued: int | str  # refuse past this many queued in the lane; '' for no cap
    hook_id: str  # the job's hook ('' for a test run of no hook)
    searchable: str  # '1': an event, listed in the search indexes; '': a test run
    events_per_minute: int | str  # the project's quota ('' for none): rate.lua
    order_id: str  # keys.ordering_key_id of the event's ordering key ('' for none)
    order_key: str  # the key as sent
    order_takeover: str  # a resume's rerun: the failed job blocking the key ('')
    # TAIL: the job's field/value pairs


CREATE = lua_source(
    "jobs/create.lua",
    include=(
        "jobs/index.lua",
        "lanes/join_lane.lua",
        "lanes/parked.lua",
        "access/rate.lua",
        *ordering.JOBS,
    ),
)

# -- start --------------------------------------------------------------------


@dataclass(frozen=True)
class BeginKeys:
    job_key: str
    running_key: str


@dataclass(frozen=True)
class StartArgs:
    job_id: str
    worker: str
    now: float
    margin_ms: int
    hook_prefix: str  # keys.hook('')
    pending_prefix: str  # keys.pending('')
    sync_prefix: str  # keys.pending_sync('')
    ready_key: str  # keys.ready_hooks()
    sync_ready_key: str  # keys.ready_sync_hooks()


START = lua_source("jobs/start.lua", include=("lanes/begin.lua",))


# -- requeue ------------------------------------------------------------------


@dataclass(frozen=True)
class RequeueKeys:
    job_key: str
    running_key: str
    queue_key: str
    pending_key: str  # the job's lane (lanes/scripts.py)
    ready_key: str


@dataclass(frozen=True)
class RequeueArgs:
    job_id: str
    message: bytes
    lane_hook: str  # the hook whose turn the job waits for
    token_prefix: str
    held_by: str = ""  # '' for any; else only while this worker holds it running
    refund: str = ""  # '1': the attempt is given back (the job never ran)


REQUEUE = lua_source("jobs/requeue.lua", include=("lanes/join_lane.lua",))
