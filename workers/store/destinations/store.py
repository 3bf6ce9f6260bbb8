"""The state of callback destinations in Redis (issue 24, item 5).

A destination is ``scheme://host:port``. Its hash holds a circuit breaker:
the failure streak, ``openUntil`` (epoch ms; 0 while closed), the cooldown
that opened it and the half-open probe's lease. While it is open, its
deliveries are *parked* in a sorted set of their own instead of the
callbacks due-set: they cost nothing until a probe closes the breaker, and
then they are all due at once. One wake-up per destination (``wake.lua``,
run by the callback promoter) sends the oldest parked delivery as the probe.

Each hook with ``callback.ratePerS`` has a token bucket per destination kept
as GCRA's one number (the time its next call may go): a delivery reserves a
slot, and one whose slot is still to come waits in the due-set for it, so
neither a worker thread nor an attempt is spent waiting.

Every decision is one Lua step (``admit.lua``, ``report.lua``): shared by
every callback worker process, and in Redis's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import redis

from workers.store import keys
from workers.store.jobs.index import HookIndexArgs, IndexKeys
from workers.store.jobs.records import DeliveryStatus
from workers.store.lua import LuaStep, lua_source

__all__ = [
    "Admission",
    "BreakerPolicy",
    "DestinationStore",
    "Signal",
    "Verdict",
]


class Verdict(StrEnum):
    """What ``admit`` decided for one delivery."""

    SEND = "send"  # the breaker is closed and the rate allows it
    PROBE = "probe"  # send: this delivery tests a half-open breaker
    PARK = "park"  # the breaker is open: wait, parked, for it to close
    WAIT = "wait"  # the hook's rate: due again at its slot
    GONE = "gone"  # the job no longer exists
    ENDED = "ended"  # its delivery already ended (a stale copy): nothing to send


class Signal(StrEnum):
    """What an attempt says about its destination."""

    HEALTHY = "healthy"  # it answered (anything but 5xx or 429)
    FAILURE = "failure"  # no answer, 5xx or 429
    NONE = "none"  # nothing was sent (no URL, the hook is gone)


@dataclass(frozen=True)
class BreakerPolicy:
    failures: int  # consecutive failures that open the breaker
    cooldown_s: float  # the first cooldown; each failed probe doubles it
    max_cooldown_s: float
    probe_lease_s: float  # a probe that never reports frees its turn after this


@dataclass(frozen=True)
class Admission:
    verdict: Verdict
    due_at: float | None  # epoch s: when a parked or waiting delivery may go


@dataclass(frozen=True)
class AdmitKeys(IndexKeys):
    job_key: str
    state_key: str
    parked_key: str
    pending_key: str
    rate_key: str
    wake_key: str
    due_key: str
    destinations_key: str


@dataclass(frozen=True)
class AdmitArgs(HookIndexArgs):
    job_id: str
    dest: str
    rate_per_s: str  # '' for no limit
    lease_ms: int
    slack_ms: int  # a slot this close counts as come
    retention_s: int
    verdict_send: str
    verdict_probe: str
    verdict_park: str
    verdict_wait: str
    verdict_gone: str
    verdict_ended: str
    pending: str  # DeliveryStatus.PENDING


@dataclass(frozen=True)
class ReportKeys:
    state_key: str
    parked_key: str
    pending_key: str
    wake_key: str
    due_key: str


@dataclass(frozen=True)
class ReportArgs:
    dest: str
    job_id: str
    signal: str
    error: str
    ended: str  # '1' when the delivery ended with this attempt
    threshold: int
    cooldown_ms: int
    max_cooldown_ms: int
    signal_healthy: str
    signal_failure: str


@dataclass(frozen=True)
class WakeKeys:
    wake_key: str
    parked_key: str


@dataclass(frozen=True)
class WakeArgs:
    dest: str
    now_s: float
    lease_s: float


_SLACK_MS = 20
_ADMIT = lua_source("destinations/admit.lua", include=("jobs/index.lua",))
_REPORT = lua_source("destinations/report.lua")
_WAKE = lua_source("destinations/wake.lua")


class DestinationStore:
    def __init__(self, client: redis.Redis, retention_s: int, policy: BreakerPolicy) -> None:
        self._redis = client
        self._retention_s = retention_s
        self.policy = policy
        self._admit = LuaStep(client, _ADMIT, AdmitKeys, AdmitArgs)
        self._report = LuaStep(client, _REPORT, ReportKeys, ReportArgs)
        self._wake = LuaStep(client, _WAKE, WakeKeys, WakeArgs)

    def admit(self, dest: str, job_id: str, hook_id: str, rate_per_s: float | None) -> Admission:
        """May this delivery go now? Parks or schedules it (no attempt) if not."""
        verdict, due = self._admit(
            AdmitKeys(
                **vars(IndexKeys.build()),
                job_key=keys.job(job_id),
                state_key=keys.destination(dest),
                parked_key=keys.destination_parked(dest),
                pending_key=keys.destination_pending(dest),
                rate_key=keys.destination_rate(dest, hook_id),
                wake_key=keys.destination_wakeups(),
                due_key=keys.callbacks_due(),
                destinations_key=keys.destinations(),
            ),
            AdmitArgs(
                **vars(HookIndexArgs.build()),
                job_id=job_id,
                dest=dest,
                rate_per_s="" if not rate_per_s else repr(float(rate_per_s)),
                lease_ms=int(self.policy.probe_lease_s * 1000),
                slack_ms=_SLACK_MS,
                retention_s=self._retention_s,
                **{f"verdict_{v.value}": v.value for v in Verdict},
                pending=DeliveryStatus.PENDING.value,
            ),
        )
        return Admission(Verdict(verdict.decode()), float(due) if due else None)

    def report(
        self, dest: str, job_id: str, signal: Signal, error: str, status: DeliveryStatus
    ) -> int:
        """Record an attempt's outcome for the breaker; 1: it closed, 2: it opened."""
        return int(
            self._report(
                ReportKeys(
                    state_key=keys.destination(dest),
                    parked_key=keys.destination_parked(dest),
                    pending_key=keys.destination_pending(dest),
                    wake_key=keys.destination_wakeups(),
                    due_key=keys.callbacks_due(),
                ),
                ReportArgs(
                    dest=dest,
                    job_id=job_id,
                    signal=signal.value,
                    error=error,
                    ended="" if status is DeliveryStatus.PENDING else "1",
                    threshold=self.policy.failures,
                    cooldown_ms=int(self.policy.cooldown_s * 1000),
                    max_cooldown_ms=int(self.policy.max_cooldown_s * 1000),
                    signal_healthy=Signal.HEALTHY.value,
                    signal_failure=Signal.FAILURE.value,
                ),
            )
        )

    def due_wakeups(self, now: float, limit: int = 50) -> list[str]:
        """Destinations whose wake-up has come (see ``wake``)."""
        due = self._redis.zrangebyscore(keys.destination_wakeups(), "-inf", now, 0, limit)
        return [d.decode() for d in due]

    def wake(self, dest: str, now: float) -> str | None:
        """The parked delivery to send now as the destination's probe, if its
        wake-up has come (claimed for a probe lease: one caller gets it)."""
        found = self._wake(
            WakeKeys(wake_key=keys.destination_wakeups(), parked_key=keys.destination_parked(dest)),
            WakeArgs(dest=dest, now_s=now, lease_s=self.policy.probe_lease_s),
        )
        return found.decode() if found else None

    def drop(self, dest: str, job_id: str) -> None:
        """Forget a parked delivery whose job is gone."""
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.zrem(keys.destination_parked(dest), job_id)
            pipe.zrem(keys.destination_pending(dest), job_id)
            pipe.execute()

    def rewake(self, dest: str, now: float) -> None:
        """The destination's wake-up is due again (its probe's job was gone)."""
        self._redis.zadd(keys.destination_wakeups(), {dest: now})

    def next_wakeup(self) -> float | None:
        first = self._redis.zrange(keys.destination_wakeups(), 0, 0, withscores=True)
        return float(first[0][1]) if first else None
