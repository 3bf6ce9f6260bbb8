"""``scripts/bench console``: the console's speed. Its pages and the API
calls they make, with 100 hooks and 100,000 retained jobs (target: under
100 ms), and async throughput with the stats buckets on and off (target: the
stats cost at most 3%)."""

from __future__ import annotations

import random
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from benchmarks.cpu_budget import redis_cpu_s
from benchmarks.drain import drain_rate
from benchmarks.hooks import TRIVIAL
from benchmarks.stack import Stack
from stackkit import (
    BIN,
    ROOT,
    Api,
    RedisServer,
    Web,
    answers,
    free_port,
    hooklet_env,
    stop_process,
    wait_until,
)
from workers.store.jobs.records import EventRequest, FailureReason, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import JobStore
from workers.store.stats import buckets as stats
from workers.store.stats.buffer import StatsBuffer

__all__ = ["console_scenario"]

HOOKS = 100
SCRIPT = TRIVIAL


def _fill(redis: RedisServer, api: Any, jobs: int) -> None:
    """100 hooks and ``jobs`` finished jobs (10% failed) spread over the
    hooks, with stats buckets spread over the last 24 hours."""
    for n in range(HOOKS):
        api.put_hook(f"c{n:03d}", script=SCRIPT, requestsToTrack=30)
    store = JobStore(redis.client(), retention_s=7 * 86400)
    buffer = StatsBuffer(redis.client(), flush_s=3600)  # flushed every 1000 jobs
    event = EventRequest("POST", "/", "", {}, {"content-type": "application/json"}, "", b"{}")
    rng = random.Random(7)
    now = time.time()
    for i in range(jobs):
        hook = f"c{i % HOOKS:03d}"
        job_id = new_job_id()
        ts = now - rng.random() * 86400
        parked = f"bench:parked:{hook}"
        store.create(job_id, hook, 1, event, 30, (parked, b"{}"))
        buffer.add(stats.event_write(hook, "accepted", parked, ts=ts))
        store.start(job_id, "bench/1", 1000)
        failed = i % 10 == 0
        duration_ms = rng.lognormvariate(0.5, 0.8)
        outcome = (
            Outcome(JobStatus.FAILED, duration_ms, [], reason=FailureReason.ERROR, error="Error: x")
            if failed
            else Outcome(JobStatus.SUCCEEDED, duration_ms, [], result={"statusCode": 200})
        )
        status = outcome.status.value
        reason = outcome.reason.value if outcome.reason else None
        write = stats.job_write(hook, status, reason, duration_ms, ("bench/1", 150 << 20, 24), ts)
        store.finish(job_id, outcome)
        buffer.add(write)
        if i % 1000 == 999:
            buffer.flush()
    buffer.stop()
    for n in range(HOOKS):
        redis.client().delete(f"bench:parked:c{n:03d}")


def _console(env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(workdir / "console.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-c",
            str(ROOT / "config/gunicorn.console.conf.py"),
            "app.console.wsgi:app",
        ],
        cwd=ROOT,
        env={**env, "HOOKLET_CONSOLE_BIND": f"127.0.0.1:{port}", "HOOKLET_CONSOLE_ACCESS_LOG": ""},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: answers(url + "/healthz"), timeout_s=30, what="console")
    return proc, url


def _signed_in(url: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{url}/ui/sign-in", timeout=10).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    http.post(f"{url}/ui/sign-in", data={"token": "test-admin-token", "csrf": csrf}, timeout=10)
    http.headers["X-CSRF-Token"] = re.search(
        r'name="csrf-token" content="([^"]+)"', http.get(f"{url}/ui/hooks", timeout=10).text
    ).group(1)
    return http


def _latency(http: requests.Session, method: str, url: str, body: Any, runs: int) -> dict:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        answer = http.request(method, url, json=body, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (url, answer.status_code, answer.text[:200])
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
        "max_ms": round(times[-1], 1),
    }


CALLS = [
    ("page /ui/hooks", "GET", "/ui/hooks", None),
    ("page /ui/jobs", "GET", "/ui/jobs", None),
    ("hooks: /api/hooks", "GET", "/api/hooks", None),
    ("hooks: /api/stats/hooks (1 h)", "GET", "/api/stats/hooks", None),
    ("jobs: newest 50", "GET", "/api/jobs?limit=50", None),
    ("jobs: dead letters, 24 h", "GET", "/api/jobs?status=failed&since=24h&limit=50", None),
    ("jobs: one hook's failed", "GET", "/api/jobs?hook=c042&status=failed&limit=50", None),
    ("history: /api/hooks/c042/jobs", "GET", "/api/hooks/c042/jobs", None),
    ("charts: fleet, 1 h", "GET", "/api/stats?range=1h", None),
    ("charts: fleet, 24 h", "GET", "/api/stats?range=24h", None),
    ("charts: one hook, 24 h", "GET", "/api/stats?hook=c042&range=24h", None),
    (
        "bulk replay dry run (failed, 24 h)",
        "POST",
        "/api/jobs/replay",
        {"filter": {"status": "failed", "since": "24h"}, "dryRun": True},
    ),
]


def page_latency(quick: bool) -> dict:
    jobs = 100_000
    runs = 10 if quick else 30
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        redis = RedisServer(workdir).start()
        env = hooklet_env(redis.url)
        web = Web(env, workdir).start()
        console, url = None, ""
        try:
            started = time.perf_counter()
            _fill(redis, Api(web.url), jobs)
            fill_s = time.perf_counter() - started
            console, url = _console(env, workdir)
            http = _signed_in(url)
            results = {
                name: _latency(http, method, url + path, body, runs)
                for name, method, path, body in CALLS
            }
            used_mb = redis.client().info("memory")["used_memory"] / 2**20
        finally:
            stop_process(console)
            web.stop()
            redis.stop()
    print(
        f"\nconsole with {HOOKS} hooks and {jobs} retained jobs ({runs} runs each; "
        f"filled in {fill_s:.0f} s; Redis {used_mb:.0f} MB)"
    )
    print(f"  {'call':<38}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, r in results.items():
        print(f"  {name:<38}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['max_ms']:>9}")
    worst = max(r["p95_ms"] for r in results.values())
    print(
        f"  target: every call under 100 ms -> {'met' if worst < 100 else 'NOT met'}"
        f" (worst p95 {worst} ms)"
    )
    return {
        "hooks": HOOKS,
        "jobs": jobs,
        "runs": runs,
        "redis_used_mb": round(used_mb),
        "calls": results,
        "worst_p95_ms": worst,
    }


def stats_overhead(quick: bool) -> dict:
    """Async throughput with stats on and off, alternating, in fresh stacks."""
    events = 2000 if quick else 10000
    rounds = 2 if quick else 3
    rates: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(rounds):
        for setting in ("on", "off"):
            with tempfile.TemporaryDirectory() as tmp:
                stack = Stack(Path(tmp), stats_enabled="true" if setting == "on" else "false")
                try:
                    stack.api.put_hook("trivial", script=SCRIPT)
                    drain_rate(stack, "trivial", b"{}", 500)  # warm-up
                    rates[setting].append(drain_rate(stack, "trivial", b"{}", events))
                finally:
                    stack.close()
    on, off = statistics.mean(rates["on"]), statistics.mean(rates["off"])
    cost = (off - on) / off * 100
    print(f"\nasync throughput, trivial script, {events} events x {rounds} rounds each")
    print(f"  stats on:  {[round(r) for r in rates['on']]} -> mean {on:.0f} events/s")
    print(f"  stats off: {[round(r) for r in rates['off']]} -> mean {off:.0f} events/s")
    print(f"  cost of the stats: {cost:.1f}% (target <= 3%) -> {'met' if cost <= 3 else 'NOT met'}")
    return {
        "events": events,
        "rounds": rounds,
        "on_per_s": [round(r, 1) for r in rates["on"]],
        "off_per_s": [round(r, 1) for r in rates["off"]],
        "cost_percent": round(cost, 1),
    }


def stats_cost_per_event(quick: bool) -> dict:
    """What the stats add to one event (its create and finish, and its share
    of the stats buffer's flush, once per block here), measured directly,
    stats on and off in alternating blocks: client wall time and Redis's own
    CPU. Steadier than end-to-end throughput on a shared machine."""
    blocks, per_block = (4, 500) if quick else (10, 1000)
    event = EventRequest("POST", "/", "", {}, {}, "", b"{}")
    wall: dict[str, list[float]] = {"on": [], "off": []}
    cpu: dict[str, list[float]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp:
        redis = RedisServer(Path(tmp)).start()
        try:
            client = redis.client()
            store = JobStore(client, retention_s=3600)
            buffer = StatsBuffer(client, flush_s=3600)  # flushed at each block's end
            for block in range(blocks * 2):
                setting = "on" if block % 2 == 0 else "off"
                cpu_before, started = redis_cpu_s(client), time.perf_counter()
                for _ in range(per_block):
                    job_id = new_job_id()
                    on = setting == "on"
                    store.create(job_id, "h", 1, event, 30, ("bench:q", b"{}"))
                    if on:
                        buffer.add(stats.event_write("h", "accepted", "bench:q"))
                    store.start(job_id, "bench/1", 1000)
                    outcome = Outcome(JobStatus.SUCCEEDED, 1.2, [], result={"statusCode": 200})
                    write = stats.job_write("h", "succeeded", None, 1.2, ("b/1", 1 << 27, 3))
                    store.finish(job_id, outcome)
                    if on:
                        buffer.add(write)
                    client.rpop("bench:q")
                buffer.flush()
                wall[setting].append((time.perf_counter() - started) / per_block * 1e6)
                cpu[setting].append((redis_cpu_s(client) - cpu_before) / per_block * 1e6)
        finally:
            redis.stop()
    out = {
        k: {
            "on_us": round(statistics.median(v["on"]), 1),
            "off_us": round(statistics.median(v["off"]), 1),
        }
        for k, v in (("client_wall_per_event", wall), ("redis_cpu_per_event", cpu))
    }
    added_cpu = out["redis_cpu_per_event"]["on_us"] - out["redis_cpu_per_event"]["off_us"]
    added_wall = out["client_wall_per_event"]["on_us"] - out["client_wall_per_event"]["off_us"]
    print(
        f"\nstats cost per event (create + start + finish, {blocks} blocks of {per_block} each way)"
    )
    cpu_us, wall_us = out["redis_cpu_per_event"], out["client_wall_per_event"]
    print(f"  Redis CPU:   {cpu_us['off_us']} -> {cpu_us['on_us']} us (+{added_cpu:.1f} us)")
    print(f"  client wall: {wall_us['off_us']} -> {wall_us['on_us']} us (+{added_wall:.1f} us)")
    return {
        **out,
        "added_redis_cpu_us": round(added_cpu, 1),
        "added_client_wall_us": round(added_wall, 1),
    }


def console_scenario(quick: bool) -> dict:
    return {
        "scenario": "console",
        "pages": page_latency(quick),
        "stats_cost_per_event": stats_cost_per_event(quick),
        "stats_overhead": stats_overhead(quick),
    }
