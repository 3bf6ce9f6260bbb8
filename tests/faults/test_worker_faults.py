"""Worker and broker faults, caused for real: no accepted event is lost and
nothing stays ``running`` forever."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import psutil
import pytest

from tests.support.stack import Api, RedisServer, Web, Worker, hooklet_env, wait_until

pytestmark = pytest.mark.stack

SLOW = "(async () => { await new Promise(r => setTimeout(r, 1500)); return { body: 'done' }; })()"


@pytest.fixture
def stack(tmp_path) -> Iterator[tuple[RedisServer, dict[str, str], Api, list[Worker]]]:
    server = RedisServer(tmp_path).start()
    env = hooklet_env(server.url, visibility_timeout_s=8, hard_limit_margin_ms=2000)
    web = Web(env, tmp_path).start()
    workers: list[Worker] = []
    yield server, env, Api(web.url), workers
    for worker in workers:
        worker.stop(signal.SIGKILL)
    web.stop()
    server.stop()


def start_worker(env, tmp_path, workers: list[Worker], name: str = "node1") -> Worker:
    worker = Worker(env, tmp_path, name=name, concurrency=1).start()
    workers.append(worker)
    return worker


def running_pid(api: Api, job_id: str, attempts: int) -> int:
    def running() -> dict | None:
        job = api.job(job_id)
        return job if job["status"] == "running" and job["attempts"] == attempts else None

    job = wait_until(running, timeout_s=30, what=f"attempt {attempts} to run")
    return int(job["worker"].rsplit("/", 1)[1])


def kill_node(worker: Worker) -> None:
    parent = psutil.Process(worker.proc.pid)
    for process in [parent, *parent.children(recursive=True)]:
        process.kill()
    worker.proc.wait(10)


def test_a_killed_child_does_not_lose_the_job(stack, tmp_path, hook_id: str) -> None:
    _, env, api, workers = stack
    worker = start_worker(env, tmp_path, workers)
    api.put_hook(hook_id, script=SLOW)
    job_id = api.send(hook_id).json()["jobId"]
    os.kill(running_pid(api, job_id, attempts=1), signal.SIGKILL)
    job = api.wait_job(job_id, timeout_s=30)
    assert (job["status"], job["attempts"]) == ("succeeded", 2)
    assert worker.proc.poll() is None


def test_a_job_that_keeps_killing_children_ends_crashed(stack, tmp_path, hook_id: str) -> None:
    _, env, api, workers = stack
    start_worker(env, tmp_path, workers)
    api.put_hook(hook_id, script=SLOW)
    job_id = api.send(hook_id).json()["jobId"]
    for attempt in (1, 2, 3):
        os.kill(running_pid(api, job_id, attempts=attempt), signal.SIGKILL)
    job = api.wait_job(job_id, timeout_s=30)
    assert (job["status"], job["reason"]) == ("failed", "crashed")
    assert "died 3 times" in job["error"]
    api.put_hook(hook_id + "-ok", script="({ body: 'ok' })")
    assert api.run(hook_id + "-ok")["status"] == "succeeded"


def test_warm_shutdown_finishes_the_running_job(stack, tmp_path, hook_id: str) -> None:
    _, env, api, workers = stack
    worker = start_worker(env, tmp_path, workers)
    api.put_hook(hook_id, script=SLOW)
    job_id = api.send(hook_id).json()["jobId"]
    running_pid(api, job_id, attempts=1)
    worker.proc.send_signal(signal.SIGTERM)
    assert api.wait_job(job_id, timeout_s=30)["status"] == "succeeded"
    worker.proc.wait(30)


def test_killing_a_whole_node_mid_load_loses_nothing(stack, tmp_path, hook_id: str) -> None:
    _, env, api, workers = stack
    node1 = start_worker(env, tmp_path, workers, name="node1")
    start_worker(env, tmp_path, workers, name="node2")
    script = (
        "(async () => { await new Promise(r => setTimeout(r, 300)); return { body: 'ok' }; })()"
    )
    api.put_hook(hook_id, script=script, limits={"timeoutMs": 1000})
    job_ids = [api.send(hook_id).json()["jobId"] for _ in range(30)]
    wait_until(
        lambda: any("node1@" in (api.job(j)["worker"] or "") for j in job_ids),
        timeout_s=20,
        what="node1 to take work",
    )
    kill_node(node1)
    final: dict[str, dict] = {}

    def all_ended() -> bool:
        for job_id in job_ids:
            if job_id not in final:
                job = api.job(job_id)
                if job["status"] in ("succeeded", "failed"):
                    final[job_id] = job
        return len(final) == len(job_ids)

    try:
        wait_until(all_ended, timeout_s=60, interval_s=0.5, what="every job to end")
    except TimeoutError:
        pytest.fail(f"{len(job_ids) - len(final)} job(s) never ended")
    assert all(job["status"] == "succeeded" for job in final.values())
    assert any(job["attempts"] > 1 for job in final.values())  # some were taken over


def test_workers_reconnect_when_redis_comes_back(stack, tmp_path, hook_id: str) -> None:
    server, env, api, workers = stack
    worker = start_worker(env, tmp_path, workers)
    api.put_hook(hook_id, script="({ body: 'ok' })")
    assert api.run(hook_id)["status"] == "succeeded"
    log_offset = len(worker.log())
    server.stop()
    assert api.send(hook_id).status_code == 503
    wait_until(
        lambda: "Connection to broker lost" in worker.log()[log_offset:],
        what="the worker to notice that Redis is gone",
    )
    server.start()
    job = api.run(hook_id, timeout_s=60)
    assert job["status"] == "succeeded"
    assert worker.proc.poll() is None


def test_the_reaper_takes_over_from_a_vanished_node(tmp_path, hook_id: str) -> None:
    # A visibility timeout far away: only the reaper can bring this job back.
    server = RedisServer(tmp_path).start()
    env = hooklet_env(server.url, visibility_timeout_s=600, hard_limit_margin_ms=1000)
    web = Web(env, tmp_path).start()
    node1 = Worker(env, tmp_path, name="node1", concurrency=1).start()
    node2 = None
    try:
        api = Api(web.url)
        api.put_hook(hook_id, script=SLOW, limits={"timeoutMs": 3000})
        job_id = api.send(hook_id).json()["jobId"]
        running_pid(api, job_id, attempts=1)
        kill_node(node1)
        node2 = Worker(env, tmp_path, name="node2", concurrency=1).start()
        # deadline (3 s + 1 s margin) + reaper grace (2 s) + sweep interval (1 s)
        job = api.wait_job(job_id, timeout_s=30)
        assert (job["status"], job["attempts"]) == ("succeeded", 2)
        assert job["worker"].startswith("node2@")
    finally:
        for worker in (node1, node2):
            if worker is not None:
                worker.stop(signal.SIGKILL)
        web.stop()
        server.stop()
