"""``scripts/bench engine``: V8 calls per second in 2 processes: a fresh
mini-racer isolate per call, a warm one, and hooklet's whole sandbox run
(context, script, result, logs) on a warm isolate."""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

__all__ = ["engine_scenario"]


def _engine_worker(mode: str, seconds: float, queue: Any) -> None:
    from py_mini_racer import MiniRacer

    from workers.sandbox.contract import build_context
    from workers.sandbox.isolate import Isolate, RunLimits, run_script
    from workers.store.jobs.records import EventRequest

    count, stop = 0, time.perf_counter() + seconds
    if mode == "warm":
        mr = MiniRacer()
        while time.perf_counter() < stop:
            mr.eval("({ body: 'ok' })")
            count += 1
    elif mode == "fresh":
        while time.perf_counter() < stop:
            mr = MiniRacer()
            mr.eval("({ body: 'ok' })")
            mr.close()
            count += 1
    else:  # hooklet's sandbox, warm isolate, full contract
        ctx = build_context(EventRequest("POST", "/", "", {}, {}, "", b'{"a":1}'), {})
        isolate, limits = Isolate(10), RunLimits(1000, 10)
        while time.perf_counter() < stop:
            run_script(isolate, "(async () => ({ body: 'ok' }))();", ctx, limits)
            count += 1
    queue.put(count)


def engine_scenario(quick: bool) -> dict:
    seconds, procs = (2 if quick else 5), 2
    spawn = mp.get_context("spawn")
    results = {}
    for mode in ("fresh", "warm", "hooklet-sandbox"):
        queue = spawn.Queue()
        workers = [
            spawn.Process(target=_engine_worker, args=(mode, seconds, queue)) for _ in range(procs)
        ]
        for w in workers:
            w.start()
        total = sum(queue.get() for _ in workers)
        for w in workers:
            w.join()
        results[mode] = round(total / seconds, 1)
    print(f"\nengine floor ({procs} processes): calls/s")
    for mode, rate in results.items():
        print(f"  {mode:<18} {rate:>10}")
    return {"scenario": "engine", "processes": procs, "calls_per_s": results}
