"""``scripts/bench tracing``: what OpenTelemetry traces cost (issue 26).

Three stacks in turn, each redis-server + one worker node (2 children) +
gunicorn (2 workers): tracing off, tracing on with every event sampled and
exported over OTLP/HTTP to a local collector (a process of its own that
decodes every export), and off again (the two "off" runs give the noise).
Each measures async throughput (trivial script, events/s from the first
request until the last job ended) and a sync hook's latency at 100 req/s.

Targets: on, async at most 15% lower than off and sync p50 at most 0.5 ms
more; off, within noise of the build without tracing (off costs one
attribute test per helper, so the off-vs-off spread is the figure).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks import loadgen
from benchmarks.cpu_budget import redis_cpu_s, tree_cpu_s
from benchmarks.drain import drain_rate
from benchmarks.hooks import TRIVIAL
from benchmarks.stack import Stack
from stackkit import free_port, stop_process
from stackkit.processes import ROOT, answers, wait_until

__all__ = ["tracing_scenario"]

TARGET_ON_DROP_PCT = 15.0
TARGET_P50_DELTA_MS = 0.5
TARGET_OFF_DROP_PCT = 2.0
# After a drain, before reading CPU: the span processors' schedule (5 s by
# default) has exported what was left, and the stats buffers have written.
SETTLE_S = 6.0


class _Stack(Stack):
    """The benchmarks' usual stack, with the OTEL_* variables given."""

    def __init__(self, workdir: Path, otel: dict[str, str]) -> None:
        super().__init__(workdir, extra_env=otel)

    def cpu_s(self) -> float:
        """CPU seconds of gunicorn's tree, the worker node's tree and Redis."""
        web = tree_cpu_s(self.web.proc.pid)[1]
        worker = tree_cpu_s(self.worker.proc.pid)[1]
        return web + worker + redis_cpu_s(self.redis.client())


def _measure(workdir: Path, otel: dict[str, str], events: int, seconds: int) -> dict:
    stack = _Stack(workdir, otel)
    try:
        stack.api.put_hook("trivial", script=TRIVIAL)
        stack.api.put_hook("bench-sync", mode="sync", script=TRIVIAL, limits={"maxConcurrent": 100})
        drain_rate(stack, "trivial", b"{}", 500)  # warm-up: isolates, connections

        def make(_: int) -> tuple[str, str, bytes, dict[str, str]]:
            return "POST", "/h/bench-sync", b'{"n":1}', {"Content-Type": "application/json"}

        time.sleep(SETTLE_S)
        cpu_before = stack.cpu_s()
        rate = drain_rate(stack, "trivial", b"{}", events)
        time.sleep(SETTLE_S)  # the last spans exported; the same wait with tracing off
        cpu_ms = (stack.cpu_s() - cpu_before) * 1000 / events
        loadgen.fixed_rate(stack.web.url, make, rate=50, duration_s=2)  # warm-up
        sync = loadgen.fixed_rate(stack.web.url, make, rate=100, duration_s=seconds).summary()
    finally:
        stack.close()
    return {"async_per_s": round(rate, 1), "async_cpu_ms_per_event": round(cpu_ms, 3), "sync": sync}


def _collector() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "stackkit.otlp", str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(url + "/stats"), timeout_s=20, what="the OTLP collector")
    return proc, url


def _spans(url: str) -> int:
    with urllib.request.urlopen(url + "/stats", timeout=5) as answer:  # noqa: S310 - loopback
        return int(json.load(answer)["spans"])


def tracing_scenario(quick: bool) -> dict:
    events, seconds = (2000, 5) if quick else (10000, 20)
    collector, url = _collector()
    on_env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": url,
        "OTEL_TRACES_SAMPLER": "always_on",  # every event sampled and exported
    }
    try:
        with tempfile.TemporaryDirectory() as tmp:
            first_off = _measure(Path(tmp) / "off1", {}, events, seconds)
            on = _measure(Path(tmp) / "on", on_env, events, seconds)
            second_off = _measure(Path(tmp) / "off2", {}, events, seconds)
        spans = _spans(url)
    finally:
        stop_process(collector)
    offs = [first_off["async_per_s"], second_off["async_per_s"]]
    off_rate = sum(offs) / 2
    noise_pct = abs(offs[0] - offs[1]) / off_rate * 100
    on_drop_pct = (off_rate - on["async_per_s"]) / off_rate * 100
    off_cpu = (first_off["async_cpu_ms_per_event"] + second_off["async_cpu_ms_per_event"]) / 2
    on_cpu_pct = (on["async_cpu_ms_per_event"] - off_cpu) / off_cpu * 100
    off_p50 = (first_off["sync"]["p50_ms"] + second_off["sync"]["p50_ms"]) / 2
    p50_delta = on["sync"]["p50_ms"] - off_p50
    print(f"\ntracing ({events} async events, sync at 100 req/s for {seconds} s)")
    print(f"  {'':<18}{'async ev/s':>11}{'CPU ms/event':>14}{'sync p50 ms':>13}{'sync p99 ms':>13}")
    for name, run in (("off", first_off), ("on, all sampled", on), ("off again", second_off)):
        sync, cpu = run["sync"], run["async_cpu_ms_per_event"]
        print(f"  {name:<18}{run['async_per_s']:>11.1f}{cpu:>14.3f}"
              f"{sync['p50_ms']:>13.2f}{sync['p99_ms']:>13.2f}")  # fmt: skip
    load = os.getloadavg()[0]
    print(f"  load average meanwhile: {load:.1f} on {os.cpu_count()} CPUs (others' work skews it)")
    print(f"  spans the collector received: {spans}")
    print(f"  off vs off (noise): {noise_pct:.1f}%   target off: <= {TARGET_OFF_DROP_PCT}% lower")
    met_on = on_drop_pct <= TARGET_ON_DROP_PCT
    met_p50 = p50_delta <= TARGET_P50_DELTA_MS
    print(f"  on vs off async: {on_drop_pct:+.1f}% lower (target <= {TARGET_ON_DROP_PCT}%) -> "
          f"{'met' if met_on else 'NOT met'}")  # fmt: skip
    cpu_bound_drop = on_cpu_pct / (100 + on_cpu_pct) * 100
    print(f"  on vs off CPU per async event (web + worker + Redis): {on_cpu_pct:+.1f}%, "
          f"so {cpu_bound_drop:.1f}% fewer events/s when CPU is the limit")  # fmt: skip
    print(f"  on vs off sync p50: {p50_delta:+.2f} ms (target <= {TARGET_P50_DELTA_MS} ms) -> "
          f"{'met' if met_p50 else 'NOT met'}")  # fmt: skip
    return {
        "scenario": "tracing",
        "events": events,
        "sync_rate": 100,
        "sync_duration_s": seconds,
        "off": first_off,
        "on": on,
        "off_again": second_off,
        "spans_received": spans,
        "off_noise_pct": round(noise_pct, 2),
        "on_async_drop_pct": round(on_drop_pct, 2),
        "on_cpu_per_event_more_pct": round(on_cpu_pct, 2),
        "on_cpu_bound_drop_pct": round(cpu_bound_drop, 2),
        "load_average": round(load, 2),
        "on_sync_p50_delta_ms": round(p50_delta, 3),
        "targets": {
            "on_async_drop_pct": TARGET_ON_DROP_PCT,
            "on_sync_p50_delta_ms": TARGET_P50_DELTA_MS,
            "off_async_drop_pct": TARGET_OFF_DROP_PCT,
        },
        "targets_met": {"on_async": met_on, "on_sync_p50": met_p50},
    }
