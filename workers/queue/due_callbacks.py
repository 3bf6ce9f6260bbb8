"""The callback promoter: a thread in each worker node's main process that
queues callbacks whose time has come.

Two sources: the deliveries' due-set (retries, and deliveries waiting for a
rate slot), and the destinations' wake-ups (a breaker that may half-open:
its oldest parked delivery is queued as the probe). It sleeps until the
earliest of them is due, never longer than ``_MAX_SLEEP_S``, so a rate slot
is kept to within a fraction of a second rather than the reaper's interval.
Claims are atomic (ZREM, the wake-up's lease), so nodes never queue one
delivery twice.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from workers.delivery.destinations import breaker_policy
from workers.queue.messages import callback_task
from workers.settings import Settings
from workers.store.deliveries import DeliveryStore
from workers.store.destinations.store import DestinationStore

__all__ = ["CallbackPromoter"]

log = logging.getLogger("hooklet.reaper")

_MAX_SLEEP_S = 0.25  # a delivery due soon is queued this late at most (plus its queue)
_MIN_SLEEP_S = 0.01
_ROUNDS = 50  # due-set batches one pass takes while they come back full
_BATCH = 100
_TRIES_PER_WAKE = 5  # parked deliveries whose job is gone, skipped per wake-up


class CallbackPromoter:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.deliveries = DeliveryStore(client, settings.retention_s)
        self.destinations = DestinationStore(client, settings.retention_s, breaker_policy(settings))

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._loop, name="hooklet-callbacks-due", daemon=True)
        thread.start()
        return thread

    def _loop(self) -> None:
        while True:
            pause = _MAX_SLEEP_S
            try:
                self.promote()
                pause = self.sleep_s(time.time())
            except (redis.RedisError, OSError) as exc:  # Redis is down; try again later
                log.warning("promoting due callbacks failed: %s", exc)
                pause = self.settings.reaper_interval_s
            except Exception:  # noqa: BLE001 - keep the thread alive, say why
                log.exception("promoting due callbacks failed")
            time.sleep(pause)

    def sleep_s(self, now: float) -> float:
        """Until the earliest due callback or wake-up, within bounds."""
        due = [t for t in (self.deliveries.next_due(), self.destinations.next_wakeup()) if t]
        if not due:
            return _MAX_SLEEP_S
        return min(_MAX_SLEEP_S, max(_MIN_SLEEP_S, min(due) - now))

    def promote(self, now: float | None = None) -> int:
        """Queue every due callback and one probe per destination whose
        wake-up has come; returns how many were queued."""
        now = time.time() if now is None else now
        queued = 0
        for _ in range(_ROUNDS):
            due = self.deliveries.claim_due(now, _BATCH)
            for job_id in due:
                # False: the job is gone (deleted with its hook); nothing to send.
                queued += self.deliveries.queue(job_id, callback_task(job_id, self.settings))
            if len(due) < _BATCH:
                break
        for dest in self.destinations.due_wakeups(now):
            queued += self._wake(dest, now)
        return queued

    def _wake(self, dest: str, now: float) -> int:
        for _ in range(_TRIES_PER_WAKE):
            job_id = self.destinations.wake(dest, now)
            if job_id is None:
                return 0
            if self.deliveries.queue(job_id, callback_task(job_id, self.settings)):
                return 1
            self.destinations.drop(dest, job_id)  # its job is gone: the next one
            self.destinations.rewake(dest, now)
        return 0
