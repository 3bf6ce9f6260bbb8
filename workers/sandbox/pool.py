"""A per-child pool of warm isolates, keyed by (hook, script version).

An isolate is reused only for the same hook and version, only when its last
run ended cleanly and left nothing pending (no timers), and only up to a use
count and a heap size. Anything else closes it. ``isolation: "fresh"`` hooks
get a new isolate for every event: a blank one made ahead by the prewarmer
(``prewarm.py``) when one is ready, used for that one run and closed. What
persists between events of a hook in a warm isolate is whatever its scripts
changed in the realm: global variables, and any builtin replaced (as on
Cloudflare Workers). The runtime does not depend on them (it uses builtins
captured before any script ran, js/00_primordials.js), ``context`` and
``console`` are given again before each run, and no other hook or version is
ever handed that isolate.
"""

from __future__ import annotations

from collections import OrderedDict

from workers.sandbox.isolate import Isolate, RunResult
from workers.sandbox.malloc import return_freed_memory
from workers.sandbox.prewarm import Prewarmer

__all__ = ["IsolatePool"]

PoolKey = tuple[str, int, int]  # hook id, script version, heap MB
# Every this many uses an isolate is collected (a full GC) and its heap read.
# Without it, V8 lets the heaps of many idle isolates grow (with 24 warm hooks,
# reading heap statistics every 16 uses grew a child by 200 MB in 36,000 runs);
# with it, the heaps stay at their live size. About 2 ms per 128 runs.
_COLLECT_EVERY = 128
# A run given a big context (a big request body becomes a big array) leaves
# garbage that V8 does not collect before the isolate's hard heap limit, which
# mini-racer enforces on its own: the next run could fail for memory it never
# used. Such an isolate is collected before it is reused.
_COLLECT_AFTER_INPUT_BYTES = 64 * 1024


class IsolatePool:
    def __init__(
        self, max_isolates: int, max_uses: int, max_heap_mb: int, fresh_prewarm: int = 0
    ) -> None:
        self.max_isolates = max_isolates
        self.max_uses = max_uses
        self.max_heap_bytes = max_heap_mb * 1024 * 1024
        self._idle: OrderedDict[PoolKey, Isolate] = OrderedDict()
        # Blank isolates for fresh runs, made on a thread of this child.
        self.prewarmed = Prewarmer(fresh_prewarm) if fresh_prewarm > 0 else None
        self._over_budget = False  # as ``relieve`` last found: then nothing is made ahead

    def __len__(self) -> int:
        return len(self._idle)

    def acquire(self, hook_id: str, version: int, heap_mb: int, *, fresh: bool) -> Isolate:
        key = (hook_id, version, heap_mb)
        if not fresh:
            isolate = self._idle.pop(key, None)
            if isolate is not None:
                return isolate
        elif self.prewarmed is not None:
            isolate = self.prewarmed.take(heap_mb)
            if isolate is not None:
                return isolate
        return Isolate(heap_mb)

    def release(
        self, isolate: Isolate, hook_id: str, version: int, run: RunResult, *, fresh: bool
    ) -> None:
        key = (hook_id, version, isolate.heap_mb)
        if fresh:
            self._release_fresh(isolate, run)
            return
        if not self._reusable(isolate, run):
            self._discard(isolate)
            return
        self._idle[key] = isolate
        self._idle.move_to_end(key)
        while len(self._idle) > self.max_isolates:
            _, oldest = self._idle.popitem(last=False)
            self._discard(oldest)

    def clear(self) -> None:
        while self._idle:
            self._discard(self._idle.popitem()[1])
        if self.prewarmed is not None:
            self.prewarmed.clear(wait_s=2.0)

    def relieve(self, rss_bytes: int, budget_bytes: int) -> bool:
        """Close the older half of the idle isolates when the child uses more
        than ``budget_bytes``, so cached isolates never push a child towards its
        RSS cap (where the watchdog would stop an innocent script)."""
        self._over_budget = rss_bytes > budget_bytes
        if not self._over_budget:
            return False
        if self.prewarmed is not None and len(self.prewarmed):
            self.prewarmed.clear()  # made again after the next fresh run
        elif not self._idle:
            return False
        for _ in range((len(self._idle) + 1) // 2):
            self._discard(self._idle.popitem(last=False)[1])
        return_freed_memory()
        return True

    def _release_fresh(self, isolate: Isolate, run: RunResult) -> None:
        """A fresh isolate runs once. With prewarming on, a clean run's isolate
        is closed on the prewarmer's thread (off the job's path) while it makes
        the next; any other is closed here, at once (it may still be busy)."""
        if self.prewarmed is None or self._over_budget:
            self._discard(isolate)
            return
        clean = not (isolate.poisoned or isolate.closed) and run.reason is None and run.idle
        if not clean:
            self._discard(isolate)
        self.prewarmed.refill(isolate.heap_mb, isolate if clean else None)

    def _reusable(self, isolate: Isolate, run: RunResult) -> bool:
        if isolate.poisoned or isolate.closed or run.reason is not None:
            return False
        if isolate.uses >= self.max_uses or not (run.idle and run.restartable):
            return False
        if run.input_bytes > _COLLECT_AFTER_INPUT_BYTES or isolate.uses % _COLLECT_EVERY == 1:
            return isolate.heap_used_bytes(collect=True) <= self.max_heap_bytes
        return True

    def _discard(self, isolate: Isolate) -> None:
        poisoned = isolate.poisoned
        isolate.close()
        if poisoned:
            return_freed_memory()
