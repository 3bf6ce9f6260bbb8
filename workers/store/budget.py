"""The memory budget. Redis runs with ``maxmemory`` and ``noeviction``, so a
queued event is never evicted; above the high-water mark
(``settings.redis_high_water`` of maxmemory) the oldest *finished* jobs are
trimmed, a batch per atomic Lua step, and only when none is left does the
intake refuse events (``StoreFull``: 503 with Retry-After).

Trimming runs in every worker node's reaper thread (``enforce``) and, under a
burst, in the intake itself (``make_room``), so a web process never waits
for a worker node to free memory.

A worker's write that Redis refuses when nothing finished is left to trim
runs past ``maxmemory`` (``past_the_limit``): Redis then holds only work still
to do, and only recording that work makes anything trimmable. Never further
than a small share past it: what a step records may stay untrimmable (a
callback still to send), and a replica or an AOF rewrite's fork must not
follow Redis far past the memory it was given.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import redis

from workers.errors import StoreFull
from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.jobs.records import DeliveryStatus
from workers.store.lua import LuaStep, lua_source

__all__ = ["MemoryBudget", "Pressure", "is_oom"]

_PRESSURE_TTL_S = 0.25  # how long the intake trusts one INFO reading, at most
_TRUSTED_SHARE = 0.25  # of the room left below the mark, this process may write unread
_INTAKE_BATCHES = 2  # trimming steps one event may do before it is refused
_PAST_LIMIT_SHARE = 0.05  # of maxmemory: how far past it a worker's refused step may still run
_PAST_LIMIT_MIN_BYTES = 2**20  # at least (the scripts Redis loads count toward maxmemory too)
# Redis 7 runs a script with this flag even at maxmemory, and lets it write.
_ALLOW_OOM = "#!lua flags=allow-oom\n"


@dataclass(frozen=True)
class TrimKeys(IndexKeys):
    finished_key: str
    metrics_key: str


@dataclass(frozen=True)
class TrimArgs(HookIndexArgs):
    job_prefix: str  # keys.job('')
    history_prefix: str  # keys.history('')
    count: int
    trimmed_counter: str  # metrics field
    pending_delivery: str  # DeliveryStatus.PENDING: a callback still to send


TRIM = lua_source("budget_trim.lua", include=("jobs/index.lua",))


def is_oom(exc: BaseException) -> bool:
    """Whether Redis refused a write because it is at ``maxmemory``."""
    # redis-py maps Redis's "OOM" error code to OutOfMemoryError and strips
    # the code from the message (a script's refused write included). A script
    # that rethrows a refusal it caught with pcall (FINISH) answers a plain
    # error that starts with its line ("user_script:12: OOM command not ...").
    if isinstance(exc, redis.exceptions.OutOfMemoryError):
        return True
    message = str(exc)
    return isinstance(exc, redis.ResponseError) and (
        message.startswith("OOM") or "used memory > 'maxmemory'" in message
    )


class Pressure(NamedTuple):
    used_bytes: int
    max_bytes: int  # 0: Redis has no maxmemory, so no budget
    high_water: float

    @property
    def fraction(self) -> float:
        return self.used_bytes / self.max_bytes if self.max_bytes else 0.0

    @property
    def over(self) -> bool:
        return bool(self.max_bytes) and self.fraction >= self.high_water


class MemoryBudget:
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self._redis = client
        self._settings = settings
        # Trimming frees memory: Redis must never refuse it (its first write
        # may be the ZADD that moves a job whose callback is due to the back).
        self._trim = _allowing_oom(LuaStep(client, TRIM, TrimKeys, TrimArgs), client)
        self._cached: tuple[float, Pressure] | None = None
        self._written_bytes = 0  # what the intake wrote since the cached reading, about
        self._lock = threading.Lock()
        self._reading = threading.Lock()  # held by the one request reading INFO again
        self._unrefused: dict[str, LuaStep] = {}  # a step's source -> it, flagged allow-oom

    def pressure(self) -> Pressure:
        info = self._redis.info("memory")
        reading = Pressure(
            int(info["used_memory"]), int(info.get("maxmemory", 0)), self._settings.redis_high_water
        )
        self._cached = (time.monotonic(), reading)
        self._written_bytes = 0
        return reading

    def _recent_pressure(self, incoming_bytes: int) -> Pressure:
        """The last reading while it is recent and what this process wrote
        since (each event's ``incoming_bytes``, this one's too) is under a
        share of the room it saw below the mark (other web processes write
        too); else a fresh one. Trusted for its age alone, a reading let a
        fast flood write past the mark up to Redis's own limit. Past the
        share every request reads; a reading merely old (under the mark,
        within the share) is read again by one request at a time while the
        others use it (an INFO per request at once, under a burst, was the
        intake's CPU in Redis and in the web process)."""
        cached = self._cached
        if cached is None:
            return self._fresh_pressure(incoming_bytes)
        reading = cached[1]
        self._written_bytes += incoming_bytes
        room = reading.high_water * reading.max_bytes - reading.used_bytes
        within = not reading.max_bytes or self._written_bytes < _TRUSTED_SHARE * room
        if not (within or reading.over):
            return self._fresh_pressure(incoming_bytes)  # past the share: every request reads
        if time.monotonic() - cached[0] <= _PRESSURE_TTL_S:
            return reading
        if reading.over:
            return self._fresh_pressure(incoming_bytes)
        if not self._reading.acquire(blocking=False):
            return reading  # another request is reading again; this one is within the share
        try:
            return self._fresh_pressure(incoming_bytes)
        finally:
            self._reading.release()

    def _fresh_pressure(self, incoming_bytes: int) -> Pressure:
        reading = self.pressure()
        self._written_bytes = incoming_bytes  # written after this reading
        return reading

    def trim(self, count: int | None = None) -> int:
        """Delete a batch of the oldest finished jobs (one atomic step)."""
        trimmed = int(
            self._trim(
                TrimKeys(
                    **vars(IndexKeys.build()),
                    finished_key=keys.finished(),
                    metrics_key=keys.metrics(),
                ),
                TrimArgs(
                    **vars(HookIndexArgs.build()),
                    job_prefix=keys.job(""),
                    history_prefix=keys.history(""),
                    count=count or self._settings.redis_trim_batch,
                    trimmed_counter=metrics.field("jobs_trimmed"),
                    pending_delivery=DeliveryStatus.PENDING.value,
                ),
            )
        )
        self._cached = None  # memory changed: read it again next time
        return trimmed

    def finished_jobs(self) -> int:
        return int(self._redis.zcard(keys.finished()))

    def enforce(self, max_batches: int = 100) -> int:
        """Trim until below the high-water mark or nothing finished is left
        (the reaper's periodic step); returns how many jobs were trimmed."""
        total = 0
        for _ in range(max_batches):
            if not self.pressure().over:
                break
            trimmed = self.trim()
            if not trimmed:  # only jobs with callbacks still to send are left
                break
            total += trimmed
        return total

    def forget_expired(self, now: float) -> int:
        """Drop index entries older than the longest retention: their jobs
        expired on their own."""
        oldest = now - max(self._settings.max_retention_s, self._settings.retention_s)
        return int(self._redis.zremrangebyscore(keys.finished(), "-inf", oldest))

    def make_room(self, *, refused: bool = False, incoming_bytes: int = 0) -> None:
        """The intake's check before it writes an event of about
        ``incoming_bytes`` (``refused``: Redis just refused a write with OOM).
        Over the high-water mark it trims a little; raises ``StoreFull`` when
        nothing finished is left to trim."""
        if not refused and not self._recent_pressure(incoming_bytes).over:
            return
        with self._lock:  # one trimmer per process; the others wait for it
            for _ in range(_INTAKE_BATCHES):
                if self.trim():
                    if not self.pressure().over:
                        return
                elif refused or self.pressure().over:
                    raise StoreFull(
                        "Redis is at its memory budget and holds no finished job to trim; "
                        "the event was not accepted"
                    )
                else:
                    return

    def past_the_limit(self, step: LuaStep, *args: Any, capped: bool = True) -> Any:
        """Run ``step`` (its ``args`` as for a call) with Redis's ``maxmemory``
        check off, for a worker's write refused when trimming frees nothing;
        then trim what it recorded, if it may go, to be under the limit again
        (a Celery node whose own bookkeeping Redis refuses stops). Never for
        the intake's writes: those are refused. Refused too (``OutOfMemoryError``)
        once Redis is already ``_PAST_LIMIT_SHARE`` past its limit: trimming
        frees nothing while the jobs recorded wait for their callbacks.
        ``capped`` False: never refused (a crashed job given up, one at a time,
        after the reaper took it out of the running set)."""
        info = self._redis.info("memory")
        max_bytes = int(info.get("maxmemory", 0))
        counted = int(info["used_memory"]) - int(info.get("mem_not_counted_for_evict", 0))
        if (
            capped
            and max_bytes
            and counted > max_bytes + max(max_bytes * _PAST_LIMIT_SHARE, _PAST_LIMIT_MIN_BYTES)
        ):
            raise redis.exceptions.OutOfMemoryError(
                "command not allowed when used memory > 'maxmemory' "
                f"(already {counted / max_bytes:.0%} of it, with nothing finished to trim)"
            )
        flagged = self._unrefused.get(step.source)
        if flagged is None:
            flagged = self._unrefused[step.source] = _allowing_oom(step, self._redis)
        reply = flagged(*args)
        self.trim()
        return reply


def _allowing_oom(step: LuaStep, client: redis.Redis) -> LuaStep:
    """``step``, its arguments sent as it sends them, flagged ``allow-oom``:
    Redis runs it, writes included, even past ``maxmemory``."""
    flagged = copy.copy(step)
    flagged.source = _ALLOW_OOM + step.source
    flagged._script = client.register_script(flagged.source)
    return flagged
