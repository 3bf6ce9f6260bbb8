"""``scripts/bench redis-memory``: bytes of Redis per retained job for three
payloads, where they go (``MEMORY USAGE`` per key type), and how fast the
budget's trimmer frees finished jobs."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks import loadgen
from benchmarks.drain import finished_any
from benchmarks.hooks import ECHO, SUMMARY
from stackkit import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from stackkit.payloads import TRIVIAL_BODY, github_headers, github_push
from workers.settings import Settings
from workers.store import keys
from workers.store.budget import MemoryBudget
from workers.store.jobs.records import EventRequest, JobStatus, Outcome, new_job_id
from workers.store.jobs.store import JobStore

__all__ = ["redis_memory_scenario"]


def _payloads() -> dict[str, bytes]:
    return {
        "trivial": TRIVIAL_BODY,
        "push 3.7 KB": github_push(3_700),
        "push 25 KB": github_push(25_000),
    }


def _usage(client, key: str) -> int:  # noqa: ANN001
    return int(client.memory_usage(key, samples=0) or 0)


def _measure(api: Api, client, hook: str, body: bytes, events: int) -> dict:  # noqa: ANN001
    """Send ``events`` copies (distinct delivery ids) and measure what stays."""
    client.delete(keys.history(hook))
    before_done = finished_any(client, hook)
    used_before = int(client.info("memory")["used_memory"])

    def make(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        return "POST", f"/h/{hook}", body, github_headers(body, seed=i)

    loadgen.fixed_rate(api.base, make, 300, events / 300, 8)
    wait_until(
        lambda: finished_any(client, hook) - before_done >= events,
        timeout_s=600,
        interval_s=0.2,
        what=f"{events} events",
    )
    # The done-list each waiter may block on lives 60 s; it is not retained.
    done = list(client.scan_iter(match=keys.job_done("*"), count=1000))
    for start in range(0, len(done), 500):
        client.delete(*done[start : start + 500])
    used_after = int(client.info("memory")["used_memory"])
    ids = [i.decode() for i in client.lrange(keys.history(hook), 0, -1)]
    sample = ids[: min(50, len(ids))]
    job_bytes = sum(_usage(client, keys.job(i)) for i in sample) / max(1, len(sample))
    history_bytes = _usage(client, keys.history(hook)) / max(1, len(ids))
    index_bytes = _usage(client, keys.finished()) / max(1, client.zcard(keys.finished()))
    fields = {k.decode(): len(v) for k, v in client.hgetall(keys.job(sample[0])).items()}
    return {
        "body_bytes": len(body),
        "events": events,
        "per_job_used_memory_delta": round((used_after - used_before) / events),
        "per_job_keys": round(job_bytes + history_bytes + index_bytes),
        "job_hash": round(job_bytes),
        "history_entry": round(history_bytes, 1),
        "finished_index_entry": round(index_bytes, 1),
        "job_encoding": client.object("encoding", keys.job(sample[0])).decode(),
        "field_bytes": fields,
    }


def redis_memory_scenario(quick: bool) -> dict:
    events = 300 if quick else 1000
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = RedisServer(workdir).start()
        env = hooklet_env(server.url)
        worker = Worker(env, workdir, concurrency=2).start()
        web = Web({**env, "HOOKLET_WEB_WORKERS": "2"}, workdir).start()
        try:
            api, client = Api(web.url), server.client()
            for name, script in (("echo", ECHO), ("summary", SUMMARY), ("warm-up", ECHO)):
                api.put_hook(name, script=script, requestsToTrack=events)
            # One-time allocations (scripts, pools, counters) out of the figures.
            _measure(api, client, "warm-up", github_push(3_700), 200)
            for label, body in _payloads().items():
                for hook in ("echo", "summary") if label != "trivial" else ("echo",):
                    results[f"{label}, {hook}"] = _measure(api, client, hook, body, events)
        finally:
            web.stop()
            worker.stop()
            server.stop()
        trim = _trimming_rate(RedisServer(workdir, maxmemory="512mb"), 2_000 if quick else 20_000)
    print(f"\nRedis bytes per retained job ({events} events each)")
    print(f"  {'payload, hook':<26}{'body':>8}{'per job':>10}{'used_memory Δ':>15}  encoding")
    for name, r in results.items():
        print(
            f"  {name:<26}{r['body_bytes']:>8}{r['per_job_keys']:>10}"
            f"{r['per_job_used_memory_delta']:>15}  {r['job_encoding']}"
        )
    print(
        f"  trimming: {trim['jobs_per_s']:.0f} finished jobs/s "
        f"({trim['jobs']} jobs of the 3.7 KB event, batches of {trim['batch']})"
    )
    return {
        "scenario": "redis-memory",
        "events": events,
        "bytes_per_job": results,
        "trimming": trim,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _trimming_rate(server: RedisServer, jobs: int) -> dict:
    """Finished jobs deleted per second by the budget's Lua step."""
    server.start()
    try:
        client = server.client()
        settings = Settings()
        store, budget = JobStore(client, 600), MemoryBudget(client, settings)
        body = github_push(3_700)
        event = EventRequest("POST", "/", "", {}, github_headers(body), "127.0.0.1", body)
        result = {"statusCode": 200, "headers": {}, "body": b'{"ok":true}'}
        for _ in range(jobs):
            job_id = new_job_id()
            store.create(job_id, "trim", 1, event, 1000, ("bench:q", b"m"))
            store.start(job_id, "bench/1", 1000)
            store.finish(job_id, Outcome(JobStatus.SUCCEEDED, 1.0, [], result=result))
        started = time.perf_counter()
        trimmed = 0
        while budget.finished_jobs():
            trimmed += budget.trim()
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    return {
        "jobs": trimmed,
        "batch": settings.redis_trim_batch,
        "seconds": round(elapsed, 3),
        "jobs_per_s": round(trimmed / elapsed),
    }
