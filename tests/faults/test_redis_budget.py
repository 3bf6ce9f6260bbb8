"""Redis at its limits, whole stack: the memory budget under a flood, two
worker nodes and two web processes sharing one Redis with a node killed
mid-load. Nothing accepted is lost, nothing stays stuck, no caller sees a 500."""

from __future__ import annotations

import concurrent.futures
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.payloads import github_push
from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until
from workers.store import keys, metrics

pytestmark = pytest.mark.stack

ECHO = "(async () => ({ body: new Uint8Array(context.body) }))();"


def counter(redis, name: str, **labels: str) -> int:  # noqa: ANN001
    return int(redis.hget(keys.metrics(), metrics.field(name, **labels)) or 0)


_SHOWN = ("status", "attempts", "worker", "startedAt", "token", "reason")


def where_jobs_are(redis, hook: str, job_ids: list[str], worker: Worker) -> str:  # noqa: ANN001
    """What a wait that timed out, or whose worker node exited, says: how
    many of ``job_ids`` are in each status and the fields of those not done,
    the lanes and Celery's queues, the running set, Redis's memory and the
    worker's warnings and errors."""
    by_status: dict[str, int] = {}
    not_done = []
    for job_id in job_ids:
        fields = redis.hgetall(keys.job(job_id))
        status = fields.get(b"status", b"(trimmed)").decode()
        by_status[status] = by_status.get(status, 0) + 1
        if status not in ("succeeded", "(trimmed)"):
            shown = {k: fields.get(k.encode(), b"").decode() for k in _SHOWN}
            not_done.append(f"  {job_id}: {shown}")
    lists = {
        "pending": redis.llen(keys.pending(hook)),
        "ready hooks": redis.llen(keys.ready_hooks()),
        "scripts tokens": redis.llen(keys.celery_queue("scripts")),
        "unacked": redis.hlen("unacked"),  # kombu's, delivered to the worker
    }
    memory = redis.info("memory")
    log = worker.log().splitlines()
    marks = ("CRITICAL", "ERROR", "WARNING", '"level":"warn', '"level":"error')
    problems = [line for line in log if any(mark in line for mark in marks)]
    node = "running" if worker.proc and worker.proc.poll() is None else "exited"
    return "\n".join(
        [
            f"jobs by status: {by_status}",
            *not_done[:20],
            f"lists: {lists}; finished index: {redis.zcard(keys.finished())}",
            f"running: {redis.zrange(keys.running(), 0, 20, withscores=True)}",
            f"memory: {memory['used_memory']} of {memory['maxmemory']}; worker node {node}",
            "worker warnings and errors (last 30):",
            *problems[-30:],
            "worker log (end):",
            *log[-10:],
        ]
    )


@pytest.fixture
def budget_stack(tmp_path: Path) -> Iterator[tuple[RedisServer, dict[str, str], Api]]:
    # 8 MB: the budget fills with a few hundred events (Redis itself holds ~2).
    server = RedisServer(tmp_path, maxmemory="8mb").start()
    env = hooklet_env(server.url)
    web = Web(env, tmp_path).start()
    yield server, env, Api(web.url)
    web.stop()
    server.stop()


def test_a_flood_past_the_budget_trims_then_refuses_and_loses_nothing(
    budget_stack, tmp_path: Path
) -> None:
    server, env, api = budget_stack
    redis = server.client()
    worker = Worker(env, tmp_path, name="budget", concurrency=2).start()
    api.put_hook("echo", script=ECHO, requestsToTrack=1000)
    api.put_hook("small", script="({ body: 'ok' })", requestsToTrack=1000)
    statuses: list[int] = []
    # Events of 25 kB with a real push's entropy (compressed as such); made
    # once and sent in turn: each stored job costs what a fresh one would.
    events = [github_push(25_000, seed=seed) for seed in range(64)]
    # 1. Finished jobs fill Redis past the high-water mark; events keep coming.
    high_water = 0.85 * redis.info("memory")["maxmemory"]
    seed = 0
    while counter(redis, "jobs_trimmed") < 200:
        answer = api.send("echo", data=events[seed % len(events)])
        seed += 1
        statuses.append(answer.status_code)
        assert answer.status_code == 202, answer.text  # still accepted: trimmed instead
    assert redis.info("memory")["used_memory"] < 1.05 * high_water
    # 2. Workers stopped: queued events fill it to the budget, then 503s.
    worker.stop()
    accepted: list[str] = []
    refused = 0
    while refused < 20:
        answer = api.send("small", data=events[seed % len(events)])
        seed += 1
        statuses.append(answer.status_code)
        if answer.status_code == 202:
            accepted.append(answer.json()["jobId"])
        else:
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "store_full"
            assert answer.headers["Retry-After"]
            refused += 1
    assert 500 not in statuses and accepted
    ready = api.http.get(f"{api.base}/readyz", timeout=10).json()
    assert ready["memory"]["full"]
    # Refused at the mark, not once Redis itself was full: the room above it
    # is what a starting worker node and each outcome it records are written in
    # (as Redis counts toward maxmemory: without its AOF buffer).
    memory = redis.info("memory")
    held = memory["used_memory"] - memory["mem_not_counted_for_evict"]
    assert held < 0.9 * memory["maxmemory"], memory
    # 3. Workers back: every accepted event runs (some are trimmed once
    # finished, to get under the mark again: the counter shows they ran).
    worker = Worker(env, tmp_path, name="budget", concurrency=2).start()

    def all_ran() -> bool:
        if worker.proc is not None and worker.proc.poll() is not None:  # runs nothing more
            raise AssertionError(where_jobs_are(redis, "small", accepted, worker))
        return counter(redis, "jobs_finished", hook="small", status="succeeded") >= len(accepted)

    try:
        try:
            wait_until(all_ran, timeout_s=120, interval_s=0.5, what="every accepted event to run")
        except TimeoutError as exc:
            raise AssertionError(where_jobs_are(redis, "small", accepted, worker)) from exc
        assert counter(redis, "jobs_finished", hook="small", status="succeeded") == len(accepted)
        for job_id in accepted:
            status = redis.hget(keys.job(job_id), "status")
            assert status in (None, b"succeeded"), status  # None: trimmed after it ran
        assert api.send("small", data=b"{}").status_code == 202  # room again
    finally:
        worker.stop()


def test_two_nodes_and_two_web_processes_lose_nothing_when_a_node_dies(
    tmp_path: Path, hook_id: str
) -> None:
    server = RedisServer(tmp_path).start()
    env = hooklet_env(server.url, visibility_timeout_s=10, hard_limit_margin_ms=2000)
    webs = [Web(env, tmp_path).start() for _ in range(2)]
    nodes = [Worker(env, tmp_path, name=f"node{i}", concurrency=2).start() for i in range(2)]
    try:
        apis = [Api(web.url) for web in webs]
        script = (
            "(async () => { await new Promise(r => setTimeout(r, 20)); return {body: 'x'}; })()"
        )
        apis[0].put_hook(hook_id, script=script, limits={"timeoutMs": 2000})

        def send(i: int) -> str:
            answer = apis[i % 2].send(hook_id, data=b'{"n": %d}' % i)
            assert answer.status_code == 202, answer.text
            return answer.json()["jobId"]

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            first = list(pool.map(send, range(150)))
            parent = psutil.Process(nodes[0].proc.pid)  # mid-load: SIGKILL a whole node
            for process in [parent, *parent.children(recursive=True)]:
                process.kill()
            nodes[0].proc.wait(10)
            rest = list(pool.map(send, range(150, 300)))
        jobs = [apis[0].wait_job(job_id, timeout_s=120) for job_id in first + rest]
        assert [j["status"] for j in jobs] == ["succeeded"] * len(jobs)
        assert server.client().zcard(keys.running()) == 0  # nothing stuck running
        assert server.client().llen(keys.celery_queue("scripts")) == 0
    finally:
        for node in nodes:
            node.stop(signal.SIGKILL)
        for web in webs:
            web.stop()
        server.stop()
