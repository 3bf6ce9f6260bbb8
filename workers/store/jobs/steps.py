"""What the job store's steps take and answer: the conditions and extras of
a create, what it did, and what a finish did."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from workers.store.lanes.lane import Taken

__all__ = ["Created", "Conditions", "Extras", "Finished"]


class Created(IntEnum):
    """What ``JobStore.create`` did."""

    HOOK_CHANGED = 0
    OK = 1
    SLOT_FULL = 2
    DUPLICATE = 3
    KEY_REUSED = 4  # the idempotency key is bound to a different request
    QUEUE_FULL = 5  # the lane already holds Lane.max_queued jobs
    RATE_LIMITED = 6  # the project's eventsPerMinute bucket is empty (original: seconds)
    PROJECT_FULL = 7  # the project is past its storedBytes with nothing left to trim
    NOT_BLOCKED = 8  # a resume's rerun: the key is not (or no longer) blocked by that job


@dataclass(frozen=True)
class Conditions:
    """What must hold for ``JobStore.create`` to write a job, checked in the
    same atomic call, in this order."""

    hook_etag: str | None = None  # the stored hook still has this etag
    idempotency_key: str | None = None  # a Redis key not yet bound to a job
    fingerprint: str = ""  # the request's: a duplicate must match it as well as the key
    slot: tuple[str, int, float] | None = None  # (key, maximum, lapse s): one is taken
    duplicate_counter: str | None = None  # metrics field counting duplicates
    # (bucket key, eventsPerMinute): the project's rate, checked after the lane's cap
    rate: tuple[str, int] | None = None
    store_full_key: str | None = None  # refused while it exists (the project's storedBytes)


@dataclass(frozen=True)
class Extras:
    """What ``JobStore.create`` also writes beside the job, in the same call."""

    replay_of: str | None = None  # the job this one replays: it gets ``replayedBy``
    indexed: bool = True  # listed in the search indexes (not for test runs)
    # Per-key ordering (workers/ordering.py): the event's key, None: unordered.
    order_key: str | None = None
    order_block: bool = False  # onFailure "block": a failure holds the key
    order_takeover: str | None = None  # a resume's rerun of this failed job takes the key


class Finished(NamedTuple):
    """What ``JobStore.finish`` did."""

    recorded: bool  # False: the job had already ended, nothing was written
    taken: Taken | None  # the next job, when ``take`` was given
