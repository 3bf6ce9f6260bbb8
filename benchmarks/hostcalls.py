"""The cost of a script's host calls (``scripts/bench hostcalls``): one
``fetch`` to a local upstream and one KV get + set, beside a trivial script
measured in the same run (the floor).

Two views: the engine alone (``run_script`` on a warm isolate in this
process, with real Redis and a real upstream: the added cost per call), and
sync hooks through the whole stack at a fixed rate.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks import loadgen
from benchmarks.report import table
from benchmarks.stack import Stack
from stackkit.upstream import Upstream

SCRIPTS = {
    "trivial": "(async () => ({ body: 'ok' }))();",
    "fetch": "(async () => ({ body: await (await fetch('{U}/x')).text() }))();",
    "kv get+set": "(async () => { const v = await secutils.kv.get('n'); "
    "await secutils.kv.set('n', 'QQ'); return { body: String(v) }; })();",
}


def _engine(redis_url: str, upstream: str, seconds: float) -> dict[str, float]:
    import redis

    from workers.sandbox.contract import build_context
    from workers.sandbox.host_calls import HostCalls
    from workers.sandbox.isolate import Isolate, RunLimits, run_script
    from workers.settings import Settings
    from workers.store.jobs.records import EventRequest

    client = redis.Redis.from_url(redis_url)
    settings = Settings(egress_allowlist=("127.0.0.1",))
    ctx = build_context(EventRequest("POST", "/", None, {}, {}, "", b'{"a":1}'), {})
    out = {}
    for name, script in SCRIPTS.items():
        script = script.replace("{U}", upstream)
        isolate, limits = Isolate(10), RunLimits(5000, 10)
        for _ in range(50):  # warm-up
            run_script(isolate, script, ctx, limits, HostCalls(settings, client, "bench"))
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            result = run_script(isolate, script, ctx, limits, HostCalls(settings, client, "bench"))
            assert result.ok, result.error
            count += 1
        out[name] = round((time.perf_counter() - started) / count * 1e6, 1)
        isolate.close()
    return out


def scenario(quick: bool) -> dict:
    rate, duration = 50, (4 if quick else 15)
    upstream = Upstream()
    rows, engine = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp), egress_allowlist="127.0.0.1")
        try:
            engine = _engine(stack.redis.url, upstream.url, 1.0 if quick else 3.0)
            for name, script in SCRIPTS.items():
                hook = "bench-" + name.replace(" ", "-").replace("+", "")
                stack.api.put_hook(hook, mode="sync", script=script.replace("{U}", upstream.url),
                                   limits={"maxConcurrent": 100})  # fmt: skip

                def make(_: int, hook: str = hook) -> tuple[str, str, bytes, dict[str, str]]:
                    return "POST", f"/h/{hook}", b'{"n":1}', {"Content-Type": "application/json"}

                loadgen.fixed_rate(stack.web.url, make, rate=rate, duration_s=1)  # warm-up
                run = loadgen.fixed_rate(stack.web.url, make, rate=rate, duration_s=duration)
                rows.append((f"sync {name} @ {rate}/s", run.summary()))
        finally:
            stack.close()
            upstream.close()
    print("\nengine, warm isolate, one run (us):")
    for name, us in engine.items():
        print(f"  {name:<12} {us:>10}   (+{round(us - engine['trivial'], 1)} over trivial)")
    table("sync hooks with host calls, loopback", rows)
    return {"scenario": "hostcalls", "engine_us_per_run": engine,
            "sync": {name: summary for name, summary in rows}}  # fmt: skip
