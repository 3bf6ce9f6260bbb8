"""Hooklet benchmarks. Each scenario starts its own stack (redis-server,
Celery worker, gunicorn), prints a table and writes JSON to bench-results/.

    scripts/bench                 # engine, celery, async, intake, sync (not memory)
    scripts/bench engine async intake sync memory   # 'async' also measures the Celery floor
    scripts/bench sync --quick    # shorter runs, for a smoke check
    scripts/bench redis-memory    # Redis bytes per retained job, trimming rate
    scripts/bench async --ha      # also: Sentinel + replica + WAIT against one Redis
    scripts/bench isolation       # no hook stalls another (scripts/bench_isolation.py)
    scripts/bench hostcalls       # the cost of one fetch and one KV get+set
    scripts/bench console         # console pages with 100 hooks / 100,000 jobs; stats on vs off

Every figure is printed beside a floor measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import bench_isolation  # noqa: E402
import bench_redis  # noqa: E402
import loadgen  # noqa: E402

from tests.support.stack import (  # noqa: E402
    Api,
    RedisServer,
    Web,
    Worker,
    free_port,
    hooklet_env,
    wait_until,
)
from workers.store import keys, metrics  # noqa: E402

RESULTS = ROOT / "bench-results"
TRIVIAL = "(async () => ({ body: 'ok' }))();"
ISSUE_NAIVE = 140.0  # the issue's figure for a naive Flask + Celery + fresh-isolate build


class Stack:
    """redis-server + one worker node (2 children) + gunicorn, all real."""

    def __init__(self, workdir: Path, **settings: str | int) -> None:
        self.redis = RedisServer(workdir).start()
        env = hooklet_env(self.redis.url, **settings)
        self.worker = Worker(env, workdir, concurrency=2).start()
        self.web = Web({**env, "HOOKLET_WEB_WORKERS": "2"}, workdir).start()
        self.api = Api(self.web.url)

    def close(self) -> None:
        self.web.stop()
        self.worker.stop()
        self.redis.stop()


def table(title: str, rows: list[tuple[str, dict]]) -> None:
    columns = [
        "requests",
        "throughput_rps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "outside_v8_p50_ms",
        "script_p50_ms",
        "non_2xx",
        "errors",
    ]
    print(f"\n{title}")
    print(f"{'scenario':<28}" + "".join(f"{c:>18}" for c in columns))
    for name, summary in rows:
        print(f"{name:<28}" + "".join(f"{str(summary.get(c, '')):>18}" for c in columns))


def write(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **data,
    }
    path.write_text(json.dumps(data, indent=2))
    print(f"\nwrote {path.relative_to(ROOT)}")
    return path


def sync_scenario(quick: bool) -> dict:
    rate, duration = 100, (5 if quick else 20)
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp))
        try:
            stack.api.put_hook(
                "bench-sync",
                mode="sync",
                script="(async () => ({ body: 'ok' }))();",
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


def _engine_worker(mode: str, seconds: float, queue) -> None:  # noqa: ANN001
    from py_mini_racer import MiniRacer

    from workers.sandbox.contract import build_context
    from workers.sandbox.isolate import Isolate, RunLimits, run_script
    from workers.store.job_records import EventRequest

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
    import multiprocessing as mp

    seconds, procs = (2 if quick else 5), 2
    results = {}
    for mode in ("fresh", "warm", "hooklet-sandbox"):
        queue = mp.get_context("spawn").Queue()
        workers = [
            mp.get_context("spawn").Process(target=_engine_worker, args=(mode, seconds, queue))
            for _ in range(procs)
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


def _floor_env(redis_url: str) -> dict[str, str]:
    return {**hooklet_env(redis_url), "PYTHONPATH": str(ROOT / "scripts")}


def _floor_worker(app: str, queue: str, env: dict[str, str]) -> subprocess.Popen:
    """A 2-child prefork Celery worker for an app of scripts/bench_floor_app.py."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            f"bench_floor_app:{app}",
            "worker",
            "-Q",
            queue,
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _floor_web(app: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """gunicorn, with hooklet's settings, serving an app of bench_floor_app.py;
    returns the process and its URL once it answers."""
    port = free_port()
    web = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            str(ROOT / "config/gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            f"bench_floor_app:{app}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _up(url), timeout_s=30, what=f"floor app {app}")
    return web, url


def _stop_all(*procs: subprocess.Popen) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(30)


def celery_floor(stack_redis: RedisServer, tasks: int) -> float:
    """No-op tasks/s through the same Redis, with a 2-child prefork worker."""
    worker = _floor_worker("celery", "floor", _floor_env(stack_redis.url))
    try:
        sys.path.insert(0, str(ROOT / "scripts"))
        os.environ["HOOKLET_REDIS_URL"] = stack_redis.url
        import bench_floor_app

        client = stack_redis.client()
        client.delete("floor:done")
        for _ in range(20):  # warm-up, and wait for the worker
            bench_floor_app.noop.apply_async()
        wait_until(lambda: int(client.get("floor:done") or 0) >= 20, timeout_s=60, what="floor")
        client.delete("floor:done")
        started = time.perf_counter()
        for _ in range(tasks):
            bench_floor_app.noop.apply_async()
        wait_until(
            lambda: int(client.get("floor:done") or 0) >= tasks,
            timeout_s=600,
            interval_s=0.02,
            what="floor tasks",
        )
        return tasks / (time.perf_counter() - started)
    finally:
        _stop_all(worker)


def naive_rate(stack_redis: RedisServer, script: str, events: int) -> float:
    """Events/s of the naive build (scripts/bench_floor_app.py), measured like
    hooklet's: HTTP requests from the first until the last run is done."""
    env = _floor_env(stack_redis.url)
    worker = _floor_worker("naive_celery", "naive", env)
    web, url = _floor_web("naive_web", env)
    client = stack_redis.client()
    client.set("naive:script:n", script)

    def done() -> int:
        return int(client.get("naive:done:n") or 0)

    try:
        _timed_drain(url, "/h/n", b"{}", 200, done)  # warm-up, and wait for the worker
        return _timed_drain(url, "/h/n", b"{}", events, done)
    finally:
        _stop_all(web, worker)


def _timed_drain(url: str, path: str, body: bytes, count: int, done: Callable[[], int]) -> float:
    """Events/s from the first of ``count`` requests until ``done()`` has
    grown by ``count``; requests go out as fast as 8 connections allow."""

    def make(_: int) -> tuple[str, str, bytes, dict[str, str]]:
        return "POST", path, body, {"Content-Type": "application/json"}

    before = done()
    started = time.perf_counter()
    sender = threading.Thread(target=loadgen.fixed_rate, args=(url, make, 5000, count / 5000, 8))
    sender.start()
    wait_until(
        lambda: done() - before >= count,
        timeout_s=900,
        interval_s=0.05,
        what=f"{count} events to {path}",
    )
    elapsed = time.perf_counter() - started
    sender.join()
    return count / elapsed


REALISTIC = """(async () => {
  const order = JSON.parse(new TextDecoder().decode(new Uint8Array(context.body)));
  const lines = order.items.filter((i) => i.qty > 0).map((i) => ({
    sku: i.sku.toUpperCase(), total: Math.round(i.price * i.qty * 100) / 100 }));
  return { statusCode: 200, body: { id: order.id, customer: order.customer.name,
    lines, total: lines.reduce((s, l) => s + l.total, 0) } };
})();"""


def _realistic_body() -> bytes:
    items = [
        {"sku": f"sku-{i:04d}", "price": 9.99 + i, "qty": i % 4, "note": "x" * 40}
        for i in range(40)
    ]
    body = json.dumps(
        {"id": "o-1", "customer": {"name": "Ada", "email": "ada@example.com"}, "items": items}
    ).encode()
    return body[:5120] if len(body) > 5120 else body


def _finished(client, hook: str, status: str = "succeeded") -> int:  # noqa: ANN001
    raw = client.hget(keys.metrics(), metrics.field("jobs_finished", hook=hook, status=status))
    return int(raw or 0)


def drain_rate(stack: Stack, hook: str, body: bytes, events: int) -> float:
    """Events/s from the first request until the last job succeeded."""
    client = stack.redis.client()
    return _timed_drain(stack.web.url, f"/h/{hook}", body, events, lambda: _finished(client, hook))


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
            body = _realistic_body()
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


def intake_scenario(quick: bool) -> dict:
    seconds, rounds, connections = (2 if quick else 5), 3, 8
    body = _realistic_body()

    def make_for(hook: str):  # noqa: ANN202
        return lambda _: ("POST", f"/h/{hook}", body, {"Content-Type": "application/json"})

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = RedisServer(workdir).start()
        env = hooklet_env(server.url)
        try:
            floor, floor_url = _floor_web("intake", _floor_env(server.url))
            web = Web(env, workdir).start()  # no worker: the intake alone
            # No worker runs: past limits.maxQueued the intake would answer 429.
            Api(web.url).put_hook("intake", script="null", limits={"maxQueued": 1_000_000})
            loadgen.saturate(floor_url, make_for("x"), connections, 2)  # warm-up
            loadgen.saturate(web.url, make_for("intake"), connections, 2)
            # Alternate short rounds, so a slow spell of this shared machine
            # falls on both sides rather than on one.
            floor_runs, hooklet_runs = [], []
            for _ in range(rounds):
                floor_runs.append(loadgen.saturate(floor_url, make_for("x"), connections, seconds))
                hooklet_runs.append(
                    loadgen.saturate(web.url, make_for("intake"), connections, seconds)
                )
            floor_run = loadgen.merge(floor_runs).summary()
            hooklet_run = loadgen.merge(hooklet_runs).summary()
            web.stop()
            _stop_all(floor)
        finally:
            server.stop()
    table(
        f"intake alone, {connections} connections, 5 KB JSON body",
        [("bare Flask + LPUSH floor", floor_run), ("hooklet async intake", hooklet_run)],
    )
    ratio = hooklet_run["throughput_rps"] / floor_run["throughput_rps"]
    print(
        f"hooklet / floor throughput: {ratio:.2f} (target >= 0.70); "
        f"hooklet p99 {hooklet_run['p99_ms']} ms (target < 20 ms)"
    )
    return {
        "scenario": "intake",
        "connections": connections,
        "rounds": rounds,
        "seconds_per_round": seconds,
        "floor": floor_run,
        "hooklet": hooklet_run,
        "ratio": round(ratio, 2),
    }


def _up(url: str) -> bool:
    try:
        import requests

        return requests.post(url + "/h/up", data=b"x", timeout=1).status_code == 202
    except Exception:  # noqa: BLE001
        return False


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
                    _finished(client, f"m{n}", status)
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
            failed = sum(_finished(client, f"m{n}", "failed") for n in range(hooks))
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


def console_scenario(quick: bool) -> dict:
    from bench_console import console_scenario as run

    return run(quick, drain_rate, Stack)


SCENARIOS: dict[str, Callable[[bool], dict]] = {
    "engine": engine_scenario,
    "async": async_scenario,
    "intake": intake_scenario,
    "sync": sync_scenario,
    "memory": memory_scenario,
    "redis-memory": bench_redis.redis_memory_scenario,
    "isolation": lambda quick: bench_isolation.isolation_scenario(quick, table),
    # One fetch to a local upstream and one KV get + set (scripts/bench_hostcalls.py).
    "hostcalls": lambda quick: __import__("bench_hostcalls").scenario(quick),
    "console": console_scenario,
}
DEFAULT = ["engine", "async", "intake", "sync"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("scenarios", nargs="*", choices=[*SCENARIOS, []])
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke check)")
    parser.add_argument(
        "--ha", action="store_true", help="async: also Sentinel + replica + WAIT vs one Redis"
    )
    args = parser.parse_args()
    for name in args.scenarios or DEFAULT:
        result = SCENARIOS[name](args.quick)
        if args.ha and name == "async":
            result["sentinel"] = bench_redis.async_ha(args.quick)
        write(name, result)


if __name__ == "__main__":
    main()
