"""The ordering Lua's arguments and includes (issue 24). ``OrderArgs`` is
mixed into the ARGV records of CREATE, FINISH and RESUME; ``RecordArgs`` of
a delivery takes ``order_prefix`` and ``order_job_prefix`` alone. RESUME and
RELEASE index too (``IndexKeys``, ``HookIndexArgs``): the job that blocked a
key gets its expiry back there."""

from __future__ import annotations

from dataclasses import dataclass

from workers.store import keys
from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.jobs.records import DeliveryStatus
from workers.store.lua import lua_source

__all__ = [
    "OrderArgs",
    "ResumeKeys",
    "ResumeArgs",
    "RESUME",
    "RELEASE",
    "JOBS",
    "CALLBACKS",
    "order_args",
]

# What CREATE and FINISH include (after lanes/join_lane.lua), and what a
# delivery's record includes.
JOBS = ("ordering/base.lua", "ordering/order.lua")
CALLBACKS = ("ordering/base.lua", "ordering/callbacks.lua")


@dataclass(frozen=True)
class OrderArgs:
    order_prefix: str  # keys.ordering_prefix()
    order_blocked_prefix: str  # keys.ordering_blocked('')
    order_waiting_key: str  # keys.ordering_waiting()
    order_job_prefix: str  # keys.job('')
    order_pending_prefix: str  # keys.pending(''): a released job joins its hook's lane
    order_ready_key: str  # keys.ready_hooks()
    # A resume gives the job that blocked the key its retention back:
    order_finished_key: str  # keys.finished(): the budget's index of finished jobs
    order_pending_delivery: str  # a callback still due: its delivery's end does it


def order_args() -> OrderArgs:
    return OrderArgs(
        order_prefix=keys.ordering_prefix(),
        order_blocked_prefix=keys.ordering_blocked(""),
        order_waiting_key=keys.ordering_waiting(),
        order_job_prefix=keys.job(""),
        order_pending_prefix=keys.pending(""),
        order_ready_key=keys.ready_hooks(),
        order_finished_key=keys.finished(),
        order_pending_delivery=DeliveryStatus.PENDING.value,
    )


@dataclass(frozen=True)
class ResumeKeys(IndexKeys):
    pass  # the rest is built from OrderArgs' prefixes


@dataclass(frozen=True)
class ResumeArgs(HookIndexArgs, OrderArgs):
    hook_id: str
    key_id: str  # keys.ordering_key_id(key)


RESUME = lua_source(
    "ordering/resume.lua",
    include=("jobs/index.lua", "lanes/join_lane.lua", "ordering/base.lua", "ordering/order.lua"),
)


# A deleted hook: ResumeArgs with key_id '' and the key ids from TAIL.
RELEASE = lua_source(
    "ordering/release.lua",
    include=("jobs/index.lua", "lanes/join_lane.lua", "ordering/base.lua", "ordering/order.lua"),
)
