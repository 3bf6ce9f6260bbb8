"""``scripts/bench memory``: worker children's memory over 100,000 events
(``--quick``: 10,000) across 24 warm hooks, with no recycling of children."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks import loadgen
from benchmarks.drain import finished
from benchmarks.stack import Stack
from stackkit import wait_until
from workers.store import keys, metrics

__all__ = ["memory_scenario"]


def memory_scenario(quick: bool) -> dict:
    events = 10_000 if quick else 100_000
    warmup = 2_000
    hooks = 24  # fewer than the isolate cache holds (32): isolates stay warm
    with tempfile.TemporaryDirectory() as tmp:
        # No recycling of children, so their growth over the run shows.
        stack = Stack(Path(tmp), max_tasks_per_child=10**7, max_memory_per_child_mb=8192)
        try:
            for n in range(hooks):
                stack.api.put_hook(
                    f"m{n}",
                    script=f"globalThis.n = (globalThis.n ?? 0) + 1; ({{ body: 'hook {n} ' + n }})",
                )
            client = stack.redis.client()

            def make(i: int) -> tuple[str, str, bytes, dict[str, str]]:
                return "POST", f"/h/m{i % hooks}", b"{}", {}

            def ended() -> int:
                return sum(
                    finished(client, f"m{n}", status)
                    for n in range(hooks)
                    for status in ("succeeded", "failed")
                )

            def send(count: int) -> None:
                ended_before = ended()
                loadgen.fixed_rate(stack.web.url, make, 400, count / 400, 8)
                wait_until(
                    lambda: ended() - ended_before >= count,
                    timeout_s=1800,
                    interval_s=0.5,
                    what=f"{count} events",
                )

            # Warm-up: enough events that each child holds every hook's isolate.
            send(warmup)
            start = {c.pid: c.memory_info().rss / 2**20 for c in stack.worker.children()}
            started = time.perf_counter()
            send(events)
            elapsed = time.perf_counter() - started
            end = {c.pid: c.memory_info().rss / 2**20 for c in stack.worker.children()}
            failed = sum(finished(client, f"m{n}", "failed") for n in range(hooks))
            isolates = {
                name.decode(): metrics.parse_child_entry(value.decode())[2]
                for name, value in client.hgetall(keys.child_rss()).items()
            }
        finally:
            stack.close()
    same = [pid for pid in start if pid in end]
    growth = {pid: round(end[pid] - start[pid], 1) for pid in same}
    print(
        f"\nmemory over {events} events across {hooks} hooks ({elapsed:.0f} s), "
        f"after a warm-up of {warmup}"
    )
    print(f"  child RSS at start (MB): { {p: round(v, 1) for p, v in start.items()} }")
    print(f"  child RSS at end (MB):   { {p: round(v, 1) for p, v in end.items()} }")
    print(
        f"  growth per child (MB):   {growth} (target < 20; children replaced: "
        f"{len(start) - len(same)})"
    )
    print(f"  warm isolates per child at the end: {isolates} (bounded by 32)")
    print(f"  failed jobs: {failed} (must be 0)")
    return {
        "scenario": "memory",
        "events": events,
        "hooks": hooks,
        "warmup_events": warmup,
        "seconds": round(elapsed, 1),
        "warm_isolates_at_end": isolates,
        "rss_start_mb": start,
        "rss_end_mb": end,
        "growth_mb": growth,
        "children_replaced": len(start) - len(same),
        "failed_jobs": failed,
    }
