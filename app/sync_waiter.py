"""One waiter per web process for every pending sync wait.

A sync request must not hold a Redis connection (nor a thread) while its job
runs: thousands may wait at once. Workers publish each sync-lane job that
ends, in the job store's FINISH step: with its answer on
``keys.sync_answer_channel()`` (``jobs/answer.py``), so the request answers
without reading the job, or, for an answer too big to send to every web
process, its id alone on ``keys.sync_done_channel()``. One listener per web
process, on one connection, wakes the request waiting for it. Under gevent
the listener is a greenlet and the waits are greenlets parked on events; with
threads, the same code uses real threads.

Nothing is missed: a wait checks the job's status itself whenever it cannot
be sure a publish would reach it (it registered after the job may have
ended, or the listener is not subscribed), and the listener wakes every wait
to check again each time it (re)subscribes, e.g. after Redis came back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis

from workers.store import keys
from workers.store.jobs import answer

__all__ = ["SyncWaiter"]

log = logging.getLogger("hooklet.web")
_RETRY_S = 0.5


class _Wait:
    __slots__ = ("event", "done", "early", "answer")

    def __init__(self, early: bool = False) -> None:
        self.event = threading.Event()
        self.done = False
        self.early = early  # registered by ``expect``, not yet claimed by a wait
        self.answer: dict[bytes, bytes] | None = None  # the job's fields, if published


class SyncWaiter:
    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        # Several requests may wait for one job: the original and copies of
        # it (an idempotency key); each has its own entry.
        self._waits: dict[str, list[_Wait]] = {}
        self._subscribed = False
        self._lost = False  # Redis went away; said once until it is back
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def expect(self, job_id: str) -> None:
        """Register a wait before the job is written, so its end cannot be missed."""
        self._start()
        self._add(job_id, _Wait(early=True))

    def forget(self, job_id: str) -> None:
        """Drop the wait ``expect`` registered (the job was not written)."""
        with self._lock:
            waits = self._waits.get(job_id, [])
            early = next((w for w in waits if w.early), None)
        if early is not None:
            self._remove(job_id, early)

    def wait(self, job_id: str, timeout_s: float, is_done: Callable[[], bool]) -> bool:
        """Until the job ends (True) or ``timeout_s`` passes (False).
        ``is_done`` reads the job's status (it may raise if Redis is gone)."""
        return self.wait_answer(job_id, timeout_s, is_done)[0]

    def wait_answer(
        self, job_id: str, timeout_s: float, is_done: Callable[[], bool]
    ) -> tuple[bool, dict[bytes, bytes] | None]:
        """``wait``, and the job's answer (the fields a sync response reads)
        when its end was published with it; None when the caller must read
        the job (an id-only publish, or the end seen by ``is_done``)."""
        self._start()
        with self._lock:
            wait = next((w for w in self._waits.get(job_id, []) if w.early), None)
            if wait is not None:
                wait.early = False  # this request's own registration
        registered_early = wait is not None
        if wait is None:
            wait = _Wait()
            self._add(job_id, wait)
        try:
            if (not registered_early or not self._subscribed) and is_done():
                return True, None
            deadline = time.monotonic() + timeout_s
            while (left := deadline - time.monotonic()) > 0:
                if not wait.event.wait(left):
                    return False, None
                if wait.done:
                    return True, wait.answer
                wait.event.clear()  # woken to check again: (re)subscribed
                if is_done():
                    return True, None
            return False, None
        finally:
            self._remove(job_id, wait)

    def _add(self, job_id: str, wait: _Wait) -> None:
        with self._lock:
            self._waits.setdefault(job_id, []).append(wait)

    def _remove(self, job_id: str, wait: _Wait) -> None:
        with self._lock:
            waits = self._waits.get(job_id)
            if waits is None:
                return
            if wait in waits:
                waits.remove(wait)
            if not waits:
                del self._waits[job_id]

    def _start(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._listen, name="hooklet-sync-waiter", daemon=True
                    )
                    self._thread.start()

    def _wake_all(self) -> None:
        with self._lock:
            waits = [wait for waits in self._waits.values() for wait in waits]
        for wait in waits:
            wait.event.set()

    def _done(self, job_id: str, fields: dict[bytes, bytes] | None) -> None:
        """Wake every wait for ``job_id`` (with its answer, if published)."""
        with self._lock:
            waits = list(self._waits.get(job_id, ()))
        for wait in waits:
            wait.answer = fields
            wait.done = True
            wait.event.set()

    def _on_answer(self, data: bytes) -> None:
        job_id = data.partition(b"\n")[0].decode(errors="replace")
        with self._lock:
            if job_id not in self._waits:
                return  # another process's request: not decoded here
        try:
            self._done(*answer.decode(data))
        except ValueError:
            log.warning("sync waiter got a malformed answer for job %s; reading it", job_id)
            self._done(job_id, None)

    def _listen(self) -> None:
        done = keys.sync_done_channel().encode()
        answers = keys.sync_answer_channel().encode()
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=False)
            try:
                pubsub.subscribe(done, answers)
                subscribed = 0
                while True:
                    message = pubsub.get_message(timeout=30)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        subscribed += 1
                        if subscribed < 2:
                            continue  # both channels, or a publish on the other is missed
                        self._subscribed = True
                        if self._lost:
                            log.info("sync waiter has Redis again")
                            self._lost = False
                        self._wake_all()  # anything that ended meanwhile is checked
                    elif message["type"] == "message" and message["channel"] == answers:
                        self._on_answer(message["data"])
                    elif message["type"] == "message":
                        self._done(message["data"].decode(), None)
            except (redis.RedisError, OSError) as exc:
                if not self._lost:  # once per outage, not once per retry
                    log.warning("sync waiter lost Redis (%s); waits check their jobs", exc)
                self._lost = True
            finally:
                self._subscribed = False
                self._wake_all()
                try:
                    pubsub.close()
                except (redis.RedisError, OSError):
                    pass
            time.sleep(_RETRY_S)
