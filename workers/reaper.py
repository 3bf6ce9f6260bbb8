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
from celery import Celery

from workers import keys, metrics
from workers.client import send_run
from workers.delivery import callback_push, promote_due
from workers.hooks import HookStore
from workers.job_records import FailureReason, JobStatus, Outcome
from workers.jobs import JobStore
from workers.redis_client import connect
from workers.settings import Settings

__all__ = ["Reaper"]

log = logging.getLogger("hooklet.reaper")


class Reaper:
    def __init__(self, settings: Settings, app: Celery) -> None:
        self.settings = settings
        self.app = app
        self.redis = connect(settings.redis_url)
        self.jobs = JobStore(self.redis, settings.retention_s)

    def start(self) -> threading.Thread:
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

    def _callback(self, raw: dict[bytes, bytes], job_id: str) -> tuple[str, bytes] | None:
        try:
            hook = HookStore(self.redis).get(raw[b"hookId"].decode())
        except LookupError:
            return None
        return callback_push(hook.mode, hook.callback_url, job_id, self.settings)

    def sweep(self) -> int:
        """Reap what is overdue now, and queue callbacks that are due again;
        returns how many jobs were reaped."""
        promote_due(self.redis, self.settings, time.time())
        reaped = 0
        for job_id in self.jobs.overdue(time.time() - self.settings.reaper_grace_s):
            if not self.redis.zrem(keys.running(), job_id):
                continue  # another node claimed it, or it just finished
            raw = self.jobs.get(job_id)
            if raw is None or JobStatus(raw[b"status"].decode()).is_final:
                continue
            attempts = int(raw.get(b"attempts", b"0"))
            if attempts >= self.settings.max_attempts:
                self.jobs.finish(
                    job_id,
                    Outcome(
                        JobStatus.FAILED,
                        0.0,
                        [],
                        reason=FailureReason.CRASHED,
                        error=f"the worker running this job vanished ({attempts} attempts)",
                    ),
                    self._callback(raw, job_id),
                    metrics.job_fields(
                        (raw.get(b"hookId") or b"").decode() or "_test",
                        JobStatus.FAILED.value,
                        FailureReason.CRASHED.value,
                        None,
                    ),
                )
            else:
                self.redis.hset(keys.job(job_id), "status", JobStatus.QUEUED.value)
                timeout_ms = int(raw.get(b"timeoutMs", self.settings.max_timeout_ms))
                send_run(self.app, self.settings, job_id, timeout_ms)
            log.warning("reaped job %s after %s attempt(s)", job_id, attempts)
            reaped += 1
        return reaped
