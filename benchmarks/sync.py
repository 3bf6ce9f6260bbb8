"""``scripts/bench sync``: a trivial sync hook at 100 req/s (open loop) and
at saturation with 16 connections."""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks import loadgen
from benchmarks.hooks import TRIVIAL
from benchmarks.report import table
from benchmarks.stack import Stack

__all__ = ["sync_scenario"]


def sync_scenario(quick: bool) -> dict:
    rate, duration = 100, (5 if quick else 20)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.api.put_hook(
                "bench-sync",
                mode="sync",
                script=TRIVIAL,
                limits={"maxConcurrent": 100},
                debugHeaders=True,  # Server-Timing: the script's share of the latency
            )

            def make(_: int) -> tuple[str, str, bytes, dict[str, str]]:
                return "POST", "/h/bench-sync", b'{"n":1}', {"Content-Type": "application/json"}

            loadgen.fixed_rate(stack.web.url, make, rate=50, duration_s=2)  # warm-up
            fixed = loadgen.fixed_rate(stack.web.url, make, rate=rate, duration_s=duration)
            saturated = loadgen.saturate(
                stack.web.url, make, connections=16, duration_s=5 if quick else 10
            )
        finally:
            stack.close()
    rows = [
        (f"sync @ {rate} req/s", fixed.summary()),
        ("sync saturation (16 conn)", saturated.summary()),
    ]
    table("sync hook, trivial script, loopback", rows)
    target = {"p50_ms": 5, "p99_ms": 25}
    fixed_summary = rows[0][1]
    met = (
        fixed_summary["p50_ms"] <= target["p50_ms"] and fixed_summary["p99_ms"] <= target["p99_ms"]
    )
    print(f"target at {rate} req/s: p50 <= 5 ms and p99 <= 25 ms -> {'met' if met else 'NOT met'}")
    return {
        "scenario": "sync",
        "rate": rate,
        "duration_s": duration,
        "target": target,
        "target_met": met,
        "fixed_rate": fixed_summary,
        "saturation": rows[1][1],
    }
