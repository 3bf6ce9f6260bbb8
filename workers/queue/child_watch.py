"""A dead worker child's jobs, queued again at once by its own node.

A thread in each script node's main process watches the pool's children.
When one is gone (killed, or ended by Celery's hard time limit), every job it
still held ``running`` is queued again now, not when the reaper finds it
overdue (its deadline plus a grace): a job a child took straight off its
lane has no Celery message to redeliver it, and a task's own message comes
back only after billiard's lost-worker timeout. The attempt cap holds
(``retries.attempt_allowed``): past it the job ends ``crashed``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import redis

from workers.queue.messages import run_task
from workers.queue.reaper import give_up_crashed, lane_of
from workers.queue.retries import attempt_allowed
from workers.queue.running_marker import job_run_by
from workers.settings import Settings
from workers.store import keys
from workers.store.budget import MemoryBudget
from workers.store.connection import client_for
from workers.store.hooks import HookStore
from workers.store.jobs.records import JobStatus, new_job_id
from workers.store.jobs.store import JobStore

__all__ = ["ChildWatch"]

log = logging.getLogger("hooklet.reaper")
_LOOK_EVERY_S = 0.25  # a death is noticed this soon; no Redis call unless one happened


class ChildWatch:
    def __init__(self, settings: Settings, consumer: Any) -> None:
        self.settings = settings
        self.redis = client_for(settings, retries="patient")
        self.jobs = JobStore(
            self.redis, settings.retention_s, budget=MemoryBudget(self.redis, settings)
        )
        self.hooks = HookStore(self.redis)
        self._consumer = consumer  # Celery's consumer: its controller owns the pool

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="hooklet-child-watch", daemon=True)
        thread.start()
        return thread

    def children(self) -> set[int] | None:
        """The pool's child pids now; None without a prefork pool (a
        callback node's threads, or the node shutting down)."""
        pool = getattr(self._consumer.controller, "pool", None)
        processes = (pool.info if pool is not None else {}).get("processes")
        return None if processes is None else set(processes)

    def _loop(self) -> None:
        known: set[int] | None = None  # None: not looked yet
        look = False  # the children changed: some may have died since the last look
        while True:
            time.sleep(_LOOK_EVERY_S)
            try:
                now = self.children()
                if now is None:
                    continue
                look, known = look or now != known, now
                if look:
                    self.requeue_jobs_of_dead_children(now)
                    look = False
            except (redis.RedisError, OSError) as exc:  # Redis is down: the reaper's turn
                log.warning("requeueing a dead child's jobs failed: %s", exc)
            except Exception:  # noqa: BLE001 - keep the thread alive, say why
                log.exception("watching the worker children failed")

    def requeue_jobs_of_dead_children(self, alive: set[int]) -> int:
        """Queue again the jobs this node's children hold (``<node>/<pid>``)
        where the child is gone: not in the pool (``alive``) and no process.
        Read from the running set, not from the pids seen go: a child born
        and killed between two looks (or before the first, or under a node
        killed before this one started with its name) is never seen, but
        its replacement shows that the pool changed."""
        prefix = f"{self._consumer.hostname}/"
        dead = {
            worker
            for worker in self._holders().values()
            if worker.startswith(prefix) and _gone(worker[len(prefix) :], alive)
        }
        return sum(
            self.requeue_jobs_of(worker, ran=job_run_by(int(worker[len(prefix) :])))
            for worker in sorted(dead)
        )

    def _holders(self) -> dict[str, str]:
        """Every running job and the worker (``<node>/<pid>``) holding it. The
        running set holds a few jobs per busy child of the fleet, so reading
        it whole is cheap."""
        running = [job_id.decode() for job_id in self.redis.zrange(keys.running(), 0, -1)]
        with self.redis.pipeline(transaction=False) as pipe:
            for job_id in running:
                pipe.hget(keys.job(job_id), "worker")
            holders = pipe.execute()
        return {j: by.decode() for j, by in zip(running, holders, strict=True) if by}

    def requeue_jobs_of(self, worker: str, ran: str | None = None) -> int:
        """Queue again (or, past the attempt cap, fail ``crashed``) every job
        ``worker`` (``<node>/<pid>``, as jobs record it) holds running.
        Returns how many. With ``ran`` (the job the child said it was
        running: ``running_marker``), the child died under that one: the
        others it held (taken with it, or run with their outcomes not yet
        recorded: ``queue/held.py``) get their attempt back."""
        held = [j for j, by in self._holders().items() if by == worker]
        refund = ran is not None
        return sum(self._requeue(j, worker, refund and j != ran) for j in held)

    def _requeue(self, job_id: str, worker: str, refund: bool = False) -> bool:
        raw = self.jobs.get(job_id)
        if raw is None or JobStatus(raw[b"status"].decode()).is_final:
            return False
        attempts = int(raw.get(b"attempts", b"0")) - (1 if refund else 0)
        lane = lane_of(raw)
        if attempt_allowed(attempts + 1, self.settings.max_attempts):
            # A token of its own, as the reaper gives: the dead task's token
            # is unbound by the requeue and claims whatever comes next.
            message = run_task(new_job_id(), self.settings, lane)
            if not self.jobs.requeue(job_id, message, lane, held_by=worker, refund=refund):
                return False  # the reaper, or a redelivery, got there first
            log.warning(
                "queued job %s again: its worker %s died (attempt %d)", job_id, worker, attempts
            )
            return True
        if raw.get(b"worker") != worker.encode() or not self.redis.zrem(keys.running(), job_id):
            return False
        error = f"the worker process died {attempts} times running this job; not retrying"
        give_up_crashed(self.jobs, self.hooks, self.settings, raw, job_id, error)
        log.warning("job %s failed: its worker died %d times", job_id, attempts)
        return True


def _gone(pid: str, alive: set[int]) -> bool:
    """Whether child ``pid`` is dead: not in the pool and no such process
    (a child forked after the pool was read is alive, and is left alone)."""
    if not pid.isdigit() or int(pid) in alive:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, another user's
        return False
    return False
