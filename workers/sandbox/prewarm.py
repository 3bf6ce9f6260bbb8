"""Blank isolates made ahead of time for ``isolation: "fresh"`` hooks.

A fresh run needs a new V8 isolate with hooklet's runtime installed: about
7 ms of CPU before the script starts (V8's context, then the runtime's
closure). Cloudflare hides that cost by starting the isolate while the TLS
handshake runs; here a thread of the worker child makes the next isolates
while the child records the last outcome and waits for the next job. mini-racer
cannot load a custom V8 startup snapshot (its C API takes no snapshot blob),
so making the isolate early is the only way to take it off the run's path.

Each isolate kept here is blank: made by ``Isolate()`` and never handed a
script. ``take`` hands one out once and forgets it; the pool closes it after
its one run (``retire`` closes it here, on this thread, when the run ended
cleanly with nothing pending; anything else the owner closes at once).

The thread is started lazily, in the worker child (after fork), because
isolates and threads do not survive ``fork``. It only ever touches isolates
no one is evaluating: the ones it makes, and retired ones whose run is over
(see DESIGN.md, "Known traps": ``close()`` from another thread is only a
hazard while an evaluation waits on that isolate).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from workers.sandbox.isolate import Isolate

__all__ = ["Prewarmer"]

log = logging.getLogger("hooklet.prewarm")


class Prewarmer:
    """Up to ``depth`` ready isolates of the heap size fresh runs last asked for."""

    def __init__(self, depth: int, make: Callable[[int], Isolate] = Isolate) -> None:
        self.depth = depth
        self._make = make
        self._ready: list[Isolate] = []
        self._retired: list[Isolate] = []
        self._heap_mb: int | None = None  # what to make; None: nothing until a fresh run
        self._generation = 0  # bumped by ``clear``: an isolate being made is dropped
        self._warned: set[int] = set()  # heap sizes that failed once (logged once)
        self._busy = False  # the thread is inside V8, making or closing isolates
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._ready)

    def take(self, heap_mb: int) -> Isolate | None:
        """A ready blank isolate for one fresh run, or None (make one then)."""
        with self._cond:
            for i, isolate in enumerate(self._ready):
                if isolate.heap_mb == heap_mb:
                    return self._ready.pop(i)
        return None

    def refill(self, heap_mb: int, retired: Isolate | None = None) -> None:
        """After a fresh run: make isolates of ``heap_mb`` up to ``depth``, and
        close ``retired`` (its run is over and left nothing pending)."""
        with self._cond:
            if retired is not None:
                self._retired.append(retired)
            self._heap_mb = heap_mb
            self._ensure_thread()
            self._cond.notify()

    def clear(self, wait_s: float = 0.0) -> None:
        """Close every ready isolate and make no more until the next fresh run
        (the child's memory budget; at shutdown, waiting up to ``wait_s`` for
        the thread's work in V8, so the child never exits in the middle of it)."""
        with self._cond:
            doomed = self._ready + self._retired
            self._ready, self._retired = [], []
            self._heap_mb = None
            self._generation += 1
            self._cond.wait_for(lambda: not self._busy, timeout=wait_s)
        for isolate in doomed:
            isolate.close()

    def _ensure_thread(self) -> None:
        # Under the lock. Started in the child that uses it: threads (and
        # isolates) do not survive fork, so a forked copy starts its own.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        if self._pid != os.getpid():
            self._ready, self._retired = [], []  # the parent's, unusable here
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="hooklet-prewarm", daemon=True)
        self._thread.start()

    def _wanted(self) -> bool:
        if self._retired:
            return True
        if self._heap_mb is None:
            return False
        stale = any(isolate.heap_mb != self._heap_mb for isolate in self._ready)
        return stale or len(self._ready) < self.depth

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._wanted():
                    self._cond.wait()
                doomed, self._retired = self._retired, []
                heap_mb = self._heap_mb
                doomed += [i for i in self._ready if i.heap_mb != heap_mb]
                self._ready = [i for i in self._ready if i.heap_mb == heap_mb]
                missing = heap_mb is not None and len(self._ready) < self.depth
                generation = self._generation
                self._busy = True
            try:
                for isolate in doomed:
                    isolate.close()
                if missing:
                    assert heap_mb is not None
                    self._make_one(heap_mb, generation)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _make_one(self, heap_mb: int, generation: int) -> None:
        try:
            isolate: Isolate | None = self._make(heap_mb)
        except Exception:  # noqa: BLE001 - the next run makes its own isolate (and reports)
            isolate = None
            if heap_mb not in self._warned:
                self._warned.add(heap_mb)
                log.warning("could not prepare an isolate of %s MB", heap_mb, exc_info=True)
        with self._cond:
            keep = (
                isolate is not None
                and generation == self._generation
                and heap_mb == self._heap_mb
                and len(self._ready) < self.depth
            )
            if keep:
                assert isolate is not None
                self._ready.append(isolate)
            elif isolate is None and self._heap_mb == heap_mb:
                self._heap_mb = None  # no retry until the next fresh run
        if isolate is not None and not keep:
            isolate.close()
