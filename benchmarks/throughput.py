"""``scripts/bench async``: async events/s end to end (trivial script, a
5 KB JSON transform, fresh isolates), beside the Celery no-op floor and the
naive build measured in the same run."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.drain import drain_rate
from benchmarks.floors import celery_floor, naive_rate
from benchmarks.hooks import REALISTIC, TRIVIAL, realistic_body
from benchmarks.stack import Stack

__all__ = ["async_scenario"]

ISSUE_NAIVE = 140.0  # the issue's figure for a naive Flask + Celery + fresh-isolate build


def async_scenario(quick: bool) -> dict:
    events = 2000 if quick else 10000
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            floor = celery_floor(stack.redis, events)
            naive = naive_rate(stack.redis, TRIVIAL, events // 4)
            stack.api.put_hook("trivial", script=TRIVIAL)
            stack.api.put_hook("realistic", script=REALISTIC)
            stack.api.put_hook("trivial-fresh", script=TRIVIAL, isolation="fresh")
            body = realistic_body()
            drain_rate(stack, "trivial", b"{}", 500)  # warm-up
            rates = {
                "trivial": drain_rate(stack, "trivial", b"{}", events),
                "realistic (5 KB JSON)": drain_rate(stack, "realistic", body, events),
                "trivial, fresh isolates": drain_rate(stack, "trivial-fresh", b"{}", events),
            }
        finally:
            stack.close()
    print(f"\nasync end to end ({events} events each), events/s")
    print(f"  {'celery no-op floor':<26} {floor:>10.1f}")
    print(f"  {'naive build (trivial)':<26} {naive:>10.1f}   (issue: ~{ISSUE_NAIVE:.0f})")
    for name, rate in rates.items():
        print(f"  {name:<26} {rate:>10.1f}   {rate / floor:.2f}x floor   {rate / naive:.2f}x naive")
    return {
        "scenario": "async",
        "events": events,
        "celery_noop_floor_per_s": round(floor, 1),
        "naive_per_s": round(naive, 1),
        "naive_issue_reference_per_s": ISSUE_NAIVE,
        "hooklet_per_s": {k: round(v, 1) for k, v in rates.items()},
        "ratio_to_floor": {k: round(v / floor, 2) for k, v in rates.items()},
        "ratio_to_naive": {k: round(v / naive, 2) for k, v in rates.items()},
    }
