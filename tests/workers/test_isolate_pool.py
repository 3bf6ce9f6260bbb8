"""Warm isolates through the pool, in real V8."""

from __future__ import annotations

from workers.sandbox.contract import build_context
from workers.sandbox.isolate import RunLimits, run_script
from workers.sandbox.pool import IsolatePool
from workers.settings import Settings
from workers.store.jobs.records import EventRequest


def test_events_with_the_largest_bodies_run_one_after_another_in_a_warm_isolate() -> None:
    settings = Settings()
    pool = IsolatePool(
        settings.isolate_cache_size, settings.isolate_max_uses, settings.isolate_max_heap_mb
    )
    limits = RunLimits(timeout_ms=10_000, heap_mb=settings.default_heap_mb)
    script = "({ body: String(context.body.length) })"
    first = None
    try:
        for n in range(8):
            body = b'{"n":%d,"pad":"' % n + b"x" * (settings.max_body_bytes - 100) + b'"}'
            context = build_context(EventRequest("POST", "/", "", {}, {}, "", body), {})
            isolate = pool.acquire("big", 1, limits.heap_mb, fresh=False)
            first = first or isolate
            assert isolate is first  # the same isolate, kept warm throughout
            result = run_script(isolate, script, context, limits)
            pool.release(isolate, "big", 1, result, fresh=False)
            assert result.ok, f"event {n}: {result.error}"
            assert result.body == str(len(body)).encode()
    finally:
        pool.clear()
