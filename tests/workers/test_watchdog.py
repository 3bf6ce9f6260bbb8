"""The RSS watchdog stops a script whose memory V8's heap limit does not see
(ArrayBuffers), run after run, with real V8 and this process's real RSS."""

from __future__ import annotations

import time

from workers.sandbox.contract import build_context
from workers.sandbox.isolate import Isolate, RunLimits, run_script
from workers.sandbox.memory import resident_bytes
from workers.sandbox.watchdog import Watchdog
from workers.store.jobs.records import EventRequest, FailureReason

REQUEST = EventRequest("POST", "/x", None, {}, {}, "127.0.0.1", b"{}")
LIMITS = RunLimits(timeout_ms=10_000, heap_mb=16)
# 16 MB at a time, each written so its pages are resident, kept alive: past
# any cap a few hundred MB above this process's size.
GROW = """(async () => {
  const kept = [];
  while (true) { const b = new Uint8Array(16 * 1024 * 1024); b.fill(1); kept.push(b); }
})()"""


def stuck(reason: FailureReason, message: str) -> None:
    raise AssertionError(f"the script should have stopped: {reason} {message}")


def test_every_run_over_the_rss_cap_is_stopped_and_the_next_run_is_watched_too() -> None:
    dog = Watchdog(rss_limit_mb=resident_bytes() // 2**20 + 200)
    for _ in range(3):
        isolate = Isolate(LIMITS.heap_mb)
        try:
            with dog.watching(isolate, time.monotonic() + 10, stuck):
                result = run_script(isolate, GROW, build_context(REQUEST, {}), LIMITS)
        finally:
            isolate.close()
        assert result.reason is FailureReason.MEMORY
        assert "over the cap of" in (result.error or "")
        # A quick run between them: watched, and left alone.
        isolate = Isolate(LIMITS.heap_mb)
        try:
            with dog.watching(isolate, time.monotonic() + 10, stuck):
                quick = run_script(
                    isolate, "(async () => ({ body: 'ok' }))()", build_context(REQUEST, {}), LIMITS
                )
        finally:
            isolate.close()
        assert quick.ok and quick.body == b"ok"
