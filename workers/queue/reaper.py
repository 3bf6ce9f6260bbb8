"""The reaper: finds jobs left ``running`` by a worker that vanished.

It runs as a thread in each worker node's main process (never in children,
never touching V8). A job is overdue when its hard deadline plus a grace
period has passed. Claiming is atomic (ZREM), so two nodes never reap the
same job. An overdue job is queued again while it has attempts left, and
failed ``crashed`` after that.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from workers.queue.due_callbacks import CallbackPromoter
from workers.queue.messages import callback_on_finish, run_task
from workers.queue.names import SCRIPTS_QUEUE, SYNC_QUEUE
from workers.queue.retries import attempt_allowed, gave_up
from workers.settings import Settings
from workers.store import keys, metrics
from workers.store.access.storage import ProjectStorage
from workers.store.budget import MemoryBudget
from workers.store.connection import client_for
from workers.store.deliveries import DeliveryStore
from workers.store.hooks import HookStore
from workers.store.jobs.index import IndexTrim
from workers.store.jobs.records import FailureReason, JobStatus, new_job_id
from workers.store.jobs.store import JobStore
from workers.store.lanes.lane import Lane

__all__ = ["Reaper"]

log = logging.getLogger("hooklet.reaper")


def lane_of(raw: dict[bytes, bytes]) -> Lane:
    """The lane a job was queued in (its ``lane`` field), to queue it again."""
    hook_id = (raw.get(b"hookId") or b"").decode()
    if raw.get(b"lane") == b"sync" or not hook_id:
        return Lane.sync(hook_id)
    return Lane(hook_id)


def give_up_crashed(
    jobs: JobStore,
    hooks: HookStore,
    settings: Settings,
    raw: dict[bytes, bytes],
    job_id: str,
    error: str,
) -> None:
    """Fail a job whose worker died or vanished once too often (reason
    ``crashed``), with its callback: the one reaper and child watch both
    write, so the two never disagree on how a crashed job ends."""
    hook = (raw.get(b"hookId") or b"").decode() or "_test"
    jobs.finish(
        job_id,
        gave_up(error),
        _callback(hooks, settings, raw, job_id),
        metrics.job_fields(hook, JobStatus.FAILED, FailureReason.CRASHED, None),
    )


def _callback(
    hooks: HookStore, settings: Settings, raw: dict[bytes, bytes], job_id: str
) -> tuple[str, bytes] | None:
    try:  # only the hook that received the job, not one created since with its id
        hook = hooks.get_for_version(raw[b"hookId"].decode(), int(raw[b"version"]))
    except (LookupError, KeyError, ValueError):
        return None
    return callback_on_finish(hook.mode, hook.callback_url, job_id, settings)


class Reaper:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis = client_for(settings, retries="patient")
        self.budget = MemoryBudget(self.redis, settings)
        self.jobs = JobStore(self.redis, settings.retention_s, budget=self.budget)
        self.hooks = HookStore(self.redis)
        self.deliveries = DeliveryStore(self.redis, settings.retention_s)
        self.indexes = IndexTrim(self.redis)
        self.promoter = CallbackPromoter(settings, self.redis)
        # Projects' storedBytes: a full flag lapses unless a later sweep renews it.
        self.storage = ProjectStorage(self.redis, 3 * settings.reaper_interval_s)

    def start(self) -> threading.Thread:
        """The reaper's thread, and the callback promoter's beside it (due
        callbacks are kept to a fraction of a second, not this interval)."""
        self.promoter.start()
        thread = threading.Thread(target=self._loop, name="hooklet-reaper", daemon=True)
        thread.start()
        return thread

    def _loop(self) -> None:
        while True:
            time.sleep(self.settings.reaper_interval_s)
            try:
                self.sweep()
            except (redis.RedisError, OSError) as exc:  # Redis is down; try again later
                log.warning("reaper sweep failed: %s", exc)
            except Exception:  # noqa: BLE001 - keep the thread alive, say why
                log.exception("reaper sweep failed")

    def promote_due_callbacks(self) -> int:
        """Queue the callback deliveries whose retry time has come, and the
        probes of destinations that may half-open (each claimed by one node)."""
        return self.promoter.promote()

    def _keep_budget(self) -> None:
        """The memory budget's periodic step: drop the index entries of jobs
        that expired (every index is bounded by its jobs), and trim the oldest
        finished jobs while Redis is over its high-water mark."""
        self.indexes.trim()
        self.budget.forget_expired(time.time())
        trimmed = self.budget.enforce()
        if trimmed:
            log.info("trimmed %d finished job(s) to stay under the memory budget", trimmed)
        self.storage.enforce_all()  # each project's storedBytes (access/storage.py)

    def top_up_tokens(self, limit: int = 200) -> int:
        """No queued job waits for a token that will not come. A lane whose
        queue list holds no token while jobs wait in it (a token can be spent
        without running the job it was queued with: another hook's turn, a
        lost message) gets one token per waiting job, up to ``limit``. A spare
        token costs a task that finds nothing to run. Returns how many."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(keys.ready_sync_hooks(), 0, -1)
            pipe.lrange(keys.ready_hooks(), 0, -1)
            pipe.llen(keys.celery_queue(SYNC_QUEUE))
            pipe.llen(keys.celery_queue(SCRIPTS_QUEUE))
            sync_ready, ready, sync_tokens, tokens = pipe.execute()
        lanes = [Lane.sync(h.decode()) for h in sync_ready] if not sync_tokens else []
        lanes += [Lane(h.decode()) for h in ready] if not tokens else []
        if not lanes:
            return 0
        with self.redis.pipeline(transaction=False) as pipe:
            for lane in lanes:
                pipe.llen(lane.pending_key)
            waiting = pipe.execute()
        pushed = 0
        with self.redis.pipeline(transaction=False) as pipe:
            for lane, count in zip(lanes, waiting, strict=True):
                for _ in range(min(count, limit - pushed)):
                    pipe.lpush(*run_task(new_job_id(), self.settings, lane))
                    pushed += 1
            pipe.execute()
        if pushed:
            log.warning("queued %d token(s) for jobs that had none waiting", pushed)
        return pushed

    def sweep(self) -> int:
        """Reap what is overdue now, queue callbacks that are due again, keep
        the memory budget and top up tokens; returns how many jobs were reaped.
        A chore Redis refuses (a full Redis refuses a token's LPUSH) is logged
        and the sweep goes on: reaping must not wait for it."""
        for chore in (self.promote_due_callbacks, self._keep_budget, self.top_up_tokens):
            try:
                chore()
            except redis.ResponseError as exc:
                log.warning("reaper: %s failed: %s", chore.__name__.strip("_"), exc)
        reaped = 0
        for job_id in self.jobs.overdue(time.time() - self.settings.reaper_grace_s):
            if not self.redis.zrem(keys.running(), job_id):
                continue  # another node claimed it, or it just finished
            raw = self.jobs.get(job_id)
            if raw is None or JobStatus(raw[b"status"].decode()).is_final:
                continue
            attempts = int(raw.get(b"attempts", b"0"))
            if attempt_allowed(attempts + 1, self.settings.max_attempts):
                # A token of its own, with a fresh id: a token named after
                # this job may still be bound to another job it claimed.
                lane = lane_of(raw)
                self.jobs.requeue(job_id, run_task(new_job_id(), self.settings, lane), lane)
            else:
                error = f"the worker running this job vanished ({attempts} attempts)"
                give_up_crashed(self.jobs, self.hooks, self.settings, raw, job_id, error)
            log.warning("reaped job %s after %s attempt(s)", job_id, attempts)
            reaped += 1
        return reaped
