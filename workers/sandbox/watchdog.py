"""The per-child watchdog: the process layer of hooklet's limits.

V8's heap limit does not count ArrayBuffer or WebAssembly memory, and a
timeout cannot always end a script that allocates nothing. While a script
runs, this thread samples the child's resident memory and the clock. Over the
RSS cap it interrupts the isolate; if the script still has not stopped after
a grace period (or runs far past its deadline), it records the job's failure
and ends the child, which Celery replaces.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil

from workers.sandbox.isolate import Isolate
from workers.store.jobs.records import FailureReason

__all__ = ["Watchdog"]

log = logging.getLogger("hooklet.watchdog")
_SAMPLE_S = 0.02
EXIT_CODE = 70


@dataclass
class _Watch:
    isolate: Isolate
    deadline: float
    on_stuck: Callable[[FailureReason, str], None]
    interrupted_at: float | None = None
    reason: FailureReason | None = None
    message: str = ""


class Watchdog:
    def __init__(self, rss_limit_mb: int, grace_s: float = 2.0) -> None:
        self.rss_limit_mb = rss_limit_mb
        self.grace_s = grace_s
        self._watch: _Watch | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._process = psutil.Process()

    @contextmanager
    def watching(
        self,
        isolate: Isolate,
        deadline: float,
        on_stuck: Callable[[FailureReason, str], None],
    ) -> Iterator[None]:
        """Guard one script run. ``on_stuck`` must record the job's failure;
        the child exits right after it returns."""
        self._ensure_thread()
        with self._lock:
            self._watch = _Watch(isolate, deadline, on_stuck)
            self._wake.set()
        try:
            yield
        finally:
            with self._lock:
                self._watch = None

    def _ensure_thread(self) -> None:
        # Started lazily in the child: threads do not survive fork.
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="hooklet-watchdog", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:  # cleared under the lock, so a new watch is never missed
                watch = self._watch
                if watch is None:
                    self._wake.clear()
                    continue
            try:
                self._check(watch)
            except Exception:  # noqa: BLE001 - a dead watchdog would leave scripts unguarded
                log.exception("watchdog check failed")
            time.sleep(_SAMPLE_S)

    def _check(self, watch: _Watch) -> None:
        now = time.monotonic()
        if watch.interrupted_at is None:
            rss = self._process.memory_info().rss / (1024 * 1024)
            if rss > self.rss_limit_mb:
                self._interrupt(
                    watch,
                    FailureReason.MEMORY,
                    f"the worker child's memory reached {rss:.0f} MB, "
                    f"over the cap of {self.rss_limit_mb} MB",
                )
            elif now > watch.deadline + self.grace_s:
                self._interrupt(watch, FailureReason.TIMEOUT, "script timed out")
        elif now > watch.interrupted_at + self.grace_s:
            # Under the lock to the end: a script that stops now cannot leave
            # ``watching`` and go on (e.g. take another job) as the child exits.
            with self._lock:
                if self._watch is not watch:
                    return  # it ended after all
                log.error("script did not stop after %s; ending the worker child", watch.reason)
                try:
                    assert watch.reason is not None
                    watch.on_stuck(watch.reason, watch.message)
                finally:
                    os._exit(EXIT_CODE)

    def _interrupt(self, watch: _Watch, reason: FailureReason, message: str) -> None:
        watch.interrupted_at = time.monotonic()
        watch.reason = reason
        watch.message = message
        log.warning("interrupting script: %s", message)
        watch.isolate.interrupt(reason, message)
