"""``scripts/bench profile``: the budget of one event. CPU per async event
for each process (``cpu_budget``) and the time of each hop of a sync request
(``sync_hops``), on one stack with a trivial script; later changes are
judged against these two tables."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.cpu_budget import measure_cpu, print_cpu
from benchmarks.drain import drain_rate
from benchmarks.hooks import TRIVIAL
from benchmarks.stack import Stack
from benchmarks.sync_hops import measure_hops, print_hops

__all__ = ["profile_scenario"]


def profile_scenario(quick: bool) -> dict:
    events, rounds, sync_requests = (1000, 1, 100) if quick else (3000, 3, 300)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            # No worker runs during the intake phase: past maxQueued it would answer 429.
            stack.api.put_hook("profile-async", script=TRIVIAL, limits={"maxQueued": 1_000_000})
            stack.api.put_hook(
                "profile-sync",
                mode="sync",
                script=TRIVIAL,
                debugHeaders=True,  # answers name their job
            )
            drain_rate(stack, "profile-async", b"{}", 300)  # warm-up: isolates, pools
            client = stack.redis.client()
            measure_hops(stack.web.url, client, "profile-sync", 30)  # warm-up
            hops = measure_hops(stack.web.url, client, "profile-sync", sync_requests)
            cpu = measure_cpu(stack, "profile-async", events, rounds)
        finally:
            stack.close()
    print_cpu(cpu)
    print_hops(hops)
    return {"scenario": "profile", "async_cpu": cpu, "sync_hops": hops}
