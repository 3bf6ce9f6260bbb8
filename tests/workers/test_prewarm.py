"""Fresh isolates made ahead of time (workers/sandbox/prewarm.py), in real V8:
each is blank, runs one script and is closed; nothing a fresh run does
reaches the next one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from app import services
from tests.support.fast import put_hook
from tests.support.stack import wait_until
from workers.queue.executor import Executor
from workers.sandbox.contract import build_context
from workers.sandbox.isolate import Isolate, RunLimits, RunResult, run_script
from workers.sandbox.pool import IsolatePool
from workers.sandbox.prewarm import Prewarmer
from workers.store.jobs.records import EventRequest

EVENT = EventRequest("POST", "/", "", {}, {}, "", b"{}")
LIMITS = RunLimits(timeout_ms=10_000, heap_mb=10)
COUNTER = "globalThis.count = (globalThis.count ?? 0) + 1; ({ body: String(count) })"
# What a fresh run sees of the builtins a tampering script replaces.
PROBE = """({ body: JSON.stringify({
  parsed: JSON.parse('{"a":1}'), own: globalThis.leaked ?? null, str: String({}),
  mapped: [1].map((x) => x + 1), pushed: (() => { const a = []; a.push(1); return a; })(),
  spread: [...new Set([3])], timer: typeof setTimeout, console: typeof console.log }) })"""
CLEAN = (
    '{"parsed":{"a":1},"own":null,"str":"[object Object]","mapped":[2],"pushed":[1],'
    '"spread":[3],"timer":"function","console":"function"}'
)
TAMPER = """
globalThis.leaked = "from the last run";
JSON.parse = () => "forged"; JSON.stringify = () => "forged";
Object.prototype.toString = () => "forged"; Object.prototype.polluted = 1;
Array.prototype.map = () => ["forged"]; Array.prototype.push = () => 0;
Set.prototype[Symbol.iterator] = function* () { yield "forged"; };
console.log = () => {}; globalThis.setTimeout = null;
Object.freeze(Array.prototype); Object.freeze(Object.prototype);
({ body: "tampered" })
"""


@pytest.fixture
def pool() -> Iterator[IsolatePool]:
    pool = IsolatePool(4, 1000, 8, fresh_prewarm=2)
    yield pool
    pool.clear()


def fresh_run(pool: IsolatePool, script: str, heap_mb: int = 10) -> tuple[Isolate, RunResult]:
    """One fresh run as the runner makes it: acquire, run, release."""
    isolate = pool.acquire("fresh-hook", 1, heap_mb, fresh=True)
    limits = RunLimits(timeout_ms=10_000, heap_mb=heap_mb)
    result = run_script(isolate, script, build_context(EVENT, {}), limits)
    pool.release(isolate, "fresh-hook", 1, result, fresh=True)
    return isolate, result


def ready(pool: IsolatePool, count: int) -> list[Isolate]:
    """The prewarmer's ready isolates, once it holds ``count``."""
    prewarmed = pool.prewarmed
    assert prewarmed is not None
    wait_until(lambda: len(prewarmed) == count, timeout_s=30, what=f"{count} prewarmed")
    return list(prewarmed._ready)  # noqa: SLF001 - what the test checks


def test_a_fresh_run_never_sees_a_previous_runs_globals(pool: IsolatePool) -> None:
    bodies = []
    for _ in range(6):
        _, result = fresh_run(pool, COUNTER)
        assert result.ok, result.error
        bodies.append(result.body)
        ready(pool, 2)  # the next run takes a prewarmed isolate
    assert bodies == [b"1"] * 6


def test_a_prewarmed_isolate_is_blank_and_used_for_one_run_only(pool: IsolatePool) -> None:
    fresh_run(pool, COUNTER)  # the first fresh run makes its own, then the child prewarms
    used: list[Isolate] = []
    for _ in range(5):
        waiting = ready(pool, 2)
        assert all(i.uses == 0 and not i.closed for i in waiting)  # blank: never ran a script
        isolate, result = fresh_run(pool, COUNTER)
        assert result.ok and result.body == b"1", result.error
        assert isolate in waiting  # the run took one made ahead
        assert isolate.uses == 1
        used.append(isolate)
    assert len({id(i) for i in used}) == len(used)  # each handed out once
    ready(pool, 2)
    wait_until(lambda: all(i.closed for i in used), timeout_s=30, what="used isolates closed")
    assert not any(i in pool.prewarmed._ready for i in used)  # noqa: SLF001


def test_a_tampering_fresh_script_does_not_reach_the_next_fresh_run(pool: IsolatePool) -> None:
    fresh_run(pool, PROBE)
    ready(pool, 2)
    tampering, result = fresh_run(pool, TAMPER)
    assert tampering.uses == 1
    for _ in range(3):
        ready(pool, 2)
        isolate, result = fresh_run(pool, PROBE)
        assert isolate is not tampering
        assert result.ok, result.error
        assert result.body.decode() == CLEAN


def test_a_busy_fresh_isolate_is_closed_at_once_not_kept(pool: IsolatePool) -> None:
    # Timers still pending: not idle, so the pool closes it before the run returns.
    isolate, result = fresh_run(pool, "setTimeout(() => {}, 60000); ({ body: 'x' })")
    assert result.ok and not result.idle
    assert isolate.closed
    waiting = ready(pool, 2)
    assert isolate not in waiting


def test_prewarmed_isolates_have_the_heap_limit_of_the_run(pool: IsolatePool) -> None:
    fresh_run(pool, COUNTER, heap_mb=10)
    old = ready(pool, 2)
    isolate, result = fresh_run(pool, COUNTER, heap_mb=16)  # another size: made on demand
    assert result.ok and isolate not in old and isolate.heap_mb == 16
    wait_until(
        lambda: len(pool.prewarmed) == 2 and all(i.heap_mb == 16 for i in ready(pool, 2)),
        timeout_s=30,
        what="isolates of the new size",
    )
    wait_until(lambda: all(i.closed for i in old), timeout_s=30, what="old size closed")
    # Over the heap limit it was made with, a prewarmed isolate fails as any would.
    _, result = fresh_run(pool, "const a = []; for (;;) a.push('x'.repeat(1024) + a.length)", 16)
    assert result.reason is not None and result.reason.value == "memory", result.error


def test_over_the_memory_budget_prewarmed_isolates_go_and_none_are_made(
    pool: IsolatePool,
) -> None:
    fresh_run(pool, COUNTER)
    waiting = ready(pool, 2)
    assert pool.relieve(rss_bytes=2, budget_bytes=1)
    assert all(i.closed for i in waiting) and len(pool.prewarmed) == 0
    isolate, _ = fresh_run(pool, COUNTER)
    assert isolate.closed  # closed at once, and nothing made ahead while over budget
    assert len(pool.prewarmed) == 0
    assert not pool.relieve(rss_bytes=1, budget_bytes=2)
    fresh_run(pool, COUNTER)
    ready(pool, 2)


def test_prewarming_off_makes_nothing_ahead() -> None:
    pool = IsolatePool(4, 1000, 8, fresh_prewarm=0)
    try:
        isolate, result = fresh_run(pool, COUNTER)
        assert result.ok and isolate.closed and pool.prewarmed is None
    finally:
        pool.clear()


def test_clear_drops_an_isolate_being_made() -> None:
    started, release = threading.Event(), threading.Event()
    made: list[Isolate] = []

    def slow_make(heap_mb: int) -> Isolate:
        started.set()
        release.wait(30)
        made.append(Isolate(heap_mb))
        return made[-1]

    prewarmer = Prewarmer(1, make=slow_make)
    prewarmer.refill(10)
    assert started.wait(30)
    prewarmer.clear()  # e.g. the child shuts down while the thread makes one
    release.set()
    wait_until(lambda: made and made[0].closed, timeout_s=30, what="the late isolate closed")
    assert len(prewarmer) == 0 and prewarmer.take(10) is None


def test_clear_at_shutdown_waits_for_the_isolate_being_made() -> None:
    started, release = threading.Event(), threading.Event()
    made: list[Isolate] = []

    def slow_make(heap_mb: int) -> Isolate:
        started.set()
        release.wait(30)
        made.append(Isolate(heap_mb))
        return made[-1]

    prewarmer = Prewarmer(1, make=slow_make)
    prewarmer.refill(10)
    assert started.wait(30)
    threading.Timer(0.1, release.set).start()
    prewarmer.clear(wait_s=30)  # as the pool does when the child shuts down
    assert made and made[0].closed  # closed before clear returned, not while exiting


def test_isolates_share_one_idle_loop_instead_of_a_thread_each() -> None:
    before = threading.active_count()
    isolates = [Isolate(10) for _ in range(4)]
    try:
        assert threading.active_count() == before
    finally:
        for isolate in isolates:
            isolate.close()


def test_a_fresh_hook_through_the_executor_counts_from_one_each_event(
    executor: Executor,
    client: FlaskClient,
    admin: dict[str, str],
    hook_id: str,
    run_job: Callable[[str], dict],
) -> None:
    assert executor.runner.pool.prewarmed is not None  # on by default
    put_hook(client, admin, hook_id, script=COUNTER, isolation="fresh")
    with client.application.app_context():
        dispatcher = services.dispatcher()
    bodies = []
    for _ in range(4):
        job_id = dispatcher.submit(dispatcher.hooks.get(hook_id), EVENT).job_id
        bodies.append(run_job(job_id)["result"]["body"])
    assert bodies == ["1"] * 4
