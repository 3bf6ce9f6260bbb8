"""Redis benchmarks for hooklet (``scripts/bench redis-memory``): bytes of
Redis per retained job for three payloads, where they go (``MEMORY USAGE``
per key type), and how fast the budget's trimmer frees finished jobs."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import loadgen  # noqa: E402

from tests.support.payloads import TRIVIAL_BODY, github_headers, github_push  # noqa: E402
from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until  # noqa: E402
from workers.store import keys, metrics  # noqa: E402

__all__ = ["redis_memory_scenario"]

ECHO = "(async () => ({ headers: {'content-type': 'application/json'}, body: context.body }))();"
# A transform: the result differs from the request (what most hooks return).
SUMMARY = """(async () => {
  const push = JSON.parse(String.fromCharCode(...context.body));
  return { body: { ref: push.ref, after: push.after, commits: push.commits.length } };
})();"""


def _payloads() -> dict[str, bytes]:
    return {
        "trivial": TRIVIAL_BODY,
        "push 3.7 KB": github_push(3_700),
        "push 25 KB": github_push(25_000),
    }


def _finished(client, hook: str) -> int:  # noqa: ANN001
    return sum(
        int(client.hget(keys.metrics(), metrics.field("jobs_finished", hook=hook, status=s)) or 0)
        for s in ("succeeded", "failed")
    )


def _usage(client, key: str) -> int:  # noqa: ANN001
    return int(client.memory_usage(key, samples=0) or 0)


def _measure(api: Api, client, hook: str, body: bytes, events: int) -> dict:  # noqa: ANN001
    """Send ``events`` copies (distinct delivery ids) and measure what stays."""
    client.delete(keys.history(hook))
    before_done = _finished(client, hook)
    used_before = int(client.info("memory")["used_memory"])

    def make(i: int) -> tuple[str, str, bytes, dict[str, str]]:
        return "POST", f"/h/{hook}", body, github_headers(body, seed=i)

    loadgen.fixed_rate(api.base, make, 300, events / 300, 8)
    wait_until(
        lambda: _finished(client, hook) - before_done >= events,
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
    index_bytes = 0.0
    finished_key = getattr(keys, "finished", None)
    if finished_key is not None:
        index_bytes = _usage(client, finished_key()) / max(1, client.zcard(finished_key()))
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
            for name, script in (("echo", ECHO), ("summary", SUMMARY)):
                api.put_hook(name, script=script, requestsToTrack=events)
            for label, body in _payloads().items():
                for hook in ("echo", "summary") if label != "trivial" else ("echo",):
                    results[f"{label}, {hook}"] = _measure(api, client, hook, body, events)
        finally:
            web.stop()
            worker.stop()
            server.stop()
    print(f"\nRedis bytes per retained job ({events} events each)")
    print(f"  {'payload, hook':<26}{'body':>8}{'per job':>10}{'used_memory Δ':>15}  encoding")
    for name, r in results.items():
        print(
            f"  {name:<26}{r['body_bytes']:>8}{r['per_job_keys']:>10}"
            f"{r['per_job_used_memory_delta']:>15}  {r['job_encoding']}"
        )
    return {
        "scenario": "redis-memory",
        "events": events,
        "bytes_per_job": results,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
