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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workers.sandbox.isolate import Isolate
from workers.sandbox.memory import resident_bytes
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
        self._pid = 0  # the process that started the thread

    def watching(
        self,
        isolate: Isolate,
        deadline: float,
        on_stuck: Callable[[FailureReason, str], None],
    ) -> _Watching:
        """Guard one script run (a ``with`` block). ``on_stuck`` must record
        the job's failure; the child exits right after it returns."""
        return _Watching(self, _Watch(isolate, deadline, on_stuck))

    def _begin(self, watch: _Watch) -> None:
        if self._pid != os.getpid():  # started lazily in the child: threads do not survive fork
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="hooklet-watchdog", daemon=True)
            self._thread.start()
        with self._lock:
            self._watch = watch
            if not self._wake.is_set():  # set while the thread looks: nothing to wake
                self._wake.set()

    def _end(self) -> None:
        with self._lock:
            self._watch = None

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
            rss = resident_bytes() / (1024 * 1024)
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


class _Watching:
    """``Watchdog.watching``'s ``with`` block: a plain class (a generator's
    context manager costs several µs per run)."""

    __slots__ = ("_dog", "_watch")

    def __init__(self, dog: Watchdog, watch: _Watch) -> None:
        self._dog, self._watch = dog, watch

    def __enter__(self) -> None:
        self._dog._begin(self._watch)  # noqa: SLF001

    def __exit__(self, *_: Any) -> None:
        self._dog._end()  # noqa: SLF001
